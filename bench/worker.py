"""`python -m bench.worker {simple|fork} QUEUE...`: the RQ workers of figure 3's comparisons.

The process is made to look like the gateway's worker (qiskit imported, simulators warm, the same
Redis connection and serializer), because what a fork costs grows with the parent's memory; so a
comparison differs only in the worker class and in the job. `noop` is the RQ baseline's job.

With `fork` (`rq.Worker`, a work horse forked per job) the gateway's task runs its simulation in
the horse itself: killing the horse stops it, so the design would need no executor process.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import Any

from rq import SimpleWorker, Worker
from rq.serializers import JSONSerializer

from core import queueing
from core.config import Config
from workers.context import WorkerContext, install
from workers.executor import Batch, Outcome, describe_failure
from workers.runtimes.local import LocalRuntime

NOOP = "bench.worker.noop"


def noop() -> None:
    """The job of the RQ baselines: nothing at all."""


class InlineExecutor:
    """The executor's interface, running the job in the calling process (the forked horse)."""

    def __init__(self, runtime: LocalRuntime) -> None:
        self.runtime = runtime
        self.pid = os.getpid()
        self.busy = False
        self._job: tuple[dict[str, Any], dict[str, Any]] | None = None

    def start(self) -> None:
        self.pid = os.getpid()

    def stop(self) -> None:
        self._job, self.busy = None, False

    def submit(self, job: dict[str, Any], inputs: dict[str, Any], time_limit: float) -> None:
        self.start()
        self._job, self.busy = (job, inputs), True

    def follow(self, on_messages: Callable[[Batch], None],
               keep_going: Callable[[], bool]) -> tuple[Outcome, str]:
        assert self._job is not None
        collected = Collected()
        try:
            self.runtime.run(*self._job, collected)
        except Exception as exc:
            collected("error", {"message": describe_failure(exc)})
        self.stop()
        if collected.batch:
            on_messages(collected.batch)
        return Outcome.FINISHED, ""


class Collected:
    """A job's messages, all handed on at its end (the horse has nothing else to do)."""

    def __init__(self) -> None:
        self.batch: Batch = []

    def __call__(self, kind: str, data: Any) -> None:
        self.batch.append((kind, data))

    def flush(self) -> None:
        pass


def main(kind: str, queue_names: list[str]) -> None:
    ctx = WorkerContext.build(Config())
    install(ctx)
    if kind == "fork":
        ctx.executor = InlineExecutor(ctx.executor.runtime)  # type: ignore[assignment]
    else:
        ctx.executor.start()
    worker_class = Worker if kind == "fork" else SimpleWorker
    queues = [queueing.job_queue(ctx.queue.connection, name) for name in queue_names]
    worker = worker_class(queues, connection=ctx.queue.connection, serializer=JSONSerializer)
    worker.work(with_scheduler=True, logging_level=ctx.config.LOG_LEVEL)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2:])
