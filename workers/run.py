"""Run one local job from QUEUED to a final state in the executor, every change of it made by
a named transition (`core/transitions.py`).

After a run that did not make the job final (`let_go`): if it is still RUNNING under this
worker's lease (its final write failed), the lease goes, the job stays in the running set, so a
sweeper recovers it at its next pass (`recovery.py`). A RUNNING job never leaves its sight."""

from __future__ import annotations

import functools
import logging
import time
from typing import Any

import redis

from core import catalog, metrics
from core.admission import job_time_limit
from core.clock import log_stamp
from core.logs import about_job
from core.states import JobStatus
from core.store.jobs import Appends
from core.store.records import compress
from core.store.snapshots import Snapshots, properties_ref
from workers.context import WorkerContext
from workers.executor import Batch, Outcome
from workers.process import patiently

log = logging.getLogger("gateway.worker")


def run_job(ctx: WorkerContext, job_id: str, taken_at: int | None = None) -> bool:
    """Never raises for the job's sake: the gateway's record, not RQ's registries, is the
    truth (a forced stop still raises, once the job is handed back). False when the job did
    not start here: it was deleted, or is no longer QUEUED. `taken_at`: when its dispatch
    began, when tracing (the `dispatch` span: taking it in turn, reading it)."""
    with about_job(job_id):
        record, inputs = ctx.store.get_with_inputs(job_id)
        if record is None:
            return False  # deleted while queued
        attributes = {"job.id": job_id, "job.backend": record["backend"],
                      "job.program": record["program_id"], "worker": ctx.name}
        with ctx.tracing.span("job.run", parent=record.get("traceparent"), start=taken_at,
                              attributes=attributes):
            if taken_at is not None:
                ctx.tracing.record("dispatch", taken_at, time.time_ns())
            return _run(ctx, record, inputs)


def _run(ctx: WorkerContext, record: dict[str, Any], inputs: dict[str, Any]) -> bool:
    config, job_id = ctx.config, record["id"]
    attempt = record["attempts"] + 1
    ctx.executor.start()
    fields: dict[str, Any] = {"attempts": attempt}
    ref = _keep_properties(ctx.snapshots, record["backend"])
    if ref is not None:
        fields["properties_ref"] = ref
    logs = [("log", f"{log_stamp()} INFO running on {ctx.name} (attempt {attempt}), "
                    f"simulating in process {ctx.executor.pid}")]
    started = time.monotonic()
    # the simulation starts at once, while the job is marked RUNNING: for a small job, that
    # round trip to Redis is a good part of what the gateway adds
    ctx.executor.submit(record, inputs, job_time_limit(inputs.get("options") or {},
                                                       config.JOB_TIME_LIMIT_SECONDS))
    try:
        with ctx.tracing.span("store", attributes={"job.status": JobStatus.RUNNING.value}):
            change = ctx.transitions.start(record, logs, fields,
                                           lease=(ctx.name, config.WORKER_LEASE_SECONDS))
    except BaseException:
        ctx.executor.stop()
        raise
    if not change.ok:
        ctx.executor.stop()  # cancelled or deleted before it started: it must not run
        return False
    made_final = False  # by this worker: the final change let go of the lease too
    try:
        made_final = _execute(ctx, record, started)
    except Exception as exc:  # a bug here must fail the job, not leave it RUNNING
        log.exception("job %s failed in the worker", job_id)
        if ctx.executor.busy:  # its messages must not be read as the next job's
            ctx.executor.stop()
        made_final = ctx.transitions.fail(record, f"internal error in the worker: "
                                                  f"{type(exc).__name__}: {exc}").ok
    except BaseException:  # a forced stop (RQ raises SystemExit), Ctrl-C: not the job's fault
        ctx.executor.stop()
        requeue(ctx, job_id, f"worker {ctx.name} was stopped", counted=False)
        raise
    finally:
        if not made_final:  # still RUNNING here means the sweeper must see it: see recovery
            let_go(ctx, job_id)
            ctx.stats.record_run(time.monotonic() - started)
    return True


def _keep_properties(snapshots: Snapshots, backend: str) -> str | None:
    """Keep the device properties the job runs against (shared by jobs on the same data)."""
    snapshot = _properties_snapshot(backend)
    if snapshot is None:
        return None
    ref, blob = snapshot
    snapshots.keep(ref, blob)
    return ref


