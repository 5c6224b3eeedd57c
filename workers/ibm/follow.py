"""Follow an IBM Quantum job: one look at it per call, reported to the store like a local job.

A look is one request while the job is queued or running. When the job is final, its metrics,
logs and result (or error) are fetched once, stored in Redis, and the job reaches the same
final state here; after that nothing reads IBM for this job again.
"""

from __future__ import annotations

import json
import random
import time
import zlib
from typing import Any

from workers.config import Config
from workers.ibm.account import Account
from workers.ibm.context import Ibm
from workers.ibm.devices import plain
from workers.local import jsonable, normalise
from workers.states import JobStatus
from workers.store import JobStore, compress, iso_to_micros

LARGE_RESULT_BYTES = 64 * 1024  # as for local jobs: larger results are linked, not inlined
PENDING = (JobStatus.INITIALIZING, JobStatus.QUEUED, JobStatus.RUNNING)


def look(ibm: Ibm, record: dict[str, Any]) -> float | None:
    """Check the upstream job once; the seconds until the next look, None once it is final."""
    job = ibm.account.job(record["runtime_job_id"])
    status = upstream_status(ibm.account.call("reading the job status", job.status))
    if status == JobStatus.RUNNING and record["status"] == JobStatus.QUEUED:
        ibm.snapshot_properties(record["id"], record["backend"])
        ibm.store.transition(record["id"], JobStatus.RUNNING)
        ibm.store.add_log(record["id"], f"{stamp()} INFO running on {record['backend']}")
        record = ibm.store.get(record["id"]) or record
    if status in PENDING:
        return next_look(ibm.config, record, status)
    if not record.get("properties_ref"):  # it ran between two looks
        ibm.snapshot_properties(record["id"], record["backend"])
    finish(ibm.store, ibm.account, record, job, status)
    return None


def upstream_status(reported: Any) -> JobStatus:
    """The client's status word as ours (the same words; anything new counts as queued)."""
    try:
        return JobStatus(str(reported).upper())
    except ValueError:
        return JobStatus.QUEUED


def next_look(config: Config, record: dict[str, Any], status: JobStatus) -> float:
    """A tenth of the time the job has waited in its status so far, within the configured
    bounds: hours in IBM's queue cost a few requests an hour, a short job is seen finishing."""
    since = record.get("running") if status == JobStatus.RUNNING else record.get("created")
    waited = time.time() - iso_to_micros(since or record["created"]) / 1e6
    delay = min(config.IBM_POLL_MAX_SECONDS, max(config.IBM_POLL_MIN_SECONDS, waited / 10))
    return delay * random.uniform(0.9, 1.1)


def finish(store: JobStore, account: Account, record: dict[str, Any], job: Any,
           status: JobStatus) -> None:
    """Fetch what a final job left, then store it all: a failed fetch is simply tried again at
    the next look. The result is fetched last, as a private job's result reads only once."""
    job_id = record["id"]
    metrics = summarise_metrics(account.call("reading the job metrics", job.metrics))
    lines = str(account.call("reading the job logs", job.logs)).splitlines()
    outcome: Any = None
    if status == JobStatus.DONE:
        outcome = account.call("reading the result", job.result)
    elif status == JobStatus.ERROR:
        outcome = account.call("reading the error", job.error_message) or "the job failed"
    for line in lines:
        if line.strip():
            store.add_log(job_id, account.redact(line))
    if status == JobStatus.DONE:
        _done(store, job_id, outcome, metrics)
    elif status == JobStatus.ERROR:
        fail(store, job_id, f"IBM Quantum: {account.redact(str(outcome))}", metrics)
    else:
        store.add_log(job_id, f"{stamp()} INFO cancelled on IBM Quantum")
        store.transition(job_id, JobStatus.CANCELLED, fields={"metrics": metrics})
    account.drop_job(record["runtime_job_id"])


def _done(store: JobStore, job_id: str, result: Any, metrics: dict[str, Any]) -> None:
    from qiskit.primitives import PrimitiveResult
    from qiskit_ibm_runtime import RuntimeEncoder

    # the executor's metadata holds dataclasses that neither JSON encoder takes
    result = PrimitiveResult(list(result), metadata=plain(result.metadata))
    normalised = normalise(result)
    blob = compress(normalised)
    event = normalised if len(blob) <= LARGE_RESULT_BYTES else {
        "href": f"/v1/jobs/{job_id}/result", "bytes": len(blob)}
    runtime = zlib.compress(json.dumps(result, cls=RuntimeEncoder).encode(), 6)
    store.add_log(job_id, f"{stamp()} INFO finished on IBM Quantum")
    store.transition(job_id, JobStatus.DONE, fields={"metrics": metrics},
                     blobs={":result": blob, ":runtime": runtime}, event=("result", event))


def fail(store: JobStore, job_id: str, message: str, metrics: dict[str, Any] | None = None) -> None:
    store.add_log(job_id, f"{stamp()} ERROR {message}")
    fields: dict[str, Any] = {"error_message": message}
    if metrics is not None:
        fields["metrics"] = metrics
    store.transition(job_id, JobStatus.ERROR, fields=fields, event=("error", {"message": message}))


def summarise_metrics(upstream: dict[str, Any]) -> dict[str, Any]:
    """IBM's metrics, with usage where local jobs keep theirs."""
    usage = upstream.get("usage") or {}
    return {"usage": {"quantum_seconds": usage.get("quantum_seconds"),
                      "seconds": usage.get("seconds")},
            "upstream": jsonable(upstream)}


def stamp() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime())
