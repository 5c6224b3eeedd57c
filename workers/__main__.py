"""`python -m workers`: an RQ worker for the gateway's queue.

A `SimpleWorker` (no fork per job): qiskit is imported and the simulators are warmed once, and the
simulations themselves run in the killable executor process (`executor.py`). A sweeper thread
re-queues or fails the jobs of workers that died. The worker also takes the short IBM Quantum
tasks (`workers/runtimes/ibm/tasks.py`), from their own queue, first. How it stops, and how it
lives through Redis outages: `process.py`.
"""

from __future__ import annotations

import logging
import threading

from core import logs, metrics
from core.config import Config
from core.store.health import check_redis
from core.tracing import Tracing
from workers.context import WorkerContext, install
from workers.process import work
from workers.sweeper import sweep_forever

log = logging.getLogger("gateway.worker")
SERVICE = "quantum-gateway-worker"  # its name in traces, unless OTEL_SERVICE_NAME says another


def main() -> None:
    config = Config()
    metrics.configure(config)
    ctx = WorkerContext.build(config)
    install(ctx)
    logs.configure(config, logs.job_fields, lambda: ctx.tracing.log_fields())
    ctx.executor.start()  # fork before any thread starts (the span exporter's too)
    ctx.tracing = Tracing.start(config, SERVICE)
    ctx.redis.watch()  # with sentinels: every pool follows a new primary within a second
    stop = threading.Event()
    threading.Thread(target=sweep_forever, args=(ctx, stop), daemon=True, name="sweeper").start()
    metrics.serve(config)
    check_redis(ctx.store.redis, ctx.store.durable.replicas)
    try:
        work(ctx)
    finally:
        stop.set()
        ctx.executor.stop()
        ctx.tracing.shutdown()


if __name__ == "__main__":
    main()
