"""/v1/sessions: sessions and batches, as on IBM Quantum (dedicated workers, batches of jobs)."""

from __future__ import annotations

from typing import Any

from flask import g
from flask.views import MethodView

from app.api import GatewayBlueprint, problems
from app.auth import auth_required
from app.gateway import gateway
from app.jobs import NEXT_LINK, next_page
from app.schemas_sessions import (
    SessionCreateSchema,
    SessionListArgsSchema,
    SessionListSchema,
    SessionSchema,
)
from app.services import sessions as service

sessions = GatewayBlueprint("sessions", __name__, url_prefix="/v1",
                            description="Sessions and batches: IBM Quantum's execution modes")
LOCATION = {"Location": {"schema": {"type": "string"}, "description": "the session's URL"}}
SESSION_EXAMPLES = {
    "dedicated": {"summary": "A dedicated session: a worker kept for a variational loop",
                  "value": {"backend": "fake_manila", "mode": "dedicated", "max_ttl": 3600,
                            "interactive_ttl": 60}},
    "batch": {"summary": "A batch: its jobs run side by side",
              "value": {"backend": "aer_simulator", "mode": "batch"}},
}


@sessions.route("/sessions")
class Sessions(MethodView):
    @auth_required
    @sessions.doc(operationId="createSession", description=(
        "Jobs join it with `session_id`. A dedicated session keeps a worker for its jobs while "
        "active (its next job starts at once, ahead of every line), until interactive_ttl "
        "passes without a job; it ends at max_ttl (queued jobs are then cancelled, as on IBM)."))
    @sessions.arguments(SessionCreateSchema, examples=SESSION_EXAMPLES)
    @sessions.response(201, SessionSchema, headers=LOCATION)
    @problems(sessions, 400, 401, 415)
    def post(self, payload: dict[str, Any]) -> Any:
        """Create a session or a batch (Session(backend), Batch(backend))"""
        created = service.create(gateway(), g.tenant, payload)
        return created, 201, {"Location": f"/v1/sessions/{created['id']}"}

    @auth_required
    @sessions.doc(operationId="listSessions")
    @sessions.arguments(SessionListArgsSchema, location="query", as_kwargs=True)
    @sessions.response(200, SessionListSchema, headers=NEXT_LINK)
    @problems(sessions, 401)
    def get(self, limit: int, cursor: str | None = None, **filters: Any) -> Any:
        """List the tenant's sessions, newest first"""
        found, next_cursor = service.listed(gateway(), g.tenant, filters, cursor, limit)
        links = {"Link": f'<{next_page(next_cursor)}>; rel="next"'} if next_cursor else {}
        return {"sessions": found, "next_cursor": next_cursor}, 200, links


@sessions.get("/sessions/<session_id>")
@auth_required
@sessions.doc(operationId="getSession")
@sessions.response(200, SessionSchema)
@problems(sessions, 401, 404)
def get_session(session_id: str) -> Any:
    """Read a session: IBM's fields and its jobs by status (Session.details())"""
    return service.get(gateway(), g.tenant, session_id)


@sessions.post("/sessions/<session_id>/close")
@auth_required
@sessions.doc(operationId="closeSession")
@sessions.response(200, SessionSchema)
@problems(sessions, 401, 404, 409)
def close(session_id: str) -> Any:
    """Close a session: no new jobs; its queued and running jobs finish (Session.close())"""
    return service.close(gateway(), g.tenant, session_id)


@sessions.post("/sessions/<session_id>/cancel")
@auth_required
@sessions.doc(operationId="cancelSession")
@sessions.response(200, SessionSchema)
@problems(sessions, 401, 404, 409)
def cancel(session_id: str) -> Any:
    """Cancel a session: no new jobs; its queued and running jobs are cancelled"""
    return service.cancel(gateway(), g.tenant, session_id)
