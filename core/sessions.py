"""Sessions and batches, with IBM Quantum's meaning: the rules both sides share.

A session belongs to one tenant and one backend. `dedicated`: while active, one local worker is
reserved for it (`core/store/sessions.py`, `lua/dispatch.lua`): its next job starts as soon as it
arrives, ahead of every line, and the reservation lapses `interactive_ttl` after its last job
ended. `batch`: its jobs wait in their tenant's line in submission order and run side by side up
to the tenant's running cap. Either ends at `max_ttl` after its creation (then, as on IBM, its
running jobs finish and its queued ones are cancelled), when closed (no new jobs; queued and
running ones finish) or cancelled (its queued and running jobs are cancelled too).

States (IBM's): `open` (no job yet), `active` (a job queued or running, or its reservation
held), `inactive` (between jobs, no reservation), `closed` (takes no new jobs).
"""

from __future__ import annotations

import contextlib
import secrets
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from core.clock import iso_to_micros, now_iso, rfc3339
from core.errors import InvalidJobInput, InvalidJobState, InvalidSessionState, SessionNotFound
from core.states import JobStatus

if TYPE_CHECKING:
    from core.config import Config
    from core.store.jobs import JobStore
    from core.store.sessions import SessionStore
    from core.transitions import Transitions

MODES = ("dedicated", "batch")
STATES = ("open", "active", "inactive", "closed")
WAITING = (JobStatus.QUEUED, JobStatus.INITIALIZING, JobStatus.RUNNING)


def new_session_id() -> str:
    return secrets.token_hex(16)


def new_record(tenant: str, backend: str, mode: str, max_ttl: int, interactive_ttl: int,
               ) -> dict[str, Any]:
    """A session as stored: it starts now and ends `max_ttl` seconds later at the latest."""
    now = time.time()
    created = now_iso()
    return {"id": new_session_id(), "tenant": tenant, "backend": backend, "mode": mode,
            "max_ttl": max_ttl, "interactive_ttl": interactive_ttl, "created": created,
            "started_at": created, "ends": round(now + max_ttl, 3), "accepting_jobs": True,
            "ended": "", "closed_at": None, "activated_at": None, "upstream_id": None}


def owned(store: SessionStore, tenant: str, session_id: str) -> dict[str, Any]:
    """The tenant's session; SessionNotFound for an unknown one and another tenant's alike."""
    record = store.find(session_id)
    if record is None or record["tenant"] != tenant:
        raise SessionNotFound(f"No session {session_id!r} here; GET /v1/sessions lists yours.")
    return record


def check_accepts(record: dict[str, Any], backend: str) -> None:
    """A job may join this session: open, on the same backend."""
    if record.get("ended") or not record["accepting_jobs"] or time.time() >= record["ends"]:
        raise InvalidSessionState(
            f"The session {record['id']} is closed (it takes no new jobs); create another "
            "with POST /v1/sessions.", session_state="closed")
    if backend != record["backend"]:
        message = (f"the session {record['id']} is on {record['backend']}, not {backend}: "
                   "a session's jobs run on its backend")
        raise InvalidJobInput(f"session_id: {message}", errors={"session_id": [message]})


def job_summary(jobs: list[dict[str, Any]]) -> dict[str, Any]:
    """Counts by status, and when the last job started and ended."""
    counts = {status.value: 0 for status in JobStatus}
    for job in jobs:
        if job.get("status"):
            counts[job["status"]] = counts.get(job["status"], 0) + 1
    started = [job["running"] for job in jobs if job.get("running")]
    finished = [job["finished"] for job in jobs if job.get("finished")]
    return {"jobs": counts, "last_job_started": max(started, key=iso_to_micros, default=None),
            "last_job_completed": max(finished, key=iso_to_micros, default=None)}


