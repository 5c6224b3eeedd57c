"""IBM's /sessions on the gateway's own sessions (`app/services/sessions.py`): `Session` and
`Batch` of the client open a gateway session (mode `dedicated` or `batch`), its jobs join it
with their `session_id`, and closing or cancelling it is the gateway's close and cancel."""

from __future__ import annotations

from typing import Any

from marshmallow import ValidationError

from app.errors import flatten
from app.gateway import Gateway
from app.schemas_sessions import SessionCreateSchema
from app.services import sessions as service
from core.errors import InvalidJobInput, InvalidSessionState

CREATE = SessionCreateSchema()


def create(gw: Gateway, tenant: str, body: Any) -> dict[str, Any]:
    """POST /sessions: {mode, backend, max_ttl, instance} as the client sends them."""
    if not isinstance(body, dict):
        raise InvalidJobInput("the body must be an object with backend and mode",
                              errors={"_schema": ["not an object"]})
    payload = {"backend": body.get("backend"), "mode": body.get("mode") or "dedicated"}
    if body.get("max_ttl") is not None:
        payload["max_ttl"] = body["max_ttl"]
    try:
        payload = CREATE.load(payload)
    except ValidationError as exc:
        raise InvalidJobInput(f"the session cannot open: {flatten(exc.messages)}",
                              errors=flatten(exc.messages)) from None
    return view(service.create(gw, tenant, payload))


def get(gw: Gateway, tenant: str, session_id: str) -> dict[str, Any]:
    return view(service.get(gw, tenant, session_id))


def close(gw: Gateway, tenant: str, session_id: str, body: Any) -> None:
    """PATCH /sessions/{id} {"accepting_jobs": false}: IBM's close (its jobs finish); a session
    closed before stays closed (IBM answers the PATCH again)."""
    if not isinstance(body, dict) or body.get("accepting_jobs") is not False:
        raise InvalidJobInput("only {\"accepting_jobs\": false} (close) is supported",
                              errors={"accepting_jobs": ["must be false"]})
    try:
        service.close(gw, tenant, session_id)
    except InvalidSessionState:
        service.get(gw, tenant, session_id)  # still the tenant's: closed already is done


def cancel(gw: Gateway, tenant: str, session_id: str) -> None:
    """DELETE /sessions/{id}/close: IBM's cancel (its queued and running jobs are cancelled)."""
    try:
        service.cancel(gw, tenant, session_id)
    except InvalidSessionState:
        service.get(gw, tenant, session_id)


def view(document: dict[str, Any]) -> dict[str, Any]:
    """The gateway's session document in IBM's shape (what `Session.details()` reads)."""
    return {
        "id": document["id"], "backend_name": document["backend"], "mode": document["mode"],
        "state": document["state"], "accepting_jobs": document["accepting_jobs"],
        "max_ttl": document["max_ttl"], "interactive_ttl": document.get("interactive_ttl"),
        "active_ttl": document.get("active_ttl"), "started_at": document.get("started_at"),
        "activated_at": document.get("activated_at"), "closed_at": document.get("closed_at"),
        "elapsed_time": document.get("elapsed_time"), "last_job_started": None,
        "last_job_completed": None, "timestamps": [],
    }
