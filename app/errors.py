"""Every error the API answers is RFC 9457 problem+json; this module is where they are made."""

from __future__ import annotations

import logging
from typing import Any

import redis
from flask import Flask, Response, current_app, g, json, request
from werkzeug.exceptions import HTTPException, InternalServerError, RequestEntityTooLarge

from app.facade import errors as facade_errors
from core import errors, metrics
from core.errors import GatewayError
from core.store.connection import passing_refusal

PROBLEM_BASE = "https://quantum-gateway.dev/problems/"
PROBLEM_JSON = "application/problem+json"
log = logging.getLogger("gateway.api")

# every problem type (its URI is PROBLEM_BASE + the type) and its one title
TITLES = {
    "bad-request": "Bad request",
    "invalid-input": "Invalid input",
    "limit-exceeded": "Over a limit of the gateway",
    "unauthorized": "Missing or invalid credentials",
    "forbidden": "Forbidden",
    "not-found": "Not found",
    "job-not-found": "Job not found",
    "backend-not-found": "Backend not found",
    "ibm-not-configured": "No IBM Quantum account is configured",
    "method-not-allowed": "Method not allowed",
    "not-acceptable": "Not acceptable",
    "conflict": "Conflict",
    "job-not-finished": "Job not finished",
    "job-failed": "Job failed",
    "job-cancelled": "Job cancelled",
    "invalid-state": "Invalid state for this operation",
    "idempotency-conflict": "Idempotency key reused with another body",
    "uri-too-long": "URI too long",
    "unsupported-media-type": "Unsupported media type",
    "expectation-failed": "Expectation failed",
    "too-many-requests": "Too many requests",
    "request-header-fields-too-large": "Request header fields too large",
    "internal-error": "Internal error",
    "not-implemented": "Not implemented",
    "upstream-error": "IBM Quantum did not do it",
    "unavailable": "Service unavailable",
    "http-error": "HTTP error",
    "webhook-not-found": "Webhook endpoint not found",
    "session-not-found": "Session not found",
    "destination-refused": "The gateway does not call there",
    "webhooks-not-configured": "Webhooks are not configured on this gateway",
}

# problem types of plain HTTP errors, by status (any other status: http-error)
HTTP_KINDS = {
    400: "bad-request", 401: "unauthorized", 403: "forbidden", 404: "not-found",
    405: "method-not-allowed", 406: "not-acceptable", 409: "conflict", 413: "limit-exceeded",
    414: "uri-too-long", 415: "unsupported-media-type", 417: "expectation-failed",
    422: "invalid-input", 429: "too-many-requests", 431: "request-header-fields-too-large",
    500: "internal-error", 501: "not-implemented", 503: "unavailable",
}


class UnsupportedMediaType(GatewayError):
    """A body that is not JSON."""


class UriTooLong(GatewayError):
    pass


class BodyTooLarge(errors.LimitExceeded):
    """A body over GATEWAY_MAX_BODY_BYTES (werkzeug refuses it as it reads)."""


# every domain error, as HTTP: status and problem type
PROBLEMS: dict[type[GatewayError], tuple[int, str]] = {
    errors.MalformedJson: (400, "bad-request"),
    errors.InvalidJobInput: (422, "invalid-input"),
    errors.UnreadableProgram: (422, "invalid-input"),
    errors.InvalidEventId: (422, "invalid-input"),
    errors.LimitExceeded: (422, "limit-exceeded"),
    BodyTooLarge: (413, "limit-exceeded"),
    errors.Unauthorized: (401, "unauthorized"),
    errors.JobNotFound: (404, "job-not-found"),
    errors.BackendNotFound: (404, "backend-not-found"),
    errors.IbmNotConfigured: (404, "ibm-not-configured"),
    errors.JobNotFinished: (409, "job-not-finished"),
    errors.JobFailed: (409, "job-failed"),
    errors.JobCancelled: (409, "job-cancelled"),
    errors.InvalidJobState: (409, "invalid-state"),
    errors.IdempotencyConflict: (409, "idempotency-conflict"),
    errors.WebhookNotFound: (404, "webhook-not-found"),
    errors.SessionNotFound: (404, "session-not-found"),
    errors.InvalidSessionState: (409, "invalid-state"),
    errors.InvalidWebhook: (422, "invalid-input"),
    errors.DestinationRefused: (422, "destination-refused"),
    errors.WebhooksNotConfigured: (501, "webhooks-not-configured"),
    UriTooLong: (414, "uri-too-long"),
    UnsupportedMediaType: (415, "unsupported-media-type"),
    errors.QuotaExceeded: (429, "too-many-requests"),
    errors.UpstreamFailed: (502, "upstream-error"),
    errors.ParsersBusy: (503, "unavailable"),
    errors.StreamsFull: (503, "unavailable"),
    errors.BackendsNotRead: (503, "unavailable"),
}


