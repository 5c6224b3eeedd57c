"""The IBM Quantum account of this process: one `QiskitRuntimeService`, made on first use.

Everything that talks to IBM goes through `Account`, and every failure comes out of it as an
`UpstreamError` of a known kind, with the token taken out of its message.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections import OrderedDict
from enum import StrEnum
from typing import Any

from workers.config import Config

JOB_CACHE_SIZE = 1024
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


class Account:
    def __init__(self, config: Config) -> None:
        self.config = config
        self._service: Any = None
        self._lock = threading.Lock()
        self._backends: dict[str, tuple[float, Any]] = {}
        self._jobs: OrderedDict[str, Any] = OrderedDict()

    @property
    def configured(self) -> bool:
        return bool(self.config.IBM_TOKEN)

    def redact(self, text: str) -> str:
        return redact(text, self.config.IBM_TOKEN)

    def call(self, what: str, action: Any, *args: Any, **kwargs: Any) -> Any:
        """`action(*args, **kwargs)`; any failure of the client becomes an UpstreamError."""
        from qiskit.providers.exceptions import QiskitBackendNotFoundError

        try:
            return action(*args, **kwargs)
        except UpstreamError:
            raise
        except QiskitBackendNotFoundError as exc:
            raise self._why_no_backend(what, exc) from None
        except Exception as exc:
            raise classify(exc, what, self.config.IBM_TOKEN) from None

    def _why_no_backend(self, what: str, exc: Exception) -> UpstreamError:
        """The client reports any failure to list backends (a 401 included) as "no backend
        matches"; one cheap request tells a refused account from a missing device."""
        try:
            self.service().usage()
        except Exception as probe:
            return classify(probe, what, self.config.IBM_TOKEN)
        return UpstreamError(Trouble.NOT_FOUND, redact(f"{what}: {exc}", self.config.IBM_TOKEN))

    # -- the service and its parts ---------------------------------------------------------------
    def service(self) -> Any:
        with self._lock:
            if self._service is None:
                try:
                    self._service = self._connect()
                except Exception as exc:
                    token = self.config.IBM_TOKEN
                    raise classify(exc, "connecting to IBM Quantum", token) from None
            return self._service

    def _connect(self) -> Any:
        """The client, once one request proved the account works (the client's constructor
        takes a refused account for an instance without devices and carries on)."""
        from qiskit_ibm_runtime import QiskitRuntimeService

        c = self.config
        service = QiskitRuntimeService(channel=c.IBM_CHANNEL, token=c.IBM_TOKEN,
                                       instance=c.IBM_INSTANCE or None, url=c.IBM_URL or None)
        service.usage()
        return service

    def backend(self, name: str) -> Any:
        """The device (configuration and properties fetched once per refresh period)."""
        cached = self._backends.get(name)
        if cached and time.monotonic() - cached[0] < self.config.IBM_BACKENDS_REFRESH_SECONDS:
            return cached[1]
        service = self.service()
        backend = self.call(f"reading backend {name}", service.backend, name)
        self.call(f"reading the properties of {name}", lambda: backend.target)
        self._backends[name] = (time.monotonic(), backend)
        return backend

    def devices(self) -> list[Any]:
        service = self.service()
        found = self.call("listing backends", service.backends)
        for backend in found:
            self.call(f"reading the properties of {backend.name}", lambda b=backend: b.target)
            self._backends[backend.name] = (time.monotonic(), backend)
        return found

    def job(self, runtime_job_id: str) -> Any:
        """The upstream job object, kept per process so that a status check is one request."""
        if runtime_job_id in self._jobs:
            self._jobs.move_to_end(runtime_job_id)
            return self._jobs[runtime_job_id]
        service = self.service()
        job = self.call(f"reading job {runtime_job_id}", service.job, runtime_job_id)
        self._jobs[runtime_job_id] = job
        while len(self._jobs) > JOB_CACHE_SIZE:
            self._jobs.popitem(last=False)
        return job

    def drop_job(self, runtime_job_id: str) -> None:
        self._jobs.pop(runtime_job_id, None)

    def remember_job(self, job: Any) -> None:
        self._jobs[job.job_id()] = job

    def find_tagged(self, tag: str) -> str | None:
        """The id of the newest upstream job carrying `tag`, if any."""
        service = self.service()
        found = self.call("looking for a job by tag", service.jobs, limit=1, job_tags=[tag])
        return found[0].job_id() if found else None


_account: Account | None = None


def account(config: Config | None = None) -> Account:
    """This process's account (made from `config` on first use)."""
    global _account
    if _account is None:
        _account = Account(config or Config())
        redact_logs(_account.config.IBM_TOKEN)
    return _account


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
