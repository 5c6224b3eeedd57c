"""What the session views do (and, later, IBM's /sessions routes of the facade): plain functions
taking the gateway, the tenant and the arguments, answering the session as GET shows it."""

from __future__ import annotations

import time
from typing import Any

from app.gateway import Gateway
from core import sessions as rules
from core.clock import iso_to_micros, now_iso
from core.errors import (
    BackendNotFound,
    InvalidJobInput,
    InvalidSessionState,
    LimitExceeded,
    QuotaExceeded,
)

SCAN_MOST = 1000  # sessions one listing page looks at before it answers short, with a cursor


def create(gw: Gateway, tenant: str, payload: dict[str, Any]) -> dict[str, Any]:
    """A new session on a backend; a dedicated one within the caps on those open at once."""
    backend = payload["backend"]
    try:
        gw.providers.find(backend)
    except BackendNotFound as exc:
        raise InvalidJobInput(exc.detail, errors={"backend": [exc.detail]}) from None
    max_ttl, interactive = _ttls(gw, payload)
    record = rules.new_record(tenant, backend, payload["mode"], max_ttl, interactive)
    provider, _ = gw.providers.find(backend)
    record["upstream_id"] = provider.open_session(backend, payload["mode"], max_ttl)
    caps = (gw.config.TENANT_MAX_DEDICATED_SESSIONS, gw.config.MAX_DEDICATED_SESSIONS)
    answer = gw.sessions.create(record, iso_to_micros(record["created"]), caps,
                                rules.event(record, "open"))
    if answer != "ok":
        if record["upstream_id"]:  # refused here: it must not stay open on IBM either
            provider.end_session(record["upstream_id"], "cancelled")
        _over_cap(answer, caps)
    return _document(gw, record)


def get(gw: Gateway, tenant: str, session_id: str) -> dict[str, Any]:
    return _document(gw, rules.owned(gw.sessions, tenant, session_id))


def listed(gw: Gateway, tenant: str, filters: dict[str, Any], cursor: str | None,
           limit: int) -> tuple[list[dict[str, Any]], str | None]:
    """A page of the tenant's sessions, newest first, filtered by state, backend and mode; and
    the next page's cursor (the creation time, µs, of the last one looked at)."""
    before = _cursor(cursor)
    found: list[dict[str, Any]] = []
    scanned = 0
    while len(found) < limit and scanned < SCAN_MOST:
        page = gw.sessions.page(tenant, before, limit)
        if not page:
            return found, None
        scanned += len(page)
        for (_, score), record in zip(page, gw.sessions.many([i for i, _ in page]), strict=True):
            before = score
            if record is not None and _matches(record, filters):
                document = _document(gw, record)
                if filters.get("state") in (None, document["state"]):
                    found.append(document)
                    if len(found) == limit:
                        break
    more = gw.sessions.page(tenant, before, 1)
    return found, (str(int(before)) if more else None)


def close(gw: Gateway, tenant: str, session_id: str) -> dict[str, Any]:
    """No new jobs; its queued and running jobs finish. Closing twice is 409."""
    record = rules.owned(gw.sessions, tenant, session_id)
    if not rules.end(gw.sessions, gw.store, gw.transitions, record, "closed"):
        raise InvalidSessionState(f"The session {session_id} is closed already.",
                                  session_state="closed")
    _end_upstream(gw, record, "closed")
    return get(gw, tenant, session_id)


def cancel(gw: Gateway, tenant: str, session_id: str) -> dict[str, Any]:
    """No new jobs; its queued and running jobs are cancelled (also after a close)."""
    record = rules.owned(gw.sessions, tenant, session_id)
    if record.get("ended") in ("cancelled", "expired"):
        raise InvalidSessionState(f"The session {session_id} has ended ({record['ended']}): "
                                  "it has no jobs left to cancel.", session_state="closed")
    if record.get("ended") == "closed":  # its jobs still run: cancel them now
        gw.sessions.annotate(session_id, {"ended": "cancelled"})
        rules.cancel_jobs(gw.store, gw.transitions, record, running_too=True)
    else:
        rules.end(gw.sessions, gw.store, gw.transitions, record, "cancelled")
    _end_upstream(gw, record, "cancelled")
    return get(gw, tenant, session_id)


