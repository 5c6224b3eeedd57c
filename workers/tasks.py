"""The RQ task: take one job from QUEUED to a final state, reporting everything to the store."""

from __future__ import annotations

import functools
import logging
import socket
import time
import zlib
from dataclasses import dataclass
from typing import Any

from rq import Queue

from workers import catalog, queueing
from workers.config import Config
from workers.executor import Executor, Outcome
from workers.local import LocalRuntime
from workers.states import JobStatus
from workers.store import JobStore, Transition, compress, properties_ref

log = logging.getLogger("gateway.worker")
LARGE_RESULT_BYTES = 64 * 1024  # larger results are linked from the `result` event, not inlined


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
        runtime = LocalRuntime()
        for backend in config.WORKER_PREWARM:
            runtime.prewarm(backend)
        _context = WorkerContext(
            config, store, queueing.job_queue(store.raw, config.QUEUE_NAME),
            Executor(runtime), f"{socket.gethostname()}:{id(runtime):x}",
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
    lease = (ctx.name, config.WORKER_LEASE_SECONDS)
    if not store.transition(job_id, JobStatus.RUNNING, {"attempts": attempt}, lease=lease).ok:
        return  # cancelled before it started
    started = time.monotonic()
    try:
        # the simulation starts now, and runs while the worker logs and snapshots
        ctx.executor.submit(record, inputs, config.JOB_TIME_LIMIT_SECONDS)
        store.add_log(job_id, f"{_stamp()} INFO running on {ctx.name} (attempt {attempt})",
                      f"{_stamp()} INFO simulating in process {ctx.executor.pid}")
        _snapshot_properties(store, job_id, record["backend"])
        _execute(ctx, job_id)
    except Exception as exc:  # a bug here must fail the job, not leave it RUNNING
        log.exception("job %s failed in the worker", job_id)
        if ctx.executor.busy:  # its messages must not be read as the next job's
            ctx.executor.stop()
        _fail(store, job_id, f"internal error in the worker: {type(exc).__name__}: {exc}")
    finally:
        store.release_lease(job_id, ran_for=time.monotonic() - started)


def _snapshot_properties(store: JobStore, job_id: str, backend: str) -> None:
    """Keep the device properties the job runs against (shared by jobs on the same data)."""
    snapshot = _properties_snapshot(backend)
    if snapshot is not None:
        ref, blob = snapshot
        store.keep_properties(ref, blob)
        store.set_field(job_id, "properties_ref", ref)


@functools.cache
def _properties_snapshot(backend: str) -> tuple[str, bytes] | None:
    """(reference, compressed blob) of the backend's properties: computed once per process."""
    properties = catalog.backend_properties(backend)
    if properties is None:
        return None
    blob = compress(properties)
    return properties_ref(blob), blob


def _execute(ctx: WorkerContext, job_id: str) -> None:
    store = ctx.store
    last_renewal = [time.monotonic()]

    def keep_going() -> bool:
        if time.monotonic() - last_renewal[0] > ctx.config.WORKER_LEASE_SECONDS / 4:
            store.hold_lease(job_id, ctx.name, ctx.config.WORKER_LEASE_SECONDS)
            last_renewal[0] = time.monotonic()
        return store.status(job_id) == JobStatus.RUNNING

    def on_message(kind: str, data: Any) -> None:
        if kind == "log":
            store.add_log(job_id, f"{_stamp()} INFO {data}")
        elif kind == "interim":
            store.add_interim(job_id, data)
        elif kind == "result":
            _finish(store, job_id, data)
        elif kind == "error":
            _fail(store, job_id, data["message"])

    outcome, reason = ctx.executor.follow(on_message, keep_going)
    if outcome in (Outcome.TIMED_OUT, Outcome.CRASHED):
        _fail(store, job_id, reason)
    elif outcome == Outcome.STOPPED:
        log.info("job %s stopped: %s", job_id, store.status(job_id) or "deleted")


def _finish(store: JobStore, job_id: str, data: dict[str, Any]) -> None:
    result = compress(data["result"])
    event = data["result"] if len(result) <= LARGE_RESULT_BYTES else {
        "href": f"/v1/jobs/{job_id}/result", "bytes": len(result)}
    line = f"{_stamp()} INFO finished in {data['metrics']['usage']['seconds']} s"
    change = store.transition(
        job_id, JobStatus.DONE, fields={"metrics": data["metrics"]},
        blobs={":result": result, ":runtime": zlib.compress(data["runtime"].encode(), 6)},
        event=("result", event), logs=[line],
    )
    _log_anyway(store, job_id, change, line)


def _fail(store: JobStore, job_id: str, message: str) -> None:
    line = f"{_stamp()} ERROR {message}"
    change = store.transition(job_id, JobStatus.ERROR, fields={"error_message": message},
                              event=("error", {"message": message}), logs=[line])
    _log_anyway(store, job_id, change, line)


def _log_anyway(store: JobStore, job_id: str, change: Transition, line: str) -> None:
    """A line that went with a refused change (the job was made final meanwhile): log it still."""
    if not change.ok and change.previous:
        store.add_log(job_id, line)


def _stamp() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime())


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
            _fail(store, job_id, f"the worker running this job was lost (attempt {attempts} of "
                                 f"{config.JOB_MAX_ATTEMPTS}); not retried")
            continue
        if record["status"] == JobStatus.RUNNING:
            if not store.transition(job_id, JobStatus.QUEUED).ok:
                continue
            store.add_log(job_id, f"{_stamp()} WARNING worker lost; the job is queued again")
        queueing.enqueue(ctx.queue, job_id, attempts + 1, config.JOB_TIME_LIMIT_SECONDS)
        store.set_field(job_id, "rq_attempt", attempts + 1)