def problem(status: int, kind: str, detail: str = "", **extra: Any) -> Response:
    """A problem+json response of type `kind`, compact JSON like every other answer (in IBM's
    shape under /ibm: the IBM-compatible facade's clients read that)."""
    title = TITLES[kind]
    if facade_errors.applies(request.path):
        return facade_errors.ibm_error(status, detail or title)
    body = {"type": PROBLEM_BASE + kind, "title": title, "status": status,
            "detail": detail or title, "instance": request.path,
            "request_id": g.get("request_id"), **extra}
    response = Response(json.dumps(body, separators=(",", ":")), status, mimetype=PROBLEM_JSON)
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="quantum-gateway"'
    return response


def flatten(messages: Any, prefix: str = "") -> dict[str, list[str]]:
    """webargs' nested {"json": {"pubs": {"0": {"shots": [...]}}}} -> {"pubs.0.shots": [...]};
    a nested object's own messages (marshmallow's `_schema`) go under the object's path."""
    if not isinstance(messages, dict):
        items = messages if isinstance(messages, list) else [messages]
        return {prefix or "_schema": [str(m) for m in items]}
    out: dict[str, list[str]] = {}
    for key, value in messages.items():
        top = not prefix and key in ("json", "query", "headers", "form")
        own = prefix and key == "_schema"
        path = prefix if top or own else (f"{prefix}.{key}" if prefix else str(key))
        for field, said in flatten(value, path).items():
            out.setdefault(field, []).extend(said)
    return out


def summary(errors: dict[str, list[str]], shown: int = 3) -> str:
    """The first messages, each after its field path (the whole body's as `body`)."""
    said = [f"{'body' if path == '_schema' else path}: {message}"
            for path, messages in errors.items() for message in messages]
    more = f"; and {len(said) - shown} more (see errors)" if len(said) > shown else ""
    return "; ".join(said[:shown]) + more


# what refuses input that cannot be read, and the reason counted (`count_refusal`)
UNREADABLE = {errors.UnreadableProgram: "program", errors.MalformedJson: "json",
              errors.ParsersBusy: "busy"}


def count_refusal(exc: GatewayError) -> None:
    """Refusals by kind (core/metrics.py): over a limit (by the limit's name), over a rate or
    a quota (by its policy), input that cannot be read (`parse`)."""
    if isinstance(exc, errors.QuotaExceeded):
        kind, reason = "rate_limit", str(exc.extra.get("policy", ""))
    elif isinstance(exc, errors.LimitExceeded):
        kind, reason = "limit", str(exc.extra.get("limit", ""))
    elif type(exc) in UNREADABLE:
        kind, reason = "parse", UNREADABLE[type(exc)]
    else:
        return
    metrics.refused(kind, reason, g.get("tenant"))


