"""IBM Quantum through qiskit-ibm-runtime, when an account is configured (QISKIT_IBM_TOKEN).

An IBM job is followed by one chain of short RQ steps on the IBM queue
(`workers/runtimes/ibm/tasks.py`): lining it up starts a chain. The account's devices are the
cache the workers keep (`core/store/ibm.py`). Without an account it has no backends.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from core.clock import log_stamp
from core.errors import (
    BackendsNotRead,
    GatewayError,
    IbmNotConfigured,
    InvalidJobState,
    JobNotFound,
    UpstreamFailed,
)
from core.ibm.context import ADVANCE, REFRESH, enqueue
from core.ibm.trouble import Trouble, UpstreamError
from core.ibm.upstream import (
    PROVIDER,
    check_uniform,
    gateway_tag,
    summarise_metrics,
    tagged_job_id,
    upstream_status,
)
from core.mitigation_cost import mitigated
from core.states import JobStatus
from core.store.jobs import new_job_id

if TYPE_CHECKING:
    from redis.client import Pipeline

    from core.admission import Inspection
    from core.ibm.context import Ibm
    from core.store.stats import Stats

log = logging.getLogger("gateway.ibm")

LIVE_METRICS_SECONDS = 10.0  # however many clients ask, IBM is asked at most this often per job


class IbmQuantum:
    name = PROVIDER
    imports = True

    def __init__(self, ibm: Ibm) -> None:
        self.ibm = ibm

    @property
    def configured(self) -> bool:
        return bool(self.ibm.config.IBM_TOKEN)

    @property
    def recovers(self) -> bool:
        """Only a worker with the account recovers IBM jobs: a new chain goes on its IBM
        queue, which only such workers take."""
        return self.configured

    # -- the catalog ----------------------------------------------------------------------------
    def backends(self) -> list[dict[str, Any]]:
        return self.ibm.state.backends() if self.configured else []

    def backend(self, name: str) -> dict[str, Any] | None:
        if not self.configured:
            return None
        found = self.ibm.state.backend(name)
        if found is None and not self.ibm.state.backends_read():
            raise BackendsNotRead(
                f"The IBM Quantum account's devices are not known yet (the gateway is starting):"
                f" '{name}' may be one of them. Try again in a few seconds.")
        return found

    def document(self, name: str, kind: str) -> Any:
        return self.ibm.state.backend_document(name, kind)

    def readiness(self) -> tuple[str, dict[str, Any] | None, str | None]:
        """It must have read the account's devices once, or have failed to in a way it
        reports (the account marked unhealthy)."""
        if not self.configured:
            return "not configured (no QISKIT_IBM_TOKEN): local simulators only", None, None
        state = self.ibm.state
        health = state.health()
        status = health.get("status", "unknown (not reached yet)")
        if health.get("reason"):
            status = f"{status}: {health['reason']}"
        read = state.backends_read()
        waiting = None if read or health.get("status") == "unhealthy" else (
            "the IBM Quantum account's devices are not read yet")
        return status, {"since": health.get("at"), "jobs_followed": state.following(),
                        "devices_read": read,
                        "backends": [b["name"] for b in state.backends()]}, waiting

    # -- admission ------------------------------------------------------------------------------
    def limits(self) -> dict[str, Any]:
        return {"max_statevector_qubits": None, "worker_memory_bytes": None,
                "mitigation_counts": "IBM Quantum devices: the shots the runtime options make "
                                     "run count in usage_estimation; IBM's own limits apply"}

    def admit(self, program_id: str, pubs: list[dict[str, Any]],
              inspection: Inspection, backend: dict[str, Any],
              options: dict[str, Any] | None = None) -> None:
        check_uniform(program_id, pubs)

    def check_options(self, program_id: str, options: dict[str, Any],
                      backend: dict[str, Any]) -> None:
        """An IBM device takes every option the library's models take: they are sent as
        given (`workers/runtimes/ibm/submit.py`)."""

    def check_room(self, tenant: str) -> None:
        """IBM jobs wait in IBM's queue, not the gateway's: `max_queued` is not theirs."""

    def usage_estimation(self, inspection: Inspection, backend: dict[str, Any]) -> dict[str, Any]:
        """Shots x the devices' repetition delay: the device time, roughly; the shots the
        runtime options make run (`core/mitigation_cost.py`)."""
        if inspection.mitigation is not None:
            inspection = mitigated(inspection, inspection.mitigation)
        return {"quantum_seconds": inspection.quantum_seconds}

    # -- a job's line -----------------------------------------------------------------------------
    def line_up(self, record: dict[str, Any], attempt: int, pipe: Pipeline | None = None,
                first: bool = False) -> None:
        self.ibm.start(record["id"], pipe)

    def withdraw(self, record: dict[str, Any]) -> None:
        """Its chain sees the job final and stops."""

    # -- sessions: one with an IBM Quantum session (`core/ibm/sessions.py`) --------------------
    def open_session(self, backend: str, mode: str, max_ttl: int) -> str | None:
        return str(self._session_call(self.ibm.sessions.create, backend, mode, max_ttl))

    def end_session(self, upstream_id: str, how: str) -> None:
        self._session_call(self.ibm.sessions.end, upstream_id, how)

    def session_details(self, upstream_id: str) -> dict[str, Any]:
        return dict(self._session_call(self.ibm.sessions.details, upstream_id))

    def _session_call(self, action: Callable[..., Any], *args: Any) -> Any:
        self._configured()
        try:
            return action(*args)  # each call to IBM in it is the account's (counted, classified)
        except UpstreamError as err:
            raise _problem(err, "IBM Quantum has no such session.") from None

    # -- upstream, while the job is not final ---------------------------------------------------
    def cancel(self, record: dict[str, Any]) -> None:
        """Cancel on IBM Quantum first (once it was sent there)."""
        runtime_job_id = record.get("runtime_job_id")
        if not runtime_job_id:
            return  # still waiting for its turn: the sender sees it cancelled and never sends it
        self._configured()
        try:
            self._ask("cancelling the job", self._upstream(runtime_job_id).cancel)
        except InvalidJobState:  # final on IBM already: look now, to report what it was
            self.ibm.start(record["id"])
            raise
        self.ibm.store.add_log(record["id"],
                               f"{log_stamp()} INFO cancelled on IBM Quantum by the gateway")

    def update_tags(self, record: dict[str, Any], tags: list[str]) -> None:
        """Replace the tags on IBM Quantum, keeping the gateway's own tag."""
        runtime_job_id = record.get("runtime_job_id")
        if runtime_job_id:
            self._configured()
            mark = [] if record.get("imported") else [gateway_tag(record["id"])]
            self._ask("updating the tags", self._upstream(runtime_job_id).update_tags,
                      [*tags, *mark])

    def live_metrics(self, record: dict[str, Any]) -> dict[str, Any] | None:
        """IBM's metrics of a job that is not final here (kept a few seconds)."""
        runtime_job_id = record.get("runtime_job_id")
        if not runtime_job_id or JobStatus(record["status"]).final:
            return None
        self._configured()
        kept = self.ibm.state.live_metrics(record["id"])
        if kept is not None:
            return kept
        metrics = summarise_metrics(
            self._ask("reading the metrics", self._upstream(runtime_job_id).metrics))
        self.ibm.state.keep_live_metrics(record["id"], metrics, LIVE_METRICS_SECONDS)
        return metrics

    def queue_info(self, record: dict[str, Any]) -> dict[str, Any]:
        """IBM's own queue position and estimates while the job waits there."""
        upstream = (self.live_metrics(record) or {}).get("upstream") or {}
        final = JobStatus(record["status"]).final
        return {"position": None if final else upstream.get("position_in_queue"),
                "estimated_start_time": record.get("running")
                or upstream.get("estimated_start_time"),
                "estimated_completion_time": record.get("finished")
                or upstream.get("estimated_completion_time"), "reason": None, "detail": None}

    # -- recovery -------------------------------------------------------------------------------
    def troubles(self, jobs: list[dict[str, Any]]) -> dict[str, str]:
        """Followed by no chain of steps (a step's final write lost)."""
        return {job["id"]: "unfollowed" for job in jobs
                if self.ibm.state.chain_of(job["id"]) is None}

    def sweep(self, stats: Stats) -> None:
        """Every worker's sweeper, at every pass: re-attach jobs whose chain is long overdue
        (their worker died), keep the account's devices fresh."""
        if not self.configured:
            return
        ibm, now = self.ibm, time.time()
        grace = ibm.config.IBM_REATTACH_SECONDS
        for job_id in ibm.state.overdue(now - grace):
            chain = ibm.state.reattach(job_id, now - grace, now + grace)
            if chain is not None:
                log.info("re-attaching IBM job %s", job_id)
                enqueue(ibm.queue, ADVANCE, [job_id, chain])
        every = ibm.config.IBM_BACKENDS_REFRESH_SECONDS
        if ibm.state.backends_age() > every and stats.take_turn("ibm-backends", min(every, 60)):
            enqueue(ibm.queue, REFRESH, [])

    # -- import ---------------------------------------------------------------------------------
    def import_job(self, tenant: str, runtime_job_id: str,
                   queue: Callable[[dict[str, Any], dict[str, Any]], dict[str, Any]],
                   ) -> tuple[dict, bool]:
        """Follow a job submitted to IBM Quantum elsewhere; (the job, whether it is new here).
        `queue(record, inputs)` makes the new job (`Transitions.queue`)."""
        self._configured()
        store = self.ibm.store
        upstream = self._upstream(runtime_job_id)
        tagged = tagged_job_id(upstream.tags or [])
        if tagged is not None:  # sent by this gateway: only its own tenant may see it
            return store.owned(tenant, tagged), False
        job_id = new_job_id()
        existing = self.ibm.state.claim_import(tenant, runtime_job_id, job_id,
                                               self.ibm.config.JOB_RETENTION_SECONDS)
        if existing is not None:  # followed already: for its first importer only
            owner, followed_by = existing
            if owner != tenant:
                raise JobNotFound.of(runtime_job_id)
            if store.get(followed_by) is not None:
                return store.owned(tenant, followed_by), False
        status = upstream_status(self._ask("reading the job status", upstream.status))
        record: dict[str, Any] = {
            "id": job_id, "tenant": tenant, "program_id": upstream.primitive_id or "executor",
            "backend": _backend_name(upstream), "provider": PROVIDER,
            "status": JobStatus.RUNNING if status == JobStatus.RUNNING else JobStatus.QUEUED,
            "tags": list(upstream.tags or []),
            "options": {}, "attempts": 0, "version": 2, "runtime_job_id": runtime_job_id,
            "imported": 1,
        }
        return queue(record, {}), True

    # -- calling IBM ----------------------------------------------------------------------------
    def _configured(self) -> None:
        if not self.configured:
            raise IbmNotConfigured("This gateway has no IBM Quantum account (QISKIT_IBM_TOKEN).")

    def _upstream(self, runtime_job_id: str) -> Any:
        return self._ask("reading the job", self.ibm.account.job, runtime_job_id)

    def _ask(self, what: str, action: Any, *args: Any) -> Any:
        """Call IBM Quantum; its failures as the problems the API answers with."""
        try:
            return self.ibm.account.call(what, action, *args)
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
