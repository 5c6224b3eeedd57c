"""The long-lived parts of one worker process, built once by `main` (`workers/__main__.py`).

RQ calls tasks by dotted path with JSON arguments only, so the tasks find the context here:
`main` installs it before the first job; nothing builds one lazily.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass, field

from rq import Queue

from core import queueing
from core.config import Config
from core.ibm.context import Ibm
from core.providers import Providers
from core.store.connection import Connection, RedisAddress
from core.store.dispatch import Dispatch
from core.store.jobs import JobStore
from core.store.leases import Leases
from core.store.outbox import Outbox
from core.store.quotas import Quotas
from core.store.snapshots import Snapshots
from core.store.stats import Stats
from core.tracing import Tracing
from core.transitions import Transitions
from workers.executor import Executor
from workers.process import Stopping
from workers.runtimes.local import LocalRuntime


@dataclass
class WorkerContext:
    config: Config
    store: JobStore
    leases: Leases
    stats: Stats
    snapshots: Snapshots
    queue: Queue
    ibm: Ibm
    executor: Executor
    name: str
    dispatch: Dispatch
    providers: Providers
    transitions: Transitions
    redis: RedisAddress  # where RQ's loop connects
    stopping: Stopping = field(default_factory=Stopping)  # set by a graceful stop
    tracing: Tracing = field(default_factory=Tracing)  # off until `main` starts it

    @classmethod
    def build(cls, config: Config) -> WorkerContext:
        """Connections, stores and a warm runtime: simulators stay warm across jobs."""
        connection = Connection.for_config(config)
        store = JobStore(connection, config.JOB_RETENTION_SECONDS)
        snapshots = Snapshots(connection, config.JOB_RETENTION_SECONDS)
        runtime = LocalRuntime(config.WORKER_MEMORY_BYTES, timed=config.TRACING,
                               threads=config.WORKER_THREADS)
        for backend in config.WORKER_PREWARM:
            runtime.prewarm(backend)
        leases, stats = Leases(connection), Stats(connection)
        queue = queueing.job_queue(connection.binary, config.QUEUE_NAME)
        dispatch = Dispatch(connection, config.WORKER_LEASE_SECONDS)
        ibm = Ibm.build(config, connection, store, snapshots)
        providers = Providers.build(config, queue, dispatch, stats, leases, ibm)
        return cls(
            config, store, leases, stats, snapshots, queue, ibm,
            Executor(runtime, memory_bytes=config.WORKER_MEMORY_BYTES),
            f"{socket.gethostname()}:{os.getpid()}", dispatch, providers,
            Transitions(config, store, leases, Quotas(connection), providers,
                        Outbox(connection, config.WEBHOOK_ENDPOINT_IN_FLIGHT,
                               config.JOB_RETENTION_SECONDS)), connection.address,
        )


_installed: WorkerContext | None = None


def install(context: WorkerContext) -> None:
    global _installed
    _installed = context


def context() -> WorkerContext:
    """The context `main` installed (a task run outside a worker has none: a bug)."""
    if _installed is None:
        raise RuntimeError("no worker context: run tasks in `python -m workers`")
    return _installed
