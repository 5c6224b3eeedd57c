"""What every IBM step needs, built once per process (workers and web alike), and how steps are
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
from core.ibm.account import Account
from core.ibm.sessions import UpstreamSessions
from core.store.connection import Connection
from core.store.ibm import IbmState
from core.store.jobs import JobStore
from core.store.snapshots import Snapshots

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

    snapshots: Snapshots
    sessions: UpstreamSessions

    @classmethod
    def build(cls, config: Config, connection: Connection, store: JobStore,
              snapshots: Snapshots) -> Ibm:
        """Once per process (by `create_app` or the worker's `main`); connects on first use."""
        queue = Queue(config.IBM_QUEUE, connection=connection.binary, serializer=JSONSerializer)
        account = Account(config)
        return cls(config, store, IbmState(connection), queue, account, snapshots,
                   UpstreamSessions(account))

    def start(self, job_id: str, pipe: Pipeline | None = None) -> None:
        """Follow a job from now on with a new chain of steps (in `pipe`'s transaction if given)."""
        chain = self.state.follow(job_id, time.time(), pipe)
        enqueue(self.queue, ADVANCE, [job_id, chain], pipe=pipe)

    def snapshot_properties(self, job_id: str, backend: str) -> None:
        """Keep the device's properties (from the cache) as those this job ran against."""
        properties = self.state.backend_document(backend, "properties")
        if properties is not None:
            self.store.annotate(job_id, {"properties_ref": self.snapshots.save(properties)})


def enqueue(queue: Queue, task: str, args: list[Any], delay: float = 0.0,
            pipe: Pipeline | None = None) -> None:
    if delay > 0:
        queue.enqueue_in(timedelta(seconds=delay), task, *args, job_timeout=TASK_TIMEOUT,
                         result_ttl=0, failure_ttl=3600)
        return
    data = Queue.prepare_data(task, args=args, timeout=TASK_TIMEOUT, result_ttl=0,
                              failure_ttl=3600)
    queue.enqueue_many([data], pipeline=pipe)
