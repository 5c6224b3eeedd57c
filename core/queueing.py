"""The RQ side: which queue, and how a job is enqueued (by dotted path, JSON only).

A local job waits in its tenant's line (`core/store/dispatch.py`); what goes on RQ's queue is a
generic dispatch token, one per waiting job, that runs whichever job is fairly next. A token is
named after the job it was enqueued with, so cancelling that job removes one token.
"""

from __future__ import annotations

import uuid

from redis import Redis
from redis.client import Pipeline
from rq import Queue
from rq.job import JobStatus
from rq.serializers import JSONSerializer
from rq.utils import now
from rq.worker_registration import WORKERS_BY_QUEUE_KEY

from core.store.dispatch import Dispatch

TASK = "workers.dispatch.run_next"  # by dotted path: the API imports no worker code
# (tests/test_layout.py checks that it names that function)
RQ_TIMEOUT_MARGIN = 60  # RQ's own timeout only backs up ours (`Executor`)


def job_queue(connection: Redis, name: str) -> Queue:
    return Queue(name, connection=connection, serializer=JSONSerializer)


def rq_job_id(job_id: str, attempt: int) -> str:
    return f"{job_id}-{attempt}"


def workers_key(queue: Queue) -> str:
    """RQ's set of the workers listening on `queue` (the default running cap counts them)."""
    return WORKERS_BY_QUEUE_KEY % queue.name


def workers_alive(queue: Queue) -> int:
    """Live RQ workers on `queue`."""
    from rq import Worker

    return int(Worker.count(connection=queue.connection, queue=queue))


def enqueue(queue: Queue, dispatch: Dispatch, tenant: str, job_id: str, attempt: int,
            time_limit: float, pipeline: Pipeline | None = None, first: bool = False,
            session_id: str | None = None) -> None:
    """The job waits in its tenant's line (a dedicated session's: in the express line), with a
    token on the queue; with `pipeline`, as part of that transaction. `first` (a retry) puts it
    before the tenant's other waiting jobs."""
    dispatch.push(tenant, job_id, pipeline=pipeline, first=first, session_id=session_id)
    enqueue_token(queue, rq_job_id(job_id, attempt), time_limit, pipeline)


def enqueue_token(queue: Queue, token_id: str, time_limit: float,
                  pipeline: Pipeline | None = None) -> None:
    """A token is RQ's job hash and its place on the queue: one HSET and one RPUSH (RQ's own
    enqueue also re-registers the queue and writes the status twice, per token)."""
    job = queue.create_job(TASK, job_id=token_id, timeout=int(time_limit) + RQ_TIMEOUT_MARGIN,
                           result_ttl=0, failure_ttl=3600, status=JobStatus.QUEUED)
    job.origin, job.enqueued_at = queue.name, now()
    target = pipeline if pipeline is not None else queue.connection.pipeline(transaction=False)
    job.save(pipeline=target)
    target.rpush(queue.key, job.id)
    if pipeline is None:
        target.execute()


def wake(queue: Queue, tokens: int, time_limit: float) -> None:
    """Tokens for jobs that can start now (parked ones woken by a job's end, lost ones), in
    one round trip."""
    if tokens <= 0:
        return
    pipe = queue.connection.pipeline(transaction=False)
    for _ in range(tokens):
        enqueue_token(queue, f"wake-{uuid.uuid4().hex}", time_limit, pipe)
    pipe.execute()


def remove(queue: Queue, dispatch: Dispatch, tenant: str, job_id: str, attempt: int) -> None:
    """A cancelled or deleted job stops waiting, and its token leaves the queue (if no worker
    took it yet; a token left over finds nothing to run and ends)."""
    dispatch.forget(tenant, job_id)
    queue.remove(rq_job_id(job_id, attempt))