def check_job(gw: Gateway, tenant: str, session_id: str, backend: str) -> dict[str, Any]:
    """A job may join this session (the tenant's own, open, on its backend); the session's
    first job makes it active (an event). The session's record."""
    record = rules.owned(gw.sessions, tenant, session_id)
    if record.get("ends", 0) <= time.time() and not record.get("ended"):
        rules.end(gw.sessions, gw.store, gw.transitions, record, "expired")
        record = rules.owned(gw.sessions, tenant, session_id)
    rules.check_accepts(record, backend)
    if not record.get("activated_at"):
        gw.sessions.annotate(session_id, {"activated_at": now_iso()})
        gw.sessions.note(tenant, rules.event(record, "active"))
    return record


def _document(gw: Gateway, record: dict[str, Any]) -> dict[str, Any]:
    if not record.get("ended") and record["ends"] <= time.time():  # max_ttl passed: it ends
        rules.end(gw.sessions, gw.store, gw.transitions, record, "expired")
        record = gw.sessions.find(record["id"]) or record
    ids = rules.session_job_ids(gw.store, record)
    jobs = gw.store.fields(ids, "status", "running", "finished")
    (reservation,) = gw.sessions.reservations([record["id"]])
    document = rules.document(record, reservation, jobs)
    if record.get("upstream_id"):  # one with an IBM session: its state and TTLs are IBM's
        provider, _ = gw.providers.find(record["backend"])
        document.update({name: value for name, value in
                         provider.session_details(record["upstream_id"]).items()
                         if value is not None})
    return document


def _end_upstream(gw: Gateway, record: dict[str, Any], how: str) -> None:
    if record.get("upstream_id"):
        provider, _ = gw.providers.find(record["backend"])
        provider.end_session(record["upstream_id"], how)


def _ttls(gw: Gateway, payload: dict[str, Any]) -> tuple[int, int]:
    most = gw.config.SESSION_MAX_TTL_SECONDS
    if payload.get("max_ttl", 0) > most:
        raise LimitExceeded.of("max_ttl", "too long", "session_max_ttl", payload["max_ttl"],
                               most, "GATEWAY_SESSION_MAX_TTL_SECONDS", "s")
    max_ttl, interactive = rules.defaults(gw.config, payload)
    if interactive > max_ttl:
        message = f"at most max_ttl ({max_ttl} s)"
        raise InvalidJobInput(f"interactive_ttl: {message}", errors={"interactive_ttl": [message]})
    return max_ttl, interactive


def _over_cap(which: str, caps: tuple[int, int]) -> None:
    tenant_cap, all_cap = caps
    if which == "tenant":
        raise QuotaExceeded(f"you have {tenant_cap} dedicated session(s) open, the most at once "
                            "(GATEWAY_TENANT_MAX_DEDICATED_SESSIONS): close one, or use a batch",
                            policy="dedicated_sessions", limit=tenant_cap, retry_after=60)
    raise QuotaExceeded(f"the gateway has {all_cap} dedicated sessions open, the most at once "
                        "(GATEWAY_MAX_DEDICATED_SESSIONS): try again later, or use a batch",
                        policy="dedicated_sessions_all", limit=all_cap, retry_after=60)


def _matches(record: dict[str, Any], filters: dict[str, Any]) -> bool:
    return all(filters.get(name) in (None, record[name]) for name in ("backend", "mode"))


def _cursor(cursor: str | None) -> float:
    if cursor is None:
        return float("inf")
    try:
        return float(int(cursor))
    except ValueError:
        raise InvalidJobInput("cursor: not a cursor this gateway gave",
                              errors={"cursor": ["not a cursor this gateway gave"]}) from None
