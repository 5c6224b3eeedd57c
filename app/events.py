"""/v1/jobs/{id}/events and /v1/events: live events as server-sent events, and browser tokens."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import Response, g, request

from app.api import GatewayBlueprint, problems
from app.auth import auth_required, authenticate, bearer_key
from app.gateway import gateway
from app.schemas import EventStreamArgsSchema, LastEventIdSchema, StreamTokenSchema
from app.schemas_results import JobEventSchema, TenantEventSchema
from app.services import streams as sse
from app.streaming.events import START
from core.errors import Unauthorized
from core.store.api_keys import digest
from core.store.stream_tokens import TENANT_SCOPE, job_scope

events = GatewayBlueprint("events", __name__, url_prefix="/v1",
                          description="Live events (server-sent events)")
STREAM_SECURITY: list[dict[str, list[str]]] = [{"bearerAuth": []}, {"streamToken": []}]
NO_STORE = {"Cache-Control": "no-store"}  # a token response is a credential
STREAM_DOC = (
    "`text/event-stream`. Each event has an `id:` (resume with `Last-Event-ID`), an `event:` "
    "(its kind) and a JSON `data:`. Comments (`: heartbeat`) come at least every "
    "GATEWAY_SSE_HEARTBEAT_SECONDS; `retry:` is sent first. 503 (with `Retry-After`) when the "
    "API process holds all the streams it has room for: try again.")
JOB_KINDS = ("Kinds: `status` {status, at}; `log` {line}; `interim` {pub_index, result}, one per "
             "finished PUB; `result` (the result, or {href, bytes} when large); `error` {message}. "
             "Replays from the start (or after Last-Event-ID), then live; ends after the status "
             "event of a final status.")
TENANT_KINDS = ("Kind `status` {job_id, status, at} for every status change of the tenant's "
                "jobs, and `session` {session_id, state, mode, backend, at, reason?} for its "
                "sessions' (open, active, closed); replays what is kept (the newest ~10,000), "
                "then live; does not end.")


def stream_auth(scope_of: Callable[[dict[str, Any]], str]) -> Callable[..., Any]:
    """Bearer key, or `?token=` issued for this very stream. Sets g.tenant and g.key_digest (the
    key's, or the token's minting key's: revoking it ends the stream)."""

    def decorate(view: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            token = request.args.get("token")
            if token is None:
                g.tenant = authenticate()
                g.key_digest = digest(bearer_key() or "")
            else:  # a token only opens a stream; reconnecting needs a live one
                grant = gateway().tokens.grant_for(token, scope_of(kwargs))
                if grant is None:
                    raise Unauthorized("The stream token is unknown, expired, or for another "
                                       "stream; ask for a new one.")
                g.tenant, g.key_digest = grant
            return view(*args, **kwargs)

        return wrapper

    return decorate


def resume_point(token: str | None = None, last_event_id: str | None = None,
                 last_event_id_header: str | None = None) -> str:
    """Where to resume: EventSource's reconnect header wins over the query parameter."""
    return last_event_id_header or last_event_id or START


@events.get("/jobs/<job_id>/events")
@events.doc(security=STREAM_SECURITY, description=f"{STREAM_DOC} {JOB_KINDS}",
            operationId="streamJobEvents")
@stream_auth(lambda view_args: job_scope(view_args["job_id"]))
@events.arguments(EventStreamArgsSchema, location="query", as_kwargs=True)
@events.arguments(LastEventIdSchema, location="headers", as_kwargs=True)
@events.response(200, JobEventSchema, content_type="text/event-stream",
                 description="The job's events, replayed then live")
@events.alt_response(204, description="The job is final and Last-Event-ID is its last event: "
                                      "nothing more will come (EventSource stops reconnecting)")
@problems(events, 401, 404, 503)
def job_events(job_id: str, **resume: str | None) -> Any:
    """Stream a job's events (stream_results())"""
    gw = gateway()
    stream = sse.job_stream(gw, gw.hub, g.tenant, job_id, resume_point(**resume))
    if stream is None:
        return Response(status=204)
    return sse.response(gw, stream, g.tenant, g.key_digest, job_id)


@events.post("/jobs/<job_id>/events/token")
@auth_required
@events.doc(operationId="createJobEventsToken")
@events.response(201, StreamTokenSchema, description="A token for `?token=` on this job's events")
@problems(events, 401, 404)
def job_events_token(job_id: str) -> Any:
    """A short-lived token that opens this job's event stream (for browsers' EventSource)"""
    gateway().store.owned(g.tenant, job_id)
    return gateway().tokens.issue(g.tenant, job_scope(job_id), minting_key()), 201, NO_STORE


@events.get("/events")
@events.doc(security=STREAM_SECURITY, description=f"{STREAM_DOC} {TENANT_KINDS}",
            operationId="streamEvents")
@stream_auth(lambda _view_args: TENANT_SCOPE)
@events.arguments(EventStreamArgsSchema, location="query", as_kwargs=True)
@events.arguments(LastEventIdSchema, location="headers", as_kwargs=True)
@events.response(200, TenantEventSchema, content_type="text/event-stream",
                 description="Status changes of all the tenant's jobs, replayed then live")
@problems(events, 401, 503)
def tenant_events(**resume: str | None) -> Any:
    """Stream the status changes of all the tenant's jobs (for dashboards)"""
    gw = gateway()
    return sse.response(gw, sse.tenant_stream(gw, gw.hub, g.tenant, resume_point(**resume)),
                        g.tenant, g.key_digest)


@events.post("/events/token")
@auth_required
@events.doc(operationId="createEventsToken")
@events.response(201, StreamTokenSchema, description="A token for `?token=` on /v1/events")
@problems(events, 401, 503)
def tenant_events_token() -> Any:
    """A short-lived token that opens the tenant's event stream (for browsers' EventSource)"""
    return gateway().tokens.issue(g.tenant, TENANT_SCOPE, minting_key()), 201, NO_STORE


def minting_key() -> str:
    """The digest of the key that authenticated this request (recorded in the tokens it mints)."""
    return digest(bearer_key() or "")
