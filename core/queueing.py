"""The RQ side: which queue, how a job is enqueued (by dotted path, JSON-serialised id only)."""

from __future__ import annotations

from redis import Redis
from redis.client import Pipeline
from rq import Queue
from rq.serializers import JSONSerializer

TASK = "workers.tasks.run_job"
RQ_TIMEOUT_MARGIN = 60  # RQ's own timeout only backs up ours (`Executor`)


def job_queue(connection: Redis, name: str) -> Queue:
    return Queue(name, connection=connection, serializer=JSONSerializer)


def rq_job_id(job_id: str, attempt: int) -> str:
    return f"{job_id}-{attempt}"


def enqueue(queue: Queue, job_id: str, attempt: int, time_limit: float,
            pipeline: Pipeline | None = None) -> None:
    """Put the job on the queue; with `pipeline`, as part of that transaction."""
    data = Queue.prepare_data(
        TASK, args=[job_id], job_id=rq_job_id(job_id, attempt),
        timeout=int(time_limit) + RQ_TIMEOUT_MARGIN, result_ttl=0, failure_ttl=3600,
    )
    queue.enqueue_many([data], pipeline=pipeline)


def position(queue: Queue, job_id: str, attempt: int) -> int | None:
    """1-based position in the queue (1 = next), None when not waiting there."""
    index = queue.connection.lpos(queue.key, rq_job_id(job_id, attempt))
    return None if index is None else int(index) + 1  # type: ignore[arg-type]


def remove(queue: Queue, job_id: str, attempt: int) -> None:
    queue.remove(rq_job_id(job_id, attempt))


def waiting(queue: Queue) -> set[str]:
    """The RQ ids waiting in the queue now (what the sweeper compares QUEUED jobs with)."""
    return {raw.decode() if isinstance(raw, bytes) else raw
            for raw in queue.connection.lrange(queue.key, 0, -1)}  # type: ignore[union-attr]
