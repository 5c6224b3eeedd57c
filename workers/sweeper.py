"""Every worker's sweeper thread: it recovers the jobs of workers that died, now and then prunes
the indexes of expired jobs, and re-attaches IBM Quantum jobs whose chain of steps was lost."""

from __future__ import annotations

import logging
import threading

from core import queueing, results
from core.clock import log_stamp
from core.states import JobStatus
from core.store import listing
from workers import dispatch
from workers.context import WorkerContext
from workers.runtimes.ibm import tasks as ibm_tasks

log = logging.getLogger("gateway.worker")
PRUNE_EVERY_SECONDS = 600


def sweep_forever(ctx: WorkerContext, stop: threading.Event) -> None:
    """Recover the jobs of dead workers; now and then, prune indexes of expired jobs."""
    while not stop.wait(ctx.config.WORKER_LEASE_SECONDS / 2):
        try:
            recover_orphans(ctx)
            dispatch.wake_lost(ctx)
            if ctx.stats.take_turn("prune-indexes", PRUNE_EVERY_SECONDS):
                listing.prune_indexes(ctx.store)
        except Exception:  # the sweeper must outlive a Redis hiccup
            log.exception("sweeping failed")
        try:
            ibm_tasks.sweep(ctx.ibm, ctx.stats)
        except Exception:
            log.exception("sweeping IBM Quantum jobs failed")


def recover_orphans(ctx: WorkerContext) -> None:
    """Jobs whose worker died: queue them again, or fail them once out of attempts."""
    store, config = ctx.store, ctx.config
    for job_id in ctx.leases.orphaned():
        if not ctx.leases.claim_orphan(job_id):
            continue  # another worker's sweeper took it
        record = store.get(job_id)
        if record is None or record["status"] not in (JobStatus.RUNNING, JobStatus.QUEUED):
            continue
        attempts = record["attempts"]
        if attempts >= config.JOB_MAX_ATTEMPTS:
            results.fail(store, job_id, f"the worker running this job was lost (attempt "
                         f"{attempts} of {config.JOB_MAX_ATTEMPTS}); not retried")
            continue
        if record["status"] == JobStatus.RUNNING:
            if not store.transition(job_id, JobStatus.QUEUED).ok:
                continue
            store.add_log(job_id, f"{log_stamp()} WARNING worker lost; the job is queued again")
        queueing.enqueue(ctx.queue, ctx.dispatch, record["tenant"], job_id, attempts + 1,
                         config.JOB_TIME_LIMIT_SECONDS, first=True)
        store.annotate(job_id, {"rq_attempt": attempts + 1})
