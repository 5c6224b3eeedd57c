"""A job's life: each change of its status is one named transition here, which does all that
change owes. Nothing else moves a job (the store's `transition` is called from here only).

    transition      from -> to                       called by
    queue           (new) -> QUEUED (or RUNNING)     submit and import (app/services)
    start           QUEUED -> RUNNING                the local run (workers/run.py), IBM's follow
    finish          not final -> DONE                the local run, IBM's follow
    fail            not final -> ERROR               the local run, IBM's steps, requeue
    cancel          not final -> CANCELLED           cancel and delete (app/services)
    cancelled       not final -> CANCELLED           IBM's follow (cancelled upstream)
    requeue         RUNNING -> QUEUED                a stopped worker, a killed simulation, the
                                                     sweeper (a worker lost)
    reline          not final, lined up again        the sweeper (a job nothing would move on)
    delete          any -> gone                      delete (app/services)

Each owns its bookkeeping: the record's fields (attempts, rq_attempt, timestamps, metrics), log
lines and events, the lease, the stats, the webhook events (`lua/transition.lua` writes those
with the status, in one atomic call; `queue` in the new job's transaction), the job's line
(what runs it next is its provider's, `core/providers`) and the process's Prometheus figures of
jobs starting and ending (`core/metrics.py`).
"""

from __future__ import annotations

import contextlib
import zlib
from typing import TYPE_CHECKING, Any

from core.clock import log_stamp
from core.errors import InvalidJobState
from core.metrics import job_changed
from core.states import JobStatus
from core.store.records import compress
from core.webhooks.events import job_entry, job_event, new_event_id

if TYPE_CHECKING:
    from redis.client import Pipeline

    from core.config import Config
    from core.providers import Providers
    from core.store.jobs import Appends, JobStore, Transition
    from core.store.leases import Leases
    from core.store.outbox import Outbox
    from core.store.quotas import Quotas

LARGE_RESULT_BYTES = 64 * 1024  # larger results are linked from the `result` event, not inlined