@functools.cache
def _properties_snapshot(backend: str) -> tuple[str, bytes] | None:
    """(reference, compressed blob) of the backend's properties: computed once per process."""
    properties = catalog.backend_properties(backend)
    if properties is None:
        return None
    blob = compress(properties)
    return properties_ref(blob), blob


def _execute(ctx: WorkerContext, record: dict[str, Any], started: float) -> bool:
    """Follow the job in the executor to its end; True when this worker made it final."""
    store, transitions, job_id = ctx.store, ctx.transitions, record["id"]
    last_renewal = [time.monotonic()]
    made_final = [False]

    def keep_going() -> bool:
        if ctx.stopping.expired():
            return False  # the drain window of a graceful stop is over: handed back below
        try:
            if time.monotonic() - last_renewal[0] > ctx.config.WORKER_LEASE_SECONDS / 4:
                ctx.leases.hold(job_id, ctx.name, ctx.config.WORKER_LEASE_SECONDS)
                last_renewal[0] = time.monotonic()
            return store.status(job_id) in (JobStatus.RUNNING, JobStatus.QUEUED)
        except redis.RedisError:  # away, stalled or full: simulate on; writes wait (`patiently`)
            return True

    def on_messages(batch: Batch) -> None:
        """Log lines and interim results, with the result or error when the batch ends the job:
        one Redis write per batch. (Spans the simulation process timed, when tracing, are
        recorded here.)"""
        appends = [("log", f"{log_stamp()} INFO {data}") if kind == "log" else (kind, data)
                   for kind, data in batch if kind in ("log", "interim")]
        for kind, data in batch:
            if kind == "span":
                ctx.tracing.record(**data)
        kind, data = batch[-1]
        ran_for = time.monotonic() - started
        patience = ctx.config.WORKER_REDIS_PATIENCE_SECONDS
        if kind in ("result", "error"):
            with ctx.tracing.span("store", attributes={"job.status": "DONE" if kind == "result"
                                                       else "ERROR"}):
                made_final[0] = patiently(patience, lambda: final(kind, data, appends, ran_for))
        elif appends:
            patiently(patience, lambda: store.append(job_id, appends))

    def final(kind: str, data: Any, appends: Appends, ran_for: float) -> bool:
        if kind == "result":
            note = f"finished in {data['metrics']['usage']['seconds']} s"
            return transitions.finish(record, data["result"], data["runtime"], data["metrics"],
                                      note, appends, ran_for, data.get("samples")).ok
        return transitions.fail(record, data["message"], appends, ran_for).ok

    outcome, reason = ctx.executor.follow(on_messages, keep_going)
    if outcome != Outcome.FINISHED:  # the simulation process was stopped: the next job forks one
        metrics.restarted("simulation", outcome.value)
    if outcome in (Outcome.TIMED_OUT, Outcome.CRASHED):
        return transitions.fail(record, reason, ran_for=time.monotonic() - started).ok
    if outcome == Outcome.KILLED:  # the worker's failure, not the job's: another attempt
        requeue(ctx, job_id, reason, counted=True)
        return False  # QUEUED again, or failed out of attempts: `let_go` lets go of the lease
    if outcome == Outcome.STOPPED and ctx.stopping.expired():
        requeue(ctx, job_id, f"worker {ctx.name} stopped before the job finished "
                             f"({ctx.config.WORKER_DRAIN_SECONDS:g} s drain window)", counted=False)
    elif outcome == Outcome.STOPPED:
        log.info("job %s stopped: %s", job_id, store.status(job_id) or "deleted")
    return made_final[0]


def requeue(ctx: WorkerContext, job_id: str, why: str, counted: bool) -> None:
    """`Transitions.requeue`, which must not fail the run's end: if it fails, the job stays
    RUNNING in the running set and a sweeper recovers it."""
    try:
        if ctx.transitions.requeue(job_id, why, counted):
            log.warning("job %s queued again (%s): %s", job_id,
                        "counted" if counted else "not counted", why)
    except Exception:
        log.exception("queueing job %s again failed; a sweeper will recover it", job_id)


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
