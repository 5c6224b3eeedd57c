"""Every error the API answers is RFC 9457 problem+json; this module is where they are made."""

from __future__ import annotations

import logging
from typing import Any

import redis
from flask import Flask, Response, g, json, request
from werkzeug.exceptions import HTTPException, InternalServerError

from core import errors
from core.errors import GatewayError
from core.store.connection import out_of_memory

PROBLEM_BASE = "https://quantum-gateway.dev/problems/"
PROBLEM_JSON = "application/problem+json"
log = logging.getLogger("gateway.api")

# problem types of plain HTTP errors, by status
HTTP_KINDS = {
    400: "bad-request", 401: "unauthorized", 404: "not-found", 405: "method-not-allowed",
    406: "not-acceptable", 409: "conflict", 413: "payload-too-large",
    415: "unsupported-media-type", 422: "invalid-input", 429: "too-many-requests",
    500: "internal-error", 501: "not-implemented", 503: "unavailable",
}


class UnsupportedMediaType(GatewayError):
    """A body that is not JSON."""


class UriTooLong(GatewayError):
    pass


# every domain error, as HTTP: status, problem type (under PROBLEM_BASE), title
PROBLEMS: dict[type[GatewayError], tuple[int, str, str]] = {
    errors.InvalidJobInput: (422, "invalid-input", "Invalid job input"),
    errors.InvalidEventId: (422, "invalid-input", "Invalid event id"),
    errors.LimitExceeded: (422, "limit-exceeded", "Over a limit of the gateway"),
    errors.Unauthorized: (401, "unauthorized", "Missing or invalid credentials"),
    errors.JobNotFound: (404, "job-not-found", "Job not found"),
    errors.BackendNotFound: (404, "backend-not-found", "Backend not found"),
    errors.IbmNotConfigured: (404, "ibm-not-configured", "No IBM Quantum account is configured"),
    errors.JobNotFinished: (409, "job-not-finished", "Job not finished"),
    errors.JobFailed: (409, "job-failed", "Job failed"),
    errors.JobCancelled: (409, "job-cancelled", "Job cancelled"),
    errors.InvalidJobState: (409, "invalid-state", "Invalid job state for this operation"),
    errors.IdempotencyConflict: (409, "idempotency-conflict",
                                 "Idempotency key reused with another body"),
    errors.WebhookNotFound: (404, "webhook-not-found", "Webhook endpoint not found"),
    errors.InvalidWebhook: (422, "invalid-input", "Invalid webhook"),
    errors.DestinationRefused: (422, "destination-refused", "The gateway does not call there"),
    errors.WebhooksNotConfigured: (501, "webhooks-not-configured",
                                   "Webhooks are not configured on this gateway"),
    UriTooLong: (414, "uri-too-long", "URI too long"),
    UnsupportedMediaType: (415, "unsupported-media-type", "Unsupported media type"),
    errors.QuotaExceeded: (429, "too-many-requests", "Too many requests"),
    errors.UpstreamFailed: (502, "upstream-error", "IBM Quantum did not do it"),
    errors.ParsersBusy: (503, "unavailable", "Service unavailable"),
    errors.BackendsNotRead: (503, "unavailable", "Service unavailable"),
}


def problem(status: int, kind: str, title: str, detail: str = "", **extra: Any) -> Response:
    body = {"type": PROBLEM_BASE + kind, "title": title, "status": status,
            "detail": detail or title, "instance": request.path,
            "request_id": g.get("request_id"), **extra}
    response = Response(json.dumps(body), status, mimetype=PROBLEM_JSON)
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="quantum-gateway"'
    return response


def flatten(messages: Any, prefix: str = "") -> dict[str, list[str]]:
    """webargs' nested {"json": {"pubs": {"0": {"shots": [...]}}}} -> {"pubs.0.shots": [...]}."""
    if not isinstance(messages, dict):
        items = messages if isinstance(messages, list) else [messages]
        return {prefix or "_schema": [str(m) for m in items]}
    out: dict[str, list[str]] = {}
    for key, value in messages.items():
        top = not prefix and key in ("json", "query", "headers", "form")
        path = prefix if top else (f"{prefix}.{key}" if prefix else str(key))
        out.update(flatten(value, path))
    return out


def handle_gateway_error(exc: GatewayError) -> Response:
    status, kind, title = PROBLEMS[type(exc)]
    response = problem(status, kind, title, exc.detail or title, **exc.extra)
    if isinstance(exc, errors.QuotaExceeded):
        rate_limit_headers(response, **exc.extra)
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
    status = exc.code or 500
    data = getattr(exc, "data", None) or {}
    extra: dict[str, Any] = {}
    detail = exc.description or ""
    if "messages" in data:
        extra["errors"] = flatten(data["messages"])
        detail = "The request does not fit the schema; see errors."
    if status == 405:
        extra["allowed"] = sorted(exc.valid_methods or [])  # type: ignore[attr-defined]
    response = problem(status, HTTP_KINDS.get(status, "http-error"), exc.name, detail, **extra)
    if status == 405:
        response.headers["Allow"] = ", ".join(extra["allowed"])
    return response


def handle_unexpected(exc: Exception) -> Response:
    if isinstance(exc, HTTPException):
        return handle_http_exception(exc)
    log.exception("unhandled error on %s %s", request.method, request.path)
    return handle_http_exception(InternalServerError("An unexpected error occurred; it is logged."))


# Redis unreachable, stalled (a socket timeout), loading its data after a restart, out of
# memory or read-only: the request may succeed shortly, so 503 with Retry-After, never a 500
REDIS_UNAVAILABLE = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError,
                     redis.exceptions.OutOfMemoryError,  # type: ignore[attr-defined]
                     redis.exceptions.ReadOnlyError)
RETRY_AFTER_SECONDS = 2


def handle_redis_down(exc: redis.exceptions.RedisError) -> Response:
    log.error("Redis unavailable on %s %s: %s: %s", request.method, request.path,
              type(exc).__name__, exc)
    response = problem(503, "unavailable", "Service unavailable", "The job store does not "
                       f"answer ({type(exc).__name__}); try again shortly.")
    response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def handle_redis_refusal(exc: redis.exceptions.ResponseError) -> Response:
    """A script's write refused for want of memory is a passing trouble too; others are bugs."""
    return handle_redis_down(exc) if out_of_memory(exc) else handle_unexpected(exc)


def init_app(app: Flask) -> None:
    for kind in REDIS_UNAVAILABLE:
        app.register_error_handler(kind, handle_redis_down)
    app.register_error_handler(redis.exceptions.ResponseError, handle_redis_refusal)
    app.register_error_handler(GatewayError, handle_gateway_error)
    app.register_error_handler(HTTPException, handle_http_exception)
    app.register_error_handler(Exception, handle_unexpected)

