"""Domain exceptions, raised deep down and mapped once to problem+json by `app/errors.py`."""

from __future__ import annotations

from typing import Any


class GatewayError(Exception):
    """Base class: `status` is the HTTP status to answer with, `kind` the problem type."""

    status = 400
    kind = "bad-request"
    title = "Bad request"

    def __init__(self, detail: str = "", **extra: Any) -> None:
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        self.extra = extra


class JobNotFound(GatewayError):
    status, kind, title = 404, "job-not-found", "Job not found"


class BackendNotFound(GatewayError):
    status, kind, title = 404, "backend-not-found", "Backend not found"


class JobNotFinished(GatewayError):
    status, kind, title = 409, "job-not-finished", "Job not finished"


class JobFailed(GatewayError):
    status, kind, title = 409, "job-failed", "Job failed"


class JobCancelled(GatewayError):
    status, kind, title = 409, "job-cancelled", "Job cancelled"


class InvalidJobState(GatewayError):
    status, kind, title = 409, "invalid-state", "Invalid job state for this operation"


class IdempotencyConflict(GatewayError):
    status, kind, title = 409, "idempotency-conflict", "Idempotency key reused with another body"


class InvalidJobInput(GatewayError):
    """A submission that cannot run; `errors` maps field paths to messages."""

    status, kind, title = 422, "invalid-input", "Invalid job input"


class Unauthorized(GatewayError):
    status, kind, title = 401, "unauthorized", "Missing or invalid credentials"


class ServiceUnavailable(GatewayError):
    status, kind, title = 503, "unavailable", "Service unavailable"


class InvalidEventId(GatewayError):
    """A well-formed Last-Event-ID this stream never issued (it is ahead of the stream)."""

    status, kind, title = 422, "invalid-input", "Invalid event id"


class LimitExceeded(InvalidJobInput):
    """A submission over one of the gateway's limits; `extra` names the limit, the value, the
    maximum and the setting that sets it."""

    kind, title = "limit-exceeded", "Over a limit of the gateway"

    @classmethod
    def of(cls, field: str, message: str, limit: str, value: Any, maximum: Any,
           setting: str) -> LimitExceeded:
        """`field: message; at most maximum (setting)`, with the numbers as members."""
        text = message if setting in message else f"{message}; at most {maximum} ({setting})"
        return cls(f"{field}: {text}", errors={field: [text]}, limit=limit, value=value,
                   maximum=maximum, setting=setting)
