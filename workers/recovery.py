"""Every job back to a state that progresses, whatever way its worker ended. The sweeper
(`sweeper.py`) calls these; each change of a job is a transition (`core/transitions.py`).

- `recover_orphans` (every pass): RUNNING jobs whose lease ran out (their worker died): queued
  again, the attempt counted, or failed once out of attempts (`Transitions.requeue`).
- `check_unmoved` (one sweeper every 3 lease periods, per provider, among the workers that can
  recover its jobs): jobs that nothing would move on, as their provider finds them
  (`troubles`: a local job in no tenant's line or outside the running set, an IBM job followed
  by no chain of steps); `check_tokens`: waiting jobs without a dispatch token. A job is
  recovered when two checks in a row find the same thing wrong with a job that has not
  changed for a lease period: a job between dequeue and start is not taken for lost.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING

from core import queueing
from core.clock import iso_to_micros
from core.states import JobStatus
from core.store import listing
from workers.context import WorkerContext

if TYPE_CHECKING:
    from core.providers import Provider

log = logging.getLogger("gateway.worker")
WORKER_LOST = "the worker running this job was lost"
RELINED_BECAUSE = {"unqueued": "the job was in no queue",
                   "unfollowed": "no chain of steps followed the job"}


def recover_orphans(ctx: WorkerContext) -> None:
    """Jobs whose worker died: queue them again, or fail them once out of attempts."""
    for job_id in ctx.leases.orphaned():
        if not ctx.leases.claim_orphan(job_id):
            continue  # another worker's sweeper took it
        status = ctx.store.status(job_id)
        if status == JobStatus.RUNNING:
            ctx.transitions.requeue(job_id, WORKER_LOST, counted=True)
        elif status == JobStatus.QUEUED:  # handed back, its new place in line lost
            ctx.transitions.reline(job_id, WORKER_LOST)


def check_unmoved(ctx: WorkerContext, provider: Provider) -> None:
    """Recover the provider's QUEUED and RUNNING jobs that nothing would move on (module
    docstring); each provider's check has its own suspects, kept between two checks."""
    store = ctx.store
    ids = listing.unfinished(store)
    pipe = store.redis.pipeline(transaction=False)
    for job_id in ids:
        pipe.hmget(store.key(job_id), "status", "provider", "rq_attempt", "updated", "tenant")
    quiet_since = time.time() - ctx.config.WORKER_LEASE_SECONDS
    quiet = [{"id": job_id, "status": status, "tenant": tenant, "rq_attempt": rq_attempt or "1"}
             for job_id, (status, name, rq_attempt, updated, tenant) in zip(
                 ids, pipe.execute(), strict=True)
             if (name or "local") == provider.name and status and updated
             and iso_to_micros(updated) / 1e6 <= quiet_since]
    check = f"unmoved:{provider.name}"
    previous, suspects = ctx.leases.suspects(check), {}
    for job_id, trouble in provider.troubles(quiet).items():
        if previous.get(job_id) == trouble:
            _recover(ctx, job_id, trouble)
        else:
            suspects[job_id] = trouble
    ctx.leases.set_suspects(check, suspects)


def check_tokens(ctx: WorkerContext) -> None:
    """Waiting local jobs without a dispatch token (lost with a worker that died between
    taking one from RQ and taking a job with it): new tokens, when two checks agree."""
    previous = ctx.leases.suspects("tokens")
    short = ctx.dispatch.shortfall(ctx.queue.count)
    if short and previous.get("dispatch-tokens"):  # short twice in a row: tokens were lost
        log.warning("%d waiting jobs had no dispatch token; adding them", short)
        queueing.wake(ctx.queue, short, ctx.config.JOB_TIME_LIMIT_SECONDS)
        short = 0
    ctx.leases.set_suspects("tokens", {"dispatch-tokens": str(short)} if short else {})


def _recover(ctx: WorkerContext, job_id: str, trouble: str) -> None:
    log.warning("job %s: %s; recovering it", job_id, trouble)
    if trouble == "unwatched":
        ctx.leases.watch(job_id)  # its lease is gone: the next pass queues it again
    else:
        ctx.transitions.reline(job_id, RELINED_BECAUSE[trouble.split(":")[0]])