def handle_gateway_error(exc: GatewayError) -> Response:
    status, kind = PROBLEMS[type(exc)]
    count_refusal(exc)
    if isinstance(exc, errors.QuotaExceeded):  # the numbers go in the RateLimit headers
        response = problem(status, kind, exc.detail, limit=exc.extra["policy"],
                           maximum=exc.extra["limit"])
        rate_limit_headers(response, **exc.extra)
    else:
        response = problem(status, kind, exc.detail, **exc.extra)
    if status == 503:
        response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def rate_limit_headers(response: Response, policy: str, limit: int, retry_after: int,
                       window: int | None = None, remaining: int = 0) -> None:
    """Retry-After and the IETF RateLimit-Policy / RateLimit fields (draft-ietf-httpapi-
    ratelimit-headers): quota `q` per window `w`, `r` left, `t` seconds until it refills."""
    response.headers["Retry-After"] = str(retry_after)
    window_part = f";w={window}" if window else ""
    response.headers["RateLimit-Policy"] = f'"{policy}";q={limit}{window_part}'
    response.headers["RateLimit"] = f'"{policy}";r={remaining};t={retry_after}'


def handle_http_exception(exc: HTTPException) -> Response:
    if isinstance(exc, RequestEntityTooLarge):
        return handle_gateway_error(body_too_large())
    status = exc.code or 500
    data = getattr(exc, "data", None) or {}
    extra: dict[str, Any] = {}
    detail = exc.description or ""
    if "messages" in data:
        extra["errors"] = flatten(data["messages"])
        detail = summary(extra["errors"])
    if status == 405:
        extra["allowed"] = sorted(exc.valid_methods or [])  # type: ignore[attr-defined]
    response = problem(status, HTTP_KINDS.get(status, "http-error"), detail, **extra)
    if status == 405:
        response.headers["Allow"] = ", ".join(extra["allowed"])
    return response


def body_too_large() -> BodyTooLarge:
    """The body's size is known from Content-Length; a chunked body's is not (value null)."""
    maximum, size = current_app.config["MAX_CONTENT_LENGTH"], request.content_length
    said = f"the body has {size} bytes" if size else "the body is too large"
    return BodyTooLarge(f"{said}; at most {maximum} bytes (GATEWAY_MAX_BODY_BYTES)",
                        limit="body_bytes", value=size, maximum=maximum,
                        setting="GATEWAY_MAX_BODY_BYTES")


def handle_unexpected(exc: Exception) -> Response:
    if isinstance(exc, HTTPException):
        return handle_http_exception(exc)
    log.exception("unhandled error on %s %s", request.method, request.path)
    return handle_http_exception(InternalServerError("An unexpected error occurred; it is logged."))


# Redis unreachable, stalled (a socket timeout), loading its data after a restart, out of
# memory or read-only, no primary (sentinels between a primary's death and a replica's
# promotion: MasterNotFoundError is a ConnectionError): the request may succeed shortly, so 503
# with Retry-After, never a 500
REDIS_UNAVAILABLE = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError,
                     redis.exceptions.OutOfMemoryError,  # type: ignore[attr-defined]
                     redis.exceptions.ReadOnlyError)
RETRY_AFTER_SECONDS = 2


def handle_redis_down(exc: redis.exceptions.RedisError) -> Response:
    log.error("Redis unavailable on %s %s: %s: %s", request.method, request.path,
              type(exc).__name__, exc)
    response = problem(503, "unavailable", "The job store does not "
                       f"answer ({type(exc).__name__}); try again shortly.")
    response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def handle_redis_refusal(exc: redis.exceptions.ResponseError) -> Response:
    """A script's write refused for want of memory, of a replica in sync, or by a demoted
    primary is a passing trouble too; others are bugs."""
    return handle_redis_down(exc) if passing_refusal(exc) else handle_unexpected(exc)


def init_app(app: Flask) -> None:
    for kind in REDIS_UNAVAILABLE:
        app.register_error_handler(kind, handle_redis_down)
    app.register_error_handler(redis.exceptions.ResponseError, handle_redis_refusal)
    app.register_error_handler(GatewayError, handle_gateway_error)
    app.register_error_handler(HTTPException, handle_http_exception)
    app.register_error_handler(Exception, handle_unexpected)

