"""Every job back to a state that progresses, whatever way its worker ended.

- `hand_back`: a job its worker stops without finishing (graceful stop past the drain window, or
  a forced stop): QUEUED again at once, the attempt not counted.
- `retry`: a job whose run failed for the worker's reasons, not the job's (its simulation
  process killed from outside): QUEUED again at once, the attempt counted; out of attempts
  (GATEWAY_JOB_MAX_ATTEMPTS), failed.
- `let_go`: after a run that did not make the job final: if it is still RUNNING under this
  worker's lease (its final write failed), the lease goes, the job stays in the running set, so a
  sweeper recovers it at its next pass. A RUNNING job never leaves the sweeper's sight.
- `recover_orphans` (every sweeper): RUNNING jobs whose lease ran out (their worker died): queued
  again, or failed once out of attempts.
- `check_unfinished` (one sweeper every 3 lease periods): QUEUED jobs in no tenant's line,
  waiting jobs without a dispatch token, RUNNING jobs outside the running set;
  `check_unfollowed` (one sweeper with the IBM account, as often): IBM jobs followed by no chain
  of steps. A job is recovered when two checks in a row find the same thing wrong with a job
  that has not changed for a lease period: a job between dequeue and start is not taken for lost.
"""

from __future__ import annotations

import logging
import time

from core import queueing, results
from core.clock import iso_to_micros, log_stamp
from core.ibm.upstream import PROVIDER
from core.states import JobStatus
from core.store import listing
from workers import dispatch
from workers.context import WorkerContext

log = logging.getLogger("gateway.worker")


def hand_back(ctx: WorkerContext, job_id: str, why: str) -> bool:
    """QUEUED again, this run not counted as an attempt; True when done (else the sweeper will)."""
    return _requeue(ctx, job_id, why, counted=False)


def retry(ctx: WorkerContext, job_id: str, why: str) -> bool:
    """QUEUED again, this run counted as an attempt, or failed once out of attempts; True when
    done (else the sweeper will)."""
    return _requeue(ctx, job_id, why, counted=True)


def _requeue(ctx: WorkerContext, job_id: str, why: str, counted: bool) -> bool:
    try:
        record = ctx.store.get(job_id)
        if record is None or record["status"] != JobStatus.RUNNING:
            return False
        attempts, most = record["attempts"], ctx.config.JOB_MAX_ATTEMPTS
        if counted and attempts >= most:
            log.warning("job %s failed: %s (attempt %d of %d)", job_id, why, attempts, most)
            return results.fail(ctx.store, job_id, f"{why} (attempt {attempts} of {most}, "
                                                   "GATEWAY_JOB_MAX_ATTEMPTS); not retried").ok
        rq_attempt = max(attempts, int(record.get("rq_attempt", 1))) + 1
        fields = {"rq_attempt": rq_attempt} if counted else {
            "attempts": max(0, attempts - 1), "rq_attempt": rq_attempt}
        said = (f"attempt {attempts} of {most}" if counted else "not counted as an attempt")
        change = ctx.store.transition(
            job_id, JobStatus.QUEUED, fields,
            appends=[("log", f"{log_stamp()} WARNING {why}; the job is queued again ({said})")])
        if not change.ok:
            return False
        ctx.leases.release(job_id)  # before it is on the queue: the next lease is another's
        queueing.enqueue(ctx.queue, ctx.dispatch, record["tenant"], job_id, rq_attempt,
                         ctx.config.JOB_TIME_LIMIT_SECONDS, first=True)
        log.warning("job %s queued again (%s): %s", job_id, said, why)
        return True
    except Exception:
        log.exception("queueing job %s again failed; a sweeper will recover it", job_id)
        return False


def let_go(ctx: WorkerContext, job_id: str) -> None:
    """After a run that did not make the job final (see the module's docstring)."""
    try:
        status = ctx.store.status(job_id)
        if status is None or JobStatus(status).final:
            ctx.leases.release(job_id)
        elif status == JobStatus.RUNNING:
            ctx.leases.drop(job_id, ctx.name)
    except Exception:  # the lease runs out by itself; the job stays in the running set
        log.exception("letting go of job %s failed; a sweeper will recover it", job_id)


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
        rq_attempt = max(attempts, int(record.get("rq_attempt", 1))) + 1
        if record["status"] == JobStatus.RUNNING:
            if not store.transition(job_id, JobStatus.QUEUED, {"rq_attempt": rq_attempt}).ok:
                continue
            store.add_log(job_id, f"{log_stamp()} WARNING worker lost; the job is queued again")
        else:
            store.annotate(job_id, {"rq_attempt": rq_attempt})
        queueing.enqueue(ctx.queue, ctx.dispatch, record["tenant"], job_id, rq_attempt,
                         config.JOB_TIME_LIMIT_SECONDS, first=True)


