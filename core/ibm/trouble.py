"""Failures of IBM Quantum, named; and the token kept out of every message and log line."""

from __future__ import annotations

import logging
import re
from enum import StrEnum
from typing import Any

STATUS_IN_MESSAGE = re.compile(r"\b([1-5]\d\d) (?:Client|Server) Error")
REDACTED = "[redacted]"


class Trouble(StrEnum):
    AUTH = "auth"  # 401/403: the credentials are refused
    RATE_LIMITED = "rate-limited"  # 429
    TRANSIENT = "transient"  # 5xx, network: try again later
    NOT_FOUND = "not-found"  # 404
    CONFLICT = "conflict"  # 409: e.g. cancelling a job that is final already
    REJECTED = "rejected"  # any other 4xx: IBM will not do it


class UpstreamError(Exception):
    """A failed call to IBM Quantum; `str()` never contains the token."""

    def __init__(self, kind: Trouble, message: str, status: int | None = None,
                 retry_after: float | None = None) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.status = status
        self.retry_after = retry_after


def redact(text: str, token: str) -> str:
    return text.replace(token, REDACTED) if token and token in text else text


def classify(exc: BaseException, what: str, token: str) -> UpstreamError:
    """Name the kind of failure from the exception and its causes (the client often wraps a
    `RequestsApiError`, which knows the HTTP status, in one that does not)."""
    import requests
    from qiskit_ibm_runtime.exceptions import (
        IBMError,
        IBMNotAuthorizedError,
        RuntimeInvalidStateError,
        RuntimeJobNotFound,
    )

    status, retry_after, network = None, None, False
    for link in _chain(exc):
        if isinstance(link, IBMNotAuthorizedError):
            status = 401
        elif isinstance(link, RuntimeJobNotFound):
            status = status or 404
        elif isinstance(link, RuntimeInvalidStateError):
            status = status or 409
        code = getattr(link, "status_code", None)
        if isinstance(code, int) and code > 0:
            status = status or code
        response = getattr(link, "response", None)
        if response is not None and getattr(response, "status_code", None):
            status = status or response.status_code
            retry_after = retry_after or _seconds(response.headers.get("Retry-After"))
        if isinstance(link, (requests.ConnectionError, requests.Timeout)):
            network = True
        found = STATUS_IN_MESSAGE.search(str(link))
        if found:
            status = status or int(found.group(1))
    message = redact(f"{what}: {_describe(exc)}", token)
    if status in (401, 403):
        return UpstreamError(Trouble.AUTH, message, status)
    if status == 429:
        return UpstreamError(Trouble.RATE_LIMITED, message, status, retry_after)
    if status == 404:
        return UpstreamError(Trouble.NOT_FOUND, message, status)
    if status == 409:
        return UpstreamError(Trouble.CONFLICT, message, status)
    if status is not None and 400 <= status < 500:
        return UpstreamError(Trouble.REJECTED, message, status)
    if status is not None or network or isinstance(exc, (IBMError, requests.RequestException)):
        return UpstreamError(Trouble.TRANSIENT, message, status)
    raise exc  # not a failure of IBM's: a bug or bad input, for the caller to handle


def _chain(exc: BaseException) -> list[BaseException]:
    links: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in links and len(links) < 10:
        links.append(current)
        current = current.__cause__ or current.__context__
    return links


def _describe(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text[:500] or type(exc).__name__


def _seconds(value: str | None) -> float | None:
    try:
        return float(value) if value else None
    except ValueError:
        return None


def redact_logs(token: str) -> None:
    """Take the token out of every log record this process makes, whoever logs it (the client
    library and its HTTP stack included), and route warnings through logging to the same end."""
    if not token:
        return
    make_record = logging.getLogRecordFactory()
    if getattr(make_record, "redacts", False):
        return

    def redacting(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = make_record(*args, **kwargs)
        try:
            message = record.getMessage()
        except Exception:  # a malformed call: let the handler report it as usual
            return record
        if token in message:
            record.msg, record.args = redact(message, token), None
        if record.exc_info:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info), token)
        return record

    redacting.redacts = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(redacting)
    logging.captureWarnings(True)
