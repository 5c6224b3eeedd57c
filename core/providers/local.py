"""The local simulators: Aer's ideal simulator and the noisy replicas of IBM devices.

A local job waits in its tenant's line (`core/store/dispatch.py`) with a dispatch token on RQ's
jobs queue (`core/queueing.py`); a worker's `workers.dispatch.run_next` runs the fairly next one.
How long jobs run, and so when a waiting one starts, comes from the cost model
(`core/estimates.py`).
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from core import catalog, queueing
from core.admission import (
    CostLimits,
    Inspection,
    check_costs,
    job_time_limit,
    widest_state_vector,
)
from core.clock import iso_to_micros, rfc3339
from core.errors import QuotaExceeded
from core.estimates import first_free, remaining_seconds, run_seconds
from core.jsonable import plain
from core.mitigation_cost import check_mitigated, mitigated
from core.option_meaning import check_local
from core.states import JobStatus

if TYPE_CHECKING:
    from redis.client import Pipeline
    from rq import Queue

    from core.config import Config
    from core.store.dispatch import Dispatch, Standing
    from core.store.jobs import JobStore
    from core.store.leases import Leases
    from core.store.stats import Stats

MITIGATION_COUNTS = (
    "noisy replicas: what the runtime options make run counts in max_total_shots and in the "
    "run-time estimate: twirling's randomizations x shots per randomization, one run per ZNE "
    "noise factor, PEC's max_overhead, TREX's calibration circuits (estimator defaults: "
    "resilience_level 1, so TREX). A job that mitigation makes run longer than "
    "max_execution_time (or its own) is refused. The ideal simulator applies no mitigation.")
MOST_AHEAD = 100  # a tenant's own jobs before a waiting one whose estimates are read; then pace


class LocalSimulators:
    name = "local"
    imports = False
    recovers = True

    def __init__(self, config: Config, queue: Queue, dispatch: Dispatch, stats: Stats,
                 leases: Leases, store: JobStore) -> None:
        self.config, self.queue, self.dispatch = config, queue, dispatch
        self.stats, self.leases, self.store = stats, leases, store

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
                "worker_memory_bytes": memory, "mitigation_counts": MITIGATION_COUNTS}

    def admit(self, program_id: str, pubs: list[dict[str, Any]],
              inspection: Inspection, backend: dict[str, Any],
              options: dict[str, Any] | None = None) -> None:
        """The cost model; on a noisy replica, counting what the runtime options make run
        (`core/mitigation_cost.py`): the ideal simulator applies none of them."""
        c, noisy = self.config, bool(backend.get("noisy"))
        check_costs(inspection, noisy,
                    CostLimits(c.MAX_TOTAL_SHOTS, c.MAX_BROADCAST, c.WORKER_MEMORY_BYTES))
        if noisy:
            check_mitigated(inspection, noisy, c.MAX_TOTAL_SHOTS,
                            job_time_limit(options or {}, c.JOB_TIME_LIMIT_SECONDS),
                            c.WORKER_MEMORY_BYTES)

    def check_options(self, program_id: str, options: dict[str, Any],
                      backend: dict[str, Any]) -> None:
        """What has no meaning on a simulator, or on the ideal one (`core/option_meaning.py`)."""
        check_local(options, backend)

    def check_room(self, tenant: str) -> None:
        """A tenant's waiting jobs are capped (`max_queued`): over it, 429 until some start."""
        waiting, limit = self.dispatch.room(tenant, self.config.TENANT_MAX_QUEUED)
        if waiting >= limit:
            raise QuotaExceeded(f"{limit} jobs of yours are already waiting (max_queued); "
                                "submit again when some have started.", policy="queued",
                                limit=limit, retry_after=max(1, round(self.stats.recent_pace())))

    def usage_estimation(self, inspection: Inspection, backend: dict[str, Any]) -> dict[str, Any]:
        """The seconds a worker is expected to run the job (`core/estimates.py`); on a noisy
        replica, of what its runtime options make run."""
        noisy, memory = bool(backend.get("noisy")), self.config.WORKER_MEMORY_BYTES
        if noisy and inspection.mitigation is not None:
            inspection = mitigated(inspection, inspection.mitigation)
        return {"quantum_seconds": run_seconds(inspection, noisy, memory)}

    # -- a job's line -----------------------------------------------------------------------------
    def line_up(self, record: dict[str, Any], attempt: int, pipe: Pipeline | None = None,
                first: bool = False) -> None:
        # a token runs whichever job is fairly next: RQ's timeout is the gateway's longest
        queueing.enqueue(self.queue, self.dispatch, record["tenant"], record["id"], attempt,
                         self.config.JOB_TIME_LIMIT_SECONDS, pipeline=pipe, first=first,
                         session_id=record.get("session_id"))

    def withdraw(self, record: dict[str, Any]) -> None:
        queueing.remove(self.queue, self.dispatch, record["tenant"], record["id"],
                        int(record.get("rq_attempt", 1)))

    # -- sessions: the gateway's own (the reservations of `core/store/dispatch.py`) ------------
    def open_session(self, backend: str, mode: str, max_ttl: int) -> str | None:
        return None

    def end_session(self, upstream_id: str, how: str) -> None:
        """No upstream session."""

    def session_details(self, upstream_id: str) -> dict[str, Any]:
        return {}

    # -- while the job is not final -------------------------------------------------------------
    def cancel(self, record: dict[str, Any]) -> None:
        """Nothing to do here: a running job's worker sees it cancelled and kills its run."""

    def update_tags(self, record: dict[str, Any], tags: list[str]) -> None:
        """Tags live in the gateway's record only."""

    def live_metrics(self, record: dict[str, Any]) -> dict[str, Any] | None:
        return None

    def queue_info(self, record: dict[str, Any]) -> dict[str, Any]:
        """Position in the tenant-fair queue (1 = next), why the job waits, and when it starts
        and ends, from the estimates of the jobs running and ahead (`core/estimates.py`)."""
        status = JobStatus(record["status"])
        if status.final:
            return _info(None, record.get("running"), record.get("finished"))
        now, pace = time.time(), self.stats.recent_pace()
        if status == JobStatus.RUNNING:
            return _info(None, record.get("running"), _at(now + self._left(record, now, pace)))
        return self._waiting(record, now, pace)

    def _waiting(self, record: dict[str, Any], now: float, pace: float) -> dict[str, Any]:
        tenant, job_id = record["tenant"], record["id"]
        position = self.dispatch.position(tenant, job_id)
        standing = self.dispatch.standing(tenant, job_id, MOST_AHEAD)
        mine = [running_id for running_id in standing.running if running_id != job_id]
        workers = queueing.workers_alive(self.queue)
        cap = self._cap(standing, workers)
        reason, detail = self._reason(workers, len(mine), cap, standing, position)
        if workers == 0:
            return _info(position, None, None, reason, detail)
        others = max(0, (position or 1) - 1 - standing.waiting_ahead)
        start = now + self._wait(standing, mine, others, (workers, cap), now, pace)
        return _info(position, _at(start), _at(start + self._run_time(record, pace)), reason,
                     detail)

    def _wait(self, standing: Standing, mine: list[str], others: int, slots: tuple[int, int],
              now: float, pace: float) -> float:
        """Seconds until the job starts: when a worker is free after the jobs before it, and
        its tenant below its cap after its own jobs before it. Their run times are their
        estimates; other tenants' jobs ahead (`others`) count at the recent pace."""
        running = sorted(self.leases.running_ids())
        ids = [*running, *mine, *standing.ahead]
        jobs = dict(zip(ids, self.store.fields(ids, "running", "usage_estimation", "options"),
                        strict=True))

        def busy(job_ids: list[str]) -> list[float]:
            return [self._left(jobs[i], now, pace) if i in running else _estimate(jobs[i], pace)
                    for i in job_ids]

        own = [_estimate(jobs[i], pace) for i in standing.ahead]
        own += [pace] * (standing.waiting_ahead - len(standing.ahead))
        workers, cap = slots
        return max(first_free(busy(running), workers, own + [pace] * others),
                   first_free(busy(mine), cap, own))

    def _cap(self, standing: Standing, workers: int) -> int:
        """The tenant's running cap, as `lua/dispatch.lua` reads it."""
        if standing.max_running is not None:
            return standing.max_running
        return self.config.TENANT_MAX_RUNNING or max(1, workers - 1)

    def _reason(self, workers: int, running: int, cap: int, standing: Standing,
                position: int | None) -> tuple[str, str]:
        """Why a waiting job does not run yet: a word, and the same in a sentence."""
        if workers == 0:
            return "no_worker", "No worker is running: the job starts once one is."
        if running >= cap:
            whose = ("your own limit" if standing.max_running is not None
                     else "GATEWAY_TENANT_MAX_RUNNING" if self.config.TENANT_MAX_RUNNING
                     else "by default the live workers less one")
            return "tenant_running_cap", (
                f"{running} of your jobs {'is' if running == 1 else 'are'} running, as many as "
                f"max_running ({cap}, {whose}) allows: this one starts when one of them ends.")
        ahead = (position or 1) - 1
        return "waiting_for_worker", (
            f"It waits for a free worker: {ahead} {'job goes' if ahead == 1 else 'jobs go'} "
            f"before it, on {workers} {'worker' if workers == 1 else 'workers'}.")

    def _left(self, job: dict[str, Any], now: float, pace: float) -> float:
        started = iso_to_micros(job["running"]) / 1e6 if job.get("running") else now
        limit = job_time_limit(job.get("options") or {}, self.config.JOB_TIME_LIMIT_SECONDS)
        return remaining_seconds(_estimate(job, pace), now - started, limit)

    def _run_time(self, job: dict[str, Any], pace: float) -> float:
        limit = job_time_limit(job.get("options") or {}, self.config.JOB_TIME_LIMIT_SECONDS)
        return min(_estimate(job, pace), limit)

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


def _estimate(job: dict[str, Any], pace: float) -> float:
    """The job's own estimate; the recent pace for a job that has none."""
    found = (job.get("usage_estimation") or {}).get("quantum_seconds")
    return pace if found is None else float(found)


def _at(moment: float) -> str:
    return rfc3339(datetime.fromtimestamp(moment, UTC))


def _info(position: int | None, start: str | None, end: str | None, reason: str | None = None,
          detail: str | None = None) -> dict[str, Any]:
    return {"position": position, "estimated_start_time": start,
            "estimated_completion_time": end, "reason": reason, "detail": detail}
