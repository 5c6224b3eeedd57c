"""The schemas of /v1/sessions (openapi.yaml is made from them): IBM's session fields."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from app.fields import Integer, String
from app.schemas import PageArgsSchema, StrictSchema
from core.sessions import MODES, STATES

POSITIVE = validate.Range(min=1)


class SessionCreateSchema(StrictSchema):
    error_messages = {"type": 'must be an object with `backend` and `mode`, e.g. '
                              '{"backend": "fake_manila", "mode": "dedicated"}'}

    backend = String(required=True, validate=validate.Length(min=1, max=128))
    mode = String(required=True, validate=validate.OneOf(MODES), metadata={
        "description": "`dedicated`: a worker is kept for its jobs while it is active; "
                       "`batch`: its jobs run side by side up to the tenant's running cap"})
    max_ttl = Integer(validate=POSITIVE, metadata={
        "description": "seconds until it ends, from its creation; at most (and by default) "
                       "GATEWAY_SESSION_MAX_TTL_SECONDS"})
    interactive_ttl = Integer(validate=POSITIVE, metadata={
        "description": "seconds a dedicated session keeps its worker after its last job; at "
                       "most max_ttl (default GATEWAY_SESSION_INTERACTIVE_TTL_SECONDS)"})


class SessionJobsSchema(Schema):
    class Meta:
        ordered = True

    QUEUED = fields.Integer(required=True)
    INITIALIZING = fields.Integer(required=True)
    RUNNING = fields.Integer(required=True)
    DONE = fields.Integer(required=True)
    ERROR = fields.Integer(required=True)
    CANCELLED = fields.Integer(required=True)


def _moment(description: str = "") -> fields.String:
    return fields.String(allow_none=True, required=True, metadata={
        "format": "date-time", **({"description": description} if description else {})})


class SessionSchema(Schema):
    id = fields.String(required=True)
    backend = fields.String(required=True)
    mode = fields.String(required=True, validate=validate.OneOf(MODES))
    state = fields.String(required=True, validate=validate.OneOf(STATES), metadata={
        "description": "`open` (no job yet), `active` (a job queued or running, or its worker "
                       "kept), `inactive` (between jobs), `closed` (takes no new jobs)"})
    accepting_jobs = fields.Boolean(required=True)
    max_ttl = fields.Integer(required=True)
    interactive_ttl = fields.Integer(required=True)
    active_ttl = fields.Integer(allow_none=True, required=True, metadata={
        "description": "seconds its worker stays kept without a new job (null: none kept)"})
    created = _moment()
    started_at = _moment()
    activated_at = _moment("when a job last made it active")
    closed_at = _moment()
    last_job_started = _moment()
    last_job_completed = _moment()
    elapsed_time = fields.Float(required=True, metadata={
        "description": "seconds from its start to its end, or to now"})
    jobs = fields.Nested(SessionJobsSchema, required=True,
                         metadata={"description": "its jobs, counted by status"})


class SessionListArgsSchema(PageArgsSchema):
    state = String(validate=validate.OneOf(STATES))
    backend = String(validate=validate.Length(min=1, max=128))
    mode = String(validate=validate.OneOf(MODES))


class SessionListSchema(Schema):
    sessions = fields.List(fields.Nested(SessionSchema), required=True)
    next_cursor = fields.String(allow_none=True, required=True)
