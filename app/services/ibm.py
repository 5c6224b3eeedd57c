"""What the job views do for IBM Quantum: import, and the operations that go upstream while a
job is not final here (cancel, tags, live metrics, queue). Plain functions."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from core.clock import log_stamp
from core.errors import (
    GatewayError,
    IbmNotConfigured,
    InvalidJobState,
    JobNotFound,
    UpstreamFailed,
)
from core.ibm.context import Ibm
from core.ibm.trouble import Trouble, UpstreamError
from core.ibm.upstream import (
    PROVIDER,
    gateway_tag,
    summarise_metrics,
    tagged_job_id,
    upstream_status,
)
from core.states import JobStatus
from core.store.jobs import new_job_id

if TYPE_CHECKING:
    from app.gateway import Gateway



# -- import ----------------------------------------------------------------------------------------
def import_job(gw: Gateway, tenant: str, runtime_job_id: str) -> tuple[dict[str, Any], bool]:
    """Follow a job submitted to IBM Quantum elsewhere; (the job, whether it is new here)."""
    side = _configured(gw)
    upstream = _upstream(side, runtime_job_id)
    tagged = tagged_job_id(upstream.tags or [])
    if tagged is not None:  # sent by this gateway: only its own tenant may see it
        return gw.store.owned(tenant, tagged), False
    job_id = new_job_id()
    retention = gw.config.JOB_RETENTION_SECONDS
    existing = side.state.claim_import(tenant, runtime_job_id, job_id, retention)
    if existing is not None:  # followed already: for its first importer only
        owner, followed_by = existing
        if owner != tenant:
            raise JobNotFound(f"No job {runtime_job_id!r}.")
        if gw.store.get(followed_by) is not None:
            return gw.store.owned(tenant, followed_by), False
    status = upstream_status(_ask(side, "reading the job status", upstream.status))
    record: dict[str, Any] = {
        "id": job_id, "tenant": tenant, "program_id": upstream.primitive_id or "executor",
        "backend": _backend_name(upstream), "provider": PROVIDER,
        "status": JobStatus.RUNNING if status == JobStatus.RUNNING else JobStatus.QUEUED,
        "tags": list(upstream.tags or []),
        "options": {}, "attempts": 0, "version": 2, "runtime_job_id": runtime_job_id,
        "imported": 1,
    }
    job = gw.store.create(record, {}, lambda pipe: side.start(job_id, pipe))
    return job, True


def _configured(gw: Gateway) -> Ibm:
    if not gw.config.IBM_TOKEN:
        raise IbmNotConfigured("This gateway has no IBM Quantum account (QISKIT_IBM_TOKEN).")
    return gw.ibm


def _upstream(side: Ibm, runtime_job_id: str) -> Any:
    return _ask(side, "reading the job", side.account.job, runtime_job_id)


def _ask(side: Ibm, what: str, action: Any, *args: Any) -> Any:
    """Call IBM Quantum; its failures as the problems the API answers with."""
    try:
        return side.account.call(what, action, *args)
    except UpstreamError as err:
        raise _problem(err, "IBM Quantum has no such job.") from None


def _backend_name(upstream: Any) -> str:
    try:
        return upstream.backend(timeout=0).name
    except Exception:  # no backend recorded upstream yet: it is known once the job is final
        return ""


def _problem(err: UpstreamError, not_found: str) -> GatewayError:
    if err.kind == Trouble.NOT_FOUND:
        return JobNotFound(not_found)
    if err.kind == Trouble.CONFLICT:
        return InvalidJobState(err.message)
    return UpstreamFailed(err.message, upstream=err.kind.value)


# -- operations that go upstream while the job is not final here ---------------------------------
LIVE_METRICS_SECONDS = 10.0  # however many clients ask, IBM is asked at most this often per job


def is_ibm(job: dict[str, Any]) -> bool:
    return job.get("provider") == PROVIDER


def cancel_upstream(gw: Gateway, job: dict[str, Any]) -> None:
    """Cancel on IBM Quantum first (once it was sent there); the caller then cancels here."""
    runtime_job_id = job.get("runtime_job_id")
    if not runtime_job_id:
        return  # still waiting for its turn: the sender sees it cancelled and never sends it
    side = _configured(gw)
    try:
        _ask(side, "cancelling the job", _upstream(side, runtime_job_id).cancel)
    except InvalidJobState:  # final on IBM already: look now, to report what it was
        side.start(job["id"])
        raise
    gw.store.add_log(job["id"], f"{log_stamp()} INFO cancelled on IBM Quantum by the gateway")


def update_tags(gw: Gateway, job: dict[str, Any], tags: list[str]) -> None:
    """Replace the tags on IBM Quantum (keeping the gateway's own tag), then here."""
    runtime_job_id = job.get("runtime_job_id")
    if runtime_job_id:
        side = _configured(gw)
        mark = [] if job.get("imported") else [gateway_tag(job["id"])]
        _ask(side, "updating the tags", _upstream(side, runtime_job_id).update_tags,
             [*tags, *mark])
    gw.store.set_tags(job["id"], tags)


def live_metrics(gw: Gateway, job: dict[str, Any]) -> dict[str, Any] | None:
    """IBM's metrics of an IBM job that is not final here; None for any other job."""
    runtime_job_id = job.get("runtime_job_id")
    if not is_ibm(job) or not runtime_job_id or JobStatus(job["status"]).final:
        return None
    side = _configured(gw)
    kept = side.state.live_metrics(job["id"])
    if kept is not None:
        return kept
    metrics = summarise_metrics(
        _ask(side, "reading the metrics", _upstream(side, runtime_job_id).metrics))
    side.state.keep_live_metrics(job["id"], metrics, LIVE_METRICS_SECONDS)
    return metrics


def queue_info(gw: Gateway, job: dict[str, Any]) -> dict[str, Any]:
    """IBM's own queue position and estimates while the job waits there."""
    upstream = (live_metrics(gw, job) or {}).get("upstream") or {}
    final = JobStatus(job["status"]).final
    return {"position": None if final else upstream.get("position_in_queue"),
            "estimated_start_time": job.get("running") or upstream.get("estimated_start_time"),
            "estimated_completion_time": job.get("finished")
            or upstream.get("estimated_completion_time")}
