"""The local simulators: Aer's ideal simulator and the noisy replicas of IBM devices.

A local job waits in its tenant's line (`core/store/dispatch.py`) with a dispatch token on RQ's
jobs queue (`core/queueing.py`); a worker's `workers.dispatch.run_next` runs the fairly next one.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from core import catalog, queueing
from core.admission import CostLimits, Inspection, check_costs, widest_state_vector
from core.clock import rfc3339
from core.errors import QuotaExceeded
from core.estimates import run_seconds
from core.jsonable import plain
from core.states import JobStatus

if TYPE_CHECKING:
    from redis.client import Pipeline
    from rq import Queue

    from core.config import Config
    from core.store.dispatch import Dispatch
    from core.store.leases import Leases
    from core.store.stats import Stats


class LocalSimulators:
    name = "local"
    imports = False
    recovers = True

    def __init__(self, config: Config, queue: Queue, dispatch: Dispatch, stats: Stats,
                 leases: Leases) -> None:
        self.config, self.queue, self.dispatch = config, queue, dispatch
        self.stats, self.leases = stats, leases

    # -- the catalog ----------------------------------------------------------------------------
    def backends(self) -> list[dict[str, Any]]:
        return list(catalog.local_backends().values())

    def backend(self, name: str) -> dict[str, Any] | None:
        return catalog.local_backends().get(name)

    def document(self, name: str, kind: str) -> Any:
        if kind == "properties":
            return catalog.backend_properties(name)
        if name == catalog.IDEAL:
            return None
        return plain(catalog.fake_backend(name).configuration().to_dict())

    def readiness(self) -> tuple[str, dict[str, Any] | None, str | None]:
        return "ok", None, None

    # -- admission ------------------------------------------------------------------------------
    def limits(self) -> dict[str, Any]:
        memory = self.config.WORKER_MEMORY_BYTES
        return {"max_statevector_qubits": widest_state_vector(memory),
                "worker_memory_bytes": memory}

    def admit(self, program_id: str, pubs: list[dict[str, Any]],
              inspection: Inspection, backend: dict[str, Any]) -> None:
        c = self.config
        check_costs(inspection, bool(backend.get("noisy")),
                    CostLimits(c.MAX_TOTAL_SHOTS, c.MAX_BROADCAST, c.WORKER_MEMORY_BYTES))

    def check_room(self, tenant: str) -> None:
        """A tenant's waiting jobs are capped (`max_queued`): over it, 429 until some start."""
        waiting, limit = self.dispatch.room(tenant, self.config.TENANT_MAX_QUEUED)
        if waiting >= limit:
            raise QuotaExceeded(f"{limit} jobs of yours are already waiting (max_queued); "
                                "submit again when some have started.", policy="queued",
                                limit=limit, retry_after=max(1, round(self.stats.recent_pace())))

    def usage_estimation(self, inspection: Inspection, backend: dict[str, Any]) -> dict[str, Any]:
        """The seconds a worker is expected to run the job (`core/estimates.py`)."""
        return {"quantum_seconds": run_seconds(inspection, bool(backend.get("noisy")),
                                               self.config.WORKER_MEMORY_BYTES)}

    # -- a job's line -----------------------------------------------------------------------------
    def line_up(self, record: dict[str, Any], attempt: int, pipe: Pipeline | None = None,
                first: bool = False) -> None:
        # a token runs whichever job is fairly next: RQ's timeout is the gateway's longest
        queueing.enqueue(self.queue, self.dispatch, record["tenant"], record["id"], attempt,
                         self.config.JOB_TIME_LIMIT_SECONDS, pipeline=pipe, first=first)

    def withdraw(self, record: dict[str, Any]) -> None:
        queueing.remove(self.queue, self.dispatch, record["tenant"], record["id"],
                        int(record.get("rq_attempt", 1)))

    # -- while the job is not final -------------------------------------------------------------
    def cancel(self, record: dict[str, Any]) -> None:
        """Nothing to do here: a running job's worker sees it cancelled and kills its run."""

    def update_tags(self, record: dict[str, Any], tags: list[str]) -> None:
        """Tags live in the gateway's record only."""

    def live_metrics(self, record: dict[str, Any]) -> dict[str, Any] | None:
        return None

    def queue_info(self, record: dict[str, Any]) -> dict[str, Any]:
        """Position in the tenant-fair queue (1 = next), estimates from the workers' pace."""
        status = JobStatus(record["status"])
        if status.final:
            return {"position": None, "estimated_start_time": record.get("running"),
                    "estimated_completion_time": record.get("finished")}
        average = self.stats.recent_pace()
        if status == JobStatus.RUNNING:
            return {"position": None, "estimated_start_time": record.get("running"),
                    "estimated_completion_time": _later(record.get("running"), average)}
        position = self.dispatch.position(record["tenant"], record["id"])
        ahead = (position or 1) - 1 + self.leases.running_count()
        start = _later(None, ahead * average / max(queueing.workers_alive(self.queue), 1))
        return {"position": position, "estimated_start_time": start,
                "estimated_completion_time": _later(start, average)}

    # -- recovery -------------------------------------------------------------------------------
    def troubles(self, jobs: list[dict[str, Any]]) -> dict[str, str]:
        """QUEUED in no tenant's line (and not dispatched), RUNNING outside the running set."""
        if not jobs:
            return {}
        running = self.leases.running_ids()
        lined_up = self.dispatch.lined_up([(job["tenant"], job["id"]) for job in jobs
                                           if job["tenant"]])
        found = {}
        for job in jobs:
            if job["status"] == JobStatus.QUEUED and job["id"] not in lined_up:
                found[job["id"]] = f"unqueued:{job['rq_attempt']}"
            elif job["status"] == JobStatus.RUNNING and job["id"] not in running:
                found[job["id"]] = "unwatched"
        return found

    def sweep(self, stats: Stats) -> None:
        """Nothing of its own: the sweeper's checks cover local jobs (`workers/recovery.py`)."""


def _later(moment: str | None, seconds: float) -> str:
    base = datetime.fromisoformat(moment.replace("Z", "+00:00")) if moment else datetime.now(UTC)
    return rfc3339(base + timedelta(seconds=seconds))
