"""The RQ task: take one job from QUEUED to a final state, reporting everything to the store."""

from __future__ import annotations

import functools
import logging
import socket
import time
from dataclasses import dataclass
from typing import Any

from rq import Queue

from core import catalog, queueing, results
from core.admission import job_time_limit
from core.clock import log_stamp
from core.config import Config
from core.results import compress
from core.states import JobStatus
from core.store.jobs import JobStore, properties_ref
from workers.executor import Batch, Executor, Outcome
from workers.runtimes.local import LocalRuntime

log = logging.getLogger("gateway.worker")


@dataclass
class WorkerContext:
    config: Config
    store: JobStore
    queue: Queue
    executor: Executor
    name: str


_context: WorkerContext | None = None


def context() -> WorkerContext:
    """The worker's long-lived parts, made once per process (simulators stay warm across jobs)."""
    global _context
    if _context is None:
        config = Config()
        store = JobStore(config.REDIS_URL, config.REDIS_PREFIX, config.JOB_RETENTION_SECONDS)
        runtime = LocalRuntime(config.WORKER_MEMORY_BYTES)
        for backend in config.WORKER_PREWARM:
            runtime.prewarm(backend)
        _context = WorkerContext(
            config, store, queueing.job_queue(store.raw, config.QUEUE_NAME),
            Executor(runtime, memory_bytes=config.WORKER_MEMORY_BYTES),
            f"{socket.gethostname()}:{id(runtime):x}",
        )
    return _context


def run_job(job_id: str) -> None:
    """RQ entry point. Never raises: the gateway's record, not RQ's registries, is the truth."""
    ctx = context()
    store, config = ctx.store, ctx.config
    record, inputs = store.get_with_inputs(job_id)
    if record is None:
        return  # deleted while queued
    attempt = record["attempts"] + 1
    ctx.executor.start()
    fields: dict[str, Any] = {"attempts": attempt}
    ref = _keep_properties(store, record["backend"])
    if ref is not None:
        fields["properties_ref"] = ref
    logs = [("log", f"{log_stamp()} INFO running on {ctx.name} (attempt {attempt})"),
            ("log", f"{log_stamp()} INFO simulating in process {ctx.executor.pid}")]
    started = time.monotonic()
    # the simulation starts at once, while the job is marked RUNNING: for a small job, that
    # round trip to Redis is a good part of what the gateway adds
    ctx.executor.submit(record, inputs, job_time_limit(inputs.get("options") or {},
                                                       config.JOB_TIME_LIMIT_SECONDS))
    try:
        change = store.transition(job_id, JobStatus.RUNNING, fields, appends=logs,
                                  lease=(ctx.name, config.WORKER_LEASE_SECONDS))
    except BaseException:
        ctx.executor.stop()
        raise
    if not change.ok:
        ctx.executor.stop()  # cancelled or deleted before it started: it must not run
        return
    made_final = False  # by this worker: the final change let go of the lease too
    try:
        made_final = _execute(ctx, job_id, started)
    except Exception as exc:  # a bug here must fail the job, not leave it RUNNING
        log.exception("job %s failed in the worker", job_id)
        if ctx.executor.busy:  # its messages must not be read as the next job's
            ctx.executor.stop()
        made_final = results.fail(store, job_id, f"internal error in the worker: "
                                                 f"{type(exc).__name__}: {exc}").ok
    finally:
        if not made_final:
            store.release_lease(job_id, ran_for=time.monotonic() - started)


def _keep_properties(store: JobStore, backend: str) -> str | None:
    """Keep the device properties the job runs against (shared by jobs on the same data)."""
    snapshot = _properties_snapshot(backend)
    if snapshot is None:
        return None
    ref, blob = snapshot
    store.keep_properties(ref, blob)
    return ref


@functools.cache
def _properties_snapshot(backend: str) -> tuple[str, bytes] | None:
    """(reference, compressed blob) of the backend's properties: computed once per process."""
    properties = catalog.backend_properties(backend)
    if properties is None:
        return None
    blob = compress(properties)
    return properties_ref(blob), blob


def _execute(ctx: WorkerContext, job_id: str, started: float) -> bool:
    """Follow the job in the executor to its end; True when this worker made it final."""
    store = ctx.store
    last_renewal = [time.monotonic()]
    made_final = [False]

    def keep_going() -> bool:
        if time.monotonic() - last_renewal[0] > ctx.config.WORKER_LEASE_SECONDS / 4:
            store.hold_lease(job_id, ctx.name, ctx.config.WORKER_LEASE_SECONDS)
            last_renewal[0] = time.monotonic()
        return store.status(job_id) == JobStatus.RUNNING

    def on_messages(batch: Batch) -> None:
        """Log lines and interim results, with the result or error when the batch ends the job:
        one Redis write per batch."""
        appends = [("log", f"{log_stamp()} INFO {data}") if kind == "log" else (kind, data)
                   for kind, data in batch if kind in ("log", "interim")]
        kind, data = batch[-1]
        ran_for = time.monotonic() - started
        if kind == "result":
            note = f"finished in {data['metrics']['usage']['seconds']} s"
            made_final[0] = results.finish(store, job_id, data["result"], data["runtime"],
                                           data["metrics"], note, appends, ran_for).ok
        elif kind == "error":
            made_final[0] = results.fail(store, job_id, data["message"], appends, ran_for).ok
        else:
            store.append(job_id, appends)

    outcome, reason = ctx.executor.follow(on_messages, keep_going)
    if outcome in (Outcome.TIMED_OUT, Outcome.CRASHED):
        return results.fail(store, job_id, reason, ran_for=time.monotonic() - started).ok
    if outcome == Outcome.STOPPED:
        log.info("job %s stopped: %s", job_id, store.status(job_id) or "deleted")
    return made_final[0]


def recover_orphans(ctx: WorkerContext) -> None:
    """Jobs whose worker died: queue them again, or fail them once out of attempts."""
    store, config = ctx.store, ctx.config
    for job_id in store.orphaned_jobs():
        if not store.claim_orphan(job_id):
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
        queueing.enqueue(ctx.queue, job_id, attempts + 1, config.JOB_TIME_LIMIT_SECONDS)
        store.set_field(job_id, "rq_attempt", attempts + 1)
