"""The RQ task behind every dispatch token (`core/queueing.py`): run the fairly next local job
(`core/store/dispatch.py`). The worker's path reads down: `__main__` -> `process` (RQ's loop)
-> here -> `run` (the executor, the transitions) -> the store."""

from __future__ import annotations

from core import queueing
from workers.context import WorkerContext, context
from workers.run import run_job


def run_next() -> None:
    """RQ entry point (`queueing.TASK`): take the next job in turn and run it; then wake
    tokens parked behind a running cap."""
    ctx = context()
    cap, workers = ctx.config.TENANT_MAX_RUNNING, queueing.workers_key(ctx.queue)
    taken_at = ctx.tracing.clock()
    taken = ctx.dispatch.take(cap, workers)
    if taken is None:
        return  # nothing can start now: the token is parked (or nothing waits)
    tenant, job_id = taken
    try:
        if not run_job(ctx, job_id, taken_at):  # a place in line it no longer had (final now)
            ctx.dispatch.drop(tenant, job_id)
    finally:
        queueing.wake(ctx.queue, ctx.dispatch.release(cap, workers, job_id),
                      ctx.config.JOB_TIME_LIMIT_SECONDS)


def wake_lost(ctx: WorkerContext) -> None:
    """Parked tokens whose wake-up was lost with a worker that died: one sweeper now and then."""
    if ctx.stats.take_turn("wake-parked", ctx.config.WORKER_LEASE_SECONDS):
        queueing.wake(ctx.queue, ctx.dispatch.wake_parked(ctx.config.TENANT_MAX_RUNNING,
                                                          queueing.workers_key(ctx.queue)),
                      ctx.config.JOB_TIME_LIMIT_SECONDS)
