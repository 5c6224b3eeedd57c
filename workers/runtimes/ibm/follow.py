"""Follow an IBM Quantum job: one look at it per call, reported to the store like a local job.

A look is one request while the job is queued or running. When the job is final, its metrics,
logs and result (or error) are fetched once, stored in Redis, and the job reaches the same
final state here; after that nothing reads IBM for this job again.
"""

from __future__ import annotations

import random
import time
from typing import Any

from core.clock import iso_to_micros, log_stamp
from core.config import Config
from core.ibm.account import Account
from core.ibm.context import Ibm
from core.ibm.upstream import summarise_metrics, upstream_status
from core.jsonable import plain
from core.results import normalise, packed_samples, runtime_json
from core.states import JobStatus
from core.store.jobs import Appends
from core.tracing import Tracing
from core.transitions import Transitions

PENDING = (JobStatus.INITIALIZING, JobStatus.QUEUED, JobStatus.RUNNING)


def look(ibm: Ibm, transitions: Transitions, record: dict[str, Any],
         tracing: Tracing | None = None) -> float | None:
    """Check the upstream job once; the seconds until the next look, None once it is final
    (the final fetch and write are a `store` span of the job's trace, when tracing)."""
    job = ibm.account.job(record["runtime_job_id"])
    status = upstream_status(ibm.account.call("reading the job status", job.status))
    if status == JobStatus.RUNNING and record["status"] == JobStatus.QUEUED:
        ibm.snapshot_properties(record["id"], record["backend"])
        transitions.start(record, [("log", f"{log_stamp()} INFO running on "
                                                 f"{record['backend']}")])
        record = ibm.store.get(record["id"]) or record
    if status in PENDING:
        return next_look(ibm.config, record, status)
    if not record.get("properties_ref"):  # it ran between two looks
        ibm.snapshot_properties(record["id"], record["backend"])
    with (tracing or Tracing()).span("store", parent=record.get("traceparent"),
                                     attributes={"job.status": status.value}):
        finish(transitions, ibm.account, record, job, status)
    return None


def next_look(config: Config, record: dict[str, Any], status: JobStatus) -> float:
    """A tenth of the time the job has waited in its status so far, within the configured
    bounds: hours in IBM's queue cost a few requests an hour, a short job is seen finishing."""
    since = record.get("running") if status == JobStatus.RUNNING else record.get("created")
    waited = time.time() - iso_to_micros(since or record["created"]) / 1e6
    delay = min(config.IBM_POLL_MAX_SECONDS, max(config.IBM_POLL_MIN_SECONDS, waited / 10))
    return delay * random.uniform(0.9, 1.1)


def finish(transitions: Transitions, account: Account, record: dict[str, Any], job: Any,
           status: JobStatus) -> None:
    """Fetch what a final job left, then store it all in one change: a failed fetch is simply
    tried again at the next look. The result is fetched last, as a private job's result reads
    only once."""
    metrics = summarise_metrics(account.call("reading the job metrics", job.metrics))
    lines = str(account.call("reading the job logs", job.logs)).splitlines()
    logs = [("log", account.redact(line)) for line in lines if line.strip()]
    if status == JobStatus.DONE:
        _done(transitions, record, account.call("reading the result", job.result), metrics,
              logs)
    elif status == JobStatus.ERROR:
        error = account.call("reading the error", job.error_message) or "the job failed"
        transitions.fail(record, f"IBM Quantum: {account.redact(str(error))}", logs,
                         metrics=metrics)
    else:
        logs.append(("log", f"{log_stamp()} INFO cancelled on IBM Quantum"))
        transitions.cancelled(record, metrics, logs)
    account.drop_job(record["runtime_job_id"])


def _done(transitions: Transitions, record: dict[str, Any], result: Any, metrics: dict[str, Any],
          logs: Appends) -> None:
    from qiskit.primitives import PrimitiveResult

    # the executor's metadata holds dataclasses that neither JSON encoder takes
    result = PrimitiveResult(list(result), metadata=plain(result.metadata))
    transitions.finish(record, normalise(result), runtime_json(result), metrics,
                       "finished on IBM Quantum", logs, samples=packed_samples(result))