def document(record: dict[str, Any], reservation: dict[str, Any] | None,
             jobs: list[dict[str, Any]]) -> dict[str, Any]:
    """GET /v1/sessions/{id}: IBM's fields, and the counts of its jobs by status."""
    now = time.time()
    summary = job_summary(jobs)
    closed = bool(record.get("ended")) or now >= record["ends"]
    busy = sum(summary["jobs"][status.value] for status in WAITING)
    held = reservation is not None and (reservation["busy"] or reservation["till"] > now)
    state = ("closed" if closed else "active" if busy or held
             else "inactive" if jobs else "open")
    active_ttl = None
    if held and not closed and reservation is not None:
        active_ttl = (record["interactive_ttl"] if reservation["busy"]
                      else max(0, round(reservation["till"] - now)))
    end = iso_to_micros(record["closed_at"]) / 1e6 if record.get("closed_at") else min(
        now, record["ends"])
    return {
        "id": record["id"], "backend": record["backend"], "mode": record["mode"],
        "state": state, "accepting_jobs": record["accepting_jobs"] and not closed,
        "max_ttl": record["max_ttl"], "interactive_ttl": record["interactive_ttl"],
        "active_ttl": active_ttl, "created": record["created"],
        "started_at": record["started_at"], "activated_at": record.get("activated_at"),
        "closed_at": record.get("closed_at") or (_iso(record["ends"]) if closed else None),
        "elapsed_time": max(0, round(end - iso_to_micros(record["started_at"]) / 1e6, 3)),
        **summary,
    }


def event(record: dict[str, Any], state: str) -> dict[str, Any]:
    """A state change on the tenant's event stream (`kind: session`)."""
    return {"session_id": record["id"], "state": state, "mode": record["mode"],
            "backend": record["backend"], "at": now_iso()}


def end(store: SessionStore, jobs: JobStore, transitions: Transitions,
        record: dict[str, Any], how: str) -> bool:
    """Close, cancel or expire a session; False when it had ended already. Cancelling also
    cancels its queued and running jobs; expiring (max_ttl) its queued ones, as IBM does."""
    ended_now = store.end(record, how, now_iso(), {**event(record, "closed"), "reason": how})
    if how != "closed":
        cancel_jobs(jobs, transitions, record, running_too=how == "cancelled")
    return ended_now


def cancel_jobs(jobs: JobStore, transitions: Transitions, record: dict[str, Any],
                running_too: bool) -> None:
    ids = session_job_ids(jobs, record)
    wanted = set(WAITING) if running_too else {JobStatus.QUEUED, JobStatus.INITIALIZING}
    for job_id, job in zip(ids, jobs.fields(ids, "status"), strict=True):
        if job.get("status") in wanted:
            found = jobs.get(job_id)
            if found is not None:
                with contextlib.suppress(InvalidJobState):  # it ended meanwhile
                    transitions.cancel(found)


def session_job_ids(jobs: JobStore, record: dict[str, Any]) -> list[str]:
    key = jobs.index_key(record["tenant"], "session_id", record["id"])
    return list(jobs.redis.zrange(key, 0, -1))  # type: ignore[arg-type]


def expire_due(store: SessionStore, jobs: JobStore, transitions: Transitions) -> int:
    """End every open session past its max_ttl (the workers' sweeper, now and then)."""
    ended = 0
    for record in store.many(store.past_end(time.time())):
        if record is not None and not record.get("ended"):
            ended += end(store, jobs, transitions, record, "expired")
    return ended


def defaults(config: Config, payload: dict[str, Any]) -> tuple[int, int]:
    """(max_ttl, interactive_ttl) of a new session: asked for, or the settings' defaults."""
    max_ttl = payload.get("max_ttl") or config.SESSION_MAX_TTL_SECONDS
    interactive = payload.get("interactive_ttl") or min(config.SESSION_INTERACTIVE_TTL_SECONDS,
                                                        max_ttl)
    return int(max_ttl), int(interactive)


def _iso(epoch: float) -> str:
    return rfc3339(datetime.fromtimestamp(epoch, UTC))
