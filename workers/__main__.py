"""`python -m workers`: an RQ worker for the gateway's queue.

A `SimpleWorker` (no fork per job): qiskit is imported and the simulators are warmed once, and the
simulations themselves run in the killable executor process (`executor.py`). A sweeper thread
re-queues or fails the jobs of workers that died. The worker also takes the short IBM Quantum
tasks (`workers/ibm/tasks.py`), from their own queue, first.
"""

from __future__ import annotations

import logging
import threading

from rq import SimpleWorker
from rq.serializers import JSONSerializer

from core.store import listing
from workers.runtimes.ibm import tasks as ibm_tasks
from workers.tasks import WorkerContext, context, recover_orphans

log = logging.getLogger("gateway.worker")


PRUNE_EVERY_SECONDS = 600


def sweep_forever(ctx: WorkerContext, stop: threading.Event) -> None:
    """Recover the jobs of dead workers; now and then, prune indexes of expired jobs."""
    while not stop.wait(ctx.config.WORKER_LEASE_SECONDS / 2):
        try:
            recover_orphans(ctx)
            if ctx.store.take_turn("prune-indexes", PRUNE_EVERY_SECONDS):
                listing.prune_indexes(ctx.store)
        except Exception:  # the sweeper must outlive a Redis hiccup
            log.exception("sweeping failed")
        try:
            ibm_tasks.sweep()
        except Exception:
            log.exception("sweeping IBM Quantum jobs failed")


def main() -> None:
    ctx = context()
    logging.basicConfig(level=ctx.config.LOG_LEVEL,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("qiskit").setLevel(logging.WARNING)  # its INFO is one line per pass
    ctx.executor.start()  # fork before any thread starts
    stop = threading.Event()
    threading.Thread(target=sweep_forever, args=(ctx, stop), daemon=True, name="sweeper").start()
    queues = [ibm_tasks.context().queue, ctx.queue]
    worker = SimpleWorker(queues, connection=ctx.store.raw, serializer=JSONSerializer)
    try:
        worker.work(with_scheduler=True, logging_level=ctx.config.LOG_LEVEL)
    finally:
        stop.set()
        ctx.executor.stop()


if __name__ == "__main__":
    main()