class Transitions:
    def __init__(self, config: Config, store: JobStore, leases: Leases, quotas: Quotas,
                 providers: Providers, outbox: Outbox) -> None:
        self.config, self.store, self.leases = config, store, leases
        self.quotas, self.providers, self.outbox = quotas, providers, outbox

    def queue(self, record: dict[str, Any], inputs: dict[str, Any] | bytes,
              stored: int = 0, subscribed: list[str] | None = None) -> dict[str, Any]:
        """A new job, stored, indexed, lined up with its provider and its webhook event posted,
        in one transaction; `stored`: the bytes its inputs add to the tenant's stored quota;
        `subscribed`: the tenant's endpoints for its event, if the caller read them already."""
        provider = self.providers.of(record)
        event_type = job_event(record["status"])
        if event_type and subscribed is None:
            subscribed = self.outbox.subscribed(record["tenant"], event_type)

        def line_up(pipe: Pipeline, stored_record: dict[str, Any]) -> None:
            provider.line_up(record, 1, pipe)
            if stored:
                self.quotas.add_stored(record["tenant"], stored, pipe)
            if event_type and (subscribed or record.get("callback_url")):
                entry = job_entry(new_event_id(), event_type, stored_record,
                                  stored_record["created"], subscribed or [])
                if entry["endpoints"] or entry["callback"]:
                    self.outbox.post(entry, pipe)

        return self.store.create(record, inputs, line_up)

    def start(self, job: dict[str, Any], logs: Appends = (),
              fields: dict[str, Any] | None = None,
              lease: tuple[str, float] | None = None) -> Transition:
        """RUNNING, with its first log lines; with `lease` (worker, seconds), the worker holds
        the job's lease before anyone can see it RUNNING. (`job`: its record, or at least its
        `id` and `tenant`, for every transition.)"""
        change = self._change(job["id"], job["tenant"], JobStatus.RUNNING, fields,
                              appends=logs, lease=lease)
        job_changed(job, JobStatus.RUNNING, change)
        return change

    def finish(self, job: dict[str, Any], result: dict[str, Any], runtime: str,
               metrics: dict[str, Any], note: str, appends: Appends = (),
               ran_for: float | None = None, samples: list[dict[str, Any]] | None = None,
               ) -> Transition:
        """DONE with its result (linked from the event when large), the packed `samples` of a
        sampler, `appends` and a last log line `note`, in one atomic change."""
        job_id = job["id"]
        blob = compress(result)
        blobs = {":result": blob, ":runtime": zlib.compress(runtime.encode(), 6)}
        if samples and any(samples):
            # at zlib's fastest: they are read rarely, and they are the job's biggest blob
            blobs[":samples"] = compress(samples, 1)
        event = result if len(blob) <= LARGE_RESULT_BYTES else {
            "href": f"/v1/jobs/{job_id}/result", "bytes": len(blob)}
        appends = [*appends, ("log", f"{log_stamp()} INFO {note}")]
        change = self._change(job_id, job["tenant"], JobStatus.DONE,
                                       fields={"metrics": metrics}, blobs=blobs,
                                       event=("result", event), appends=appends, ran_for=ran_for)
        job_changed(job, JobStatus.DONE, change, ran_for)
        self._append_anyway(job_id, change, appends)
        return change

    def fail(self, job: dict[str, Any], message: str, appends: Appends = (),
             ran_for: float | None = None, metrics: dict[str, Any] | None = None) -> Transition:
        """ERROR with `message` (also its last log line and its `error` event)."""
        appends = [*appends, ("log", f"{log_stamp()} ERROR {message}")]
        fields: dict[str, Any] = {"error_message": message}
        if metrics is not None:
            fields["metrics"] = metrics
        change = self._change(job["id"], job["tenant"], JobStatus.ERROR, fields=fields,
                                       event=("error", {"message": message}), appends=appends,
                                       ran_for=ran_for)
        job_changed(job, JobStatus.ERROR, change, ran_for)
        self._append_anyway(job["id"], change, appends)
        return change

    def cancel(self, record: dict[str, Any]) -> Transition:
        """A client cancels a job that is not final: where it runs first (if that refuses, the
        job is not cancelled), then here; a waiting job leaves its line, a running one's worker
        sees it and kills its run. InvalidJobState when it is final already."""
        provider = self.providers.of(record)
        if not JobStatus(record["status"]).final:
            provider.cancel(record)
        change = self._change(record["id"], record["tenant"], JobStatus.CANCELLED)
        if not change.ok:
            raise InvalidJobState(f"The job is {change.previous or 'gone'}; only a job that is "
                                  "not final can be cancelled.", job_status=change.previous or None)
        job_changed(record, JobStatus.CANCELLED, change)
        if change.previous in (JobStatus.QUEUED, JobStatus.INITIALIZING):
            provider.withdraw(record)
        return change

    def cancelled(self, job: dict[str, Any], metrics: dict[str, Any],
                  appends: Appends) -> Transition:
        """CANCELLED where it ran (not by this gateway's cancel): what it left, then the status."""
        change = self._change(job["id"], job["tenant"], JobStatus.CANCELLED,
                              fields={"metrics": metrics}, appends=appends)
        job_changed(job, JobStatus.CANCELLED, change)
        return change

    def requeue(self, job_id: str, why: str, counted: bool) -> bool:
        """A RUNNING job its worker cannot finish goes back to QUEUED, first in its tenant's
        line, with a log line saying `why`. `counted`: the run was an attempt (its worker failed
        it, or was lost); out of attempts (GATEWAY_JOB_MAX_ATTEMPTS) it fails instead. Not
        counted (a worker stopping), the attempt `start` added is taken back. True when this
        call moved the job."""
        record = self.store.get(job_id)
        if record is None or record["status"] != JobStatus.RUNNING:
            return False
        attempts, most = record["attempts"], self.config.JOB_MAX_ATTEMPTS
        if counted and attempts >= most:
            return self.fail(record, f"{why} (attempt {attempts} of {most}, "
                                     "GATEWAY_JOB_MAX_ATTEMPTS); not retried").ok
        rq_attempt = max(attempts, int(record.get("rq_attempt", 1))) + 1
        fields = {"rq_attempt": rq_attempt} if counted else {
            "attempts": max(0, attempts - 1), "rq_attempt": rq_attempt}
        said = f"attempt {attempts} of {most}" if counted else "not counted as an attempt"
        change = self._change(
            job_id, record["tenant"], JobStatus.QUEUED, fields,
            appends=[("log", f"{log_stamp()} WARNING {why}; the job is queued again ({said})")])
        if not change.ok:
            return False
        self.leases.release(job_id)  # before it is lined up: the next lease is another's
        self.providers.of(record).line_up(record, rq_attempt, first=True)
        return True

    def reline(self, job_id: str, why: str) -> bool:
        """A job that nothing will move on (a local job's place in line was lost, an IBM job's
        chain of steps) is lined up again with its provider, first, with a log line saying
        `why`; its status stays. True when this call lined it up."""
        record = self.store.get(job_id)
        if record is None or JobStatus(record["status"]).final:
            return False
        rq_attempt = max(record["attempts"], int(record.get("rq_attempt", 1))) + 1
        if not self.store.annotate(job_id, {"rq_attempt": rq_attempt}):
            return False  # deleted meanwhile
        self.store.add_log(job_id, f"{log_stamp()} WARNING {why}; it is queued again")
        self.providers.of(record).line_up(record, rq_attempt, first=True)
        return True

    def delete(self, record: dict[str, Any]) -> None:
        """Cancelled first if not final, then every key of the job gone."""
        if not JobStatus(record["status"]).final:
            with contextlib.suppress(InvalidJobState):  # final meanwhile: delete it anyway
                self.cancel(record)
        self.store.delete(record["id"])
        self.quotas.forget_stored(record["tenant"])

    def _change(self, job_id: str, tenant: str, to: JobStatus,
                fields: dict[str, Any] | None = None, **kwargs: Any) -> Transition:
        """The store's one atomic change, with the webhook event it owes."""
        event_type = job_event(to)
        notice = (event_type, new_event_id()) if event_type else None
        return self.store.transition(job_id, tenant, to, fields, notice=notice, **kwargs)

    def _append_anyway(self, job_id: str, change: Transition, appends: Appends) -> None:
        """What went with a refused change (the job was made final meanwhile): keep it still."""
        if not change.ok and change.previous:
            self.store.append(job_id, appends)
