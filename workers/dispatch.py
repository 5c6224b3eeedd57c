"""The RQ task behind every dispatch token: run the fairly next job (`core/store/dispatch.py`)."""

from __future__ import annotations

import uuid

from core import queueing
from workers.context import WorkerContext, context
from workers.tasks import run_job


def run_next() -> None:
    """Take the next job in turn and run it; then wake tokens parked behind a running cap."""
    ctx = context()
    cap, workers = ctx.config.TENANT_MAX_RUNNING, queueing.workers_key(ctx.queue)
    taken = ctx.dispatch.take(cap, workers)
    if taken is None:
        return  # nothing can start now: the token is parked (or nothing waits)
    tenant, job_id = taken
    try:
        run_job(job_id)
    finally:
        wake(ctx, ctx.dispatch.release(tenant, job_id, cap, workers))


def wake(ctx: WorkerContext, tokens: int) -> None:
    for _ in range(tokens):
        queueing.enqueue_token(ctx.queue, f"wake-{uuid.uuid4().hex}",
                               ctx.config.JOB_TIME_LIMIT_SECONDS)


def wake_lost(ctx: WorkerContext) -> None:
    """Parked tokens whose wake-up was lost with a worker that died: one sweeper now and then."""
    if ctx.stats.take_turn("wake-parked", ctx.config.WORKER_LEASE_SECONDS):
        wake(ctx, ctx.dispatch.wake_parked(ctx.config.TENANT_MAX_RUNNING,
                                           queueing.workers_key(ctx.queue)))