def check_unfinished(ctx: WorkerContext) -> None:
    """Recover QUEUED and RUNNING local jobs that nothing would move on (module docstring)."""
    store = ctx.store
    running = ctx.leases.running_ids()
    ids = listing.unfinished(store)
    pipe = store.redis.pipeline(transaction=False)
    for job_id in ids:
        pipe.hmget(store.key(job_id), "status", "provider", "rq_attempt", "updated", "tenant")
    records = pipe.execute()
    lined_up = ctx.dispatch.lined_up([(r[4], job_id) for job_id, r in zip(ids, records,
                                                                         strict=True) if r[4]])
    previous, suspects = ctx.leases.suspects("local"), {}
    quiet_since = time.time() - ctx.config.WORKER_LEASE_SECONDS
    for job_id, (status, provider, rq_attempt, updated, _) in zip(ids, records, strict=True):
        if provider == PROVIDER or not updated or iso_to_micros(updated) / 1e6 > quiet_since:
            continue  # IBM jobs: `check_unfollowed`, by a worker with the account
        if status == JobStatus.QUEUED:
            trouble = "" if job_id in lined_up else f"unqueued:{rq_attempt or 1}"
        else:
            trouble = "" if status != JobStatus.RUNNING or job_id in running else "unwatched"
        if trouble and previous.get(job_id) == trouble:
            _recover(ctx, job_id, trouble)
        elif trouble:
            suspects[job_id] = trouble
    short = ctx.dispatch.shortfall(ctx.queue.count)
    if short and previous.get("dispatch-tokens"):  # short twice in a row: tokens were lost
        log.warning("%d waiting jobs had no dispatch token; adding them", short)
        dispatch.wake(ctx, short)
    elif short:
        suspects["dispatch-tokens"] = str(short)
    ctx.leases.set_suspects("local", suspects)


def check_unfollowed(ctx: WorkerContext) -> None:
    """IBM jobs followed by no chain of steps (a step's final write lost): a new chain, when
    two checks in a row find one so. Only workers with the account take this check."""
    store, previous, suspects = ctx.store, ctx.leases.suspects("ibm"), {}
    ids = listing.unfinished(store)
    pipe = store.redis.pipeline(transaction=False)
    for job_id in ids:
        pipe.hmget(store.key(job_id), "provider", "updated")
    quiet_since = time.time() - ctx.config.WORKER_LEASE_SECONDS
    for job_id, (provider, updated) in zip(ids, pipe.execute(), strict=True):
        if provider != PROVIDER or not updated or iso_to_micros(updated) / 1e6 > quiet_since:
            continue
        if ctx.ibm.state.chain_of(job_id) is not None:
            continue
        if previous.get(job_id):
            _recover(ctx, job_id, "unfollowed")
        else:
            suspects[job_id] = "unfollowed"
    ctx.leases.set_suspects("ibm", suspects)


def _recover(ctx: WorkerContext, job_id: str, trouble: str) -> None:
    log.warning("job %s: %s; recovering it", job_id, trouble)
    if trouble == "unfollowed":
        ctx.ibm.start(job_id)
    elif trouble == "unwatched":
        ctx.leases.watch(job_id)  # its lease is gone: the next pass re-queues it
    else:
        rq_attempt = int(trouble.split(":")[1]) + 1
        record = ctx.store.get(job_id)
        if record is not None and ctx.store.annotate(job_id, {"rq_attempt": rq_attempt}):
            ctx.store.add_log(job_id, f"{log_stamp()} WARNING the job was in no queue; it is "
                                      "queued again")
            queueing.enqueue(ctx.queue, ctx.dispatch, record["tenant"], job_id, rq_attempt,
                             ctx.config.JOB_TIME_LIMIT_SECONDS, first=True)
