"""What every IBM step needs, made once per process (workers and web alike), and how steps are
put on the IBM queue: by dotted path, JSON arguments, now or later through RQ's scheduler."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from redis.client import Pipeline
from rq import Queue
from rq.serializers import JSONSerializer

from core.config import Config
from core.ibm.account import Account, account
from core.store.ibm import IbmState
from core.store.jobs import JobStore

ADVANCE = "workers.runtimes.ibm.tasks.advance"
REFRESH = "workers.runtimes.ibm.tasks.refresh_backends"
TASK_TIMEOUT = 300  # a step makes a few requests; the client retries 5xx itself for ~15 s each


@dataclass
class Ibm:
    config: Config
    store: JobStore
    state: IbmState
    queue: Queue
    account: Account

    @classmethod
    def build(cls, config: Config, store: JobStore) -> Ibm:
        queue = Queue(config.IBM_QUEUE, connection=store.raw, serializer=JSONSerializer)
        return cls(config, store, IbmState(store.redis, config.REDIS_PREFIX), queue,
                   account(config))

    def start(self, job_id: str, pipe: Pipeline | None = None) -> None:
        """Follow a job from now on with a new chain of steps (in `pipe`'s transaction if given)."""
        chain = self.state.follow(job_id, time.time(), pipe)
        enqueue(self.queue, ADVANCE, [job_id, chain], pipe=pipe)

    def snapshot_properties(self, job_id: str, backend: str) -> None:
        """Keep the device's properties (from the cache) as those this job ran against."""
        properties = self.state.backend_document(backend, "properties")
        if properties is not None:
            self.state.annotate(self.store.key(job_id),
                                {"properties_ref": self.store.save_properties(properties)})


_ibm: Ibm | None = None


def context() -> Ibm:
    global _ibm
    if _ibm is None:
        config = Config()
        _ibm = Ibm.build(config, JobStore(config.REDIS_URL, config.REDIS_PREFIX,
                                          config.JOB_RETENTION_SECONDS))
    return _ibm


def enqueue(queue: Queue, task: str, args: list[Any], delay: float = 0.0,
            pipe: Pipeline | None = None) -> None:
    if delay > 0:
        queue.enqueue_in(timedelta(seconds=delay), task, *args, job_timeout=TASK_TIMEOUT,
                         result_ttl=0, failure_ttl=3600)
        return
    data = Queue.prepare_data(task, args=args, timeout=TASK_TIMEOUT, result_ttl=0,
                              failure_ttl=3600)
    queue.enqueue_many([data], pipeline=pipe)
