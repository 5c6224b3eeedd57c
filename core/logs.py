"""Log lines of every gateway process: text (the default), or one JSON object a line with
GATEWAY_LOG_FORMAT=json; no secret in either.

A JSON line has `time` (RFC 3339 UTC), `level`, `logger`, `message` and `process` (the pid),
then, where they apply, `request_id`, `tenant`, `job_id` and `trace_id` (the API's request, the
worker's job, the trace either belongs to), `exception` with its traceback, and the access log's
fields. Each process configures its root logger here once (`configure`); gunicorn's own logs go
through the same formatters (`gunicorn.conf.py`).

Secrets are taken out of the message, the traceback and every field, in both formats: the IBM
Quantum token and the keys of GATEWAY_API_KEYS by their values; whatever follows `Bearer `; the
shapes of the gateway's keys (`gw_<id>_…`), stream tokens (`st_…`) and webhook secrets
(`whsec_…`); and `token=`, `key=` or `secret=` in a query string.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
import sys
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextvars import ContextVar
from datetime import UTC, datetime
from types import TracebackType
from typing import Any

from core.clock import rfc3339
from core.config import Config

REDACTED = "[redacted]"
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
PATTERNS = [
    (re.compile(r"(?i)(\bbearer\s+)[^\s\"',;]+"), rf"\1{REDACTED}"),
    (re.compile(r"\b(gw_[0-9a-f]{8}_)[A-Za-z0-9_-]+"), rf"\1{REDACTED}"),
    (re.compile(r"\bst_[A-Za-z0-9_-]{16,}"), f"st_{REDACTED}"),
    (re.compile(r"\bwhsec_[A-Za-z0-9+/=_-]+"), f"whsec_{REDACTED}"),
    (re.compile(r"(?i)([?&](?:token|key|api_key|secret)=)[^&\s\"']+"), rf"\1{REDACTED}"),
]
# what a record may carry (`extra=`) into a JSON line, besides what the context providers add
FIELDS = ("request_id", "tenant", "job_id", "trace_id", "method", "path", "status", "bytes",
          "duration_ms", "remote_addr", "user_agent")
# what an access line reads of a request's WSGI environ (gunicorn.conf.py's GatewayLogger): all
# that an open event stream keeps of it (app/services/streams.py)
ACCESS_ENVIRON = ("REQUEST_METHOD", "PATH_INFO", "REMOTE_ADDR", "HTTP_USER_AGENT", "gateway.tenant")
MIN_SECRET_CHARS = 8  # shorter values would take ordinary words out of the logs
# libraries that give their logger a handler of their own and stop it propagating (when they
# are imported): their lines would skip the format and the redaction
OWN_HANDLERS = ("qiskit_ibm_runtime",)
Context = Callable[[], dict[str, Any]]  # fields that apply now (a request's, a job's)
JOB_ID: ContextVar[str | None] = ContextVar("job_id", default=None)  # a worker's job


@contextlib.contextmanager
def about_job(job_id: str) -> Iterator[None]:
    """Log lines within are about the job `job_id` (a worker's; the API's are its request's)."""
    token = JOB_ID.set(job_id)
    try:
        yield
    finally:
        JOB_ID.reset(token)


def job_fields() -> dict[str, Any]:
    return {"job_id": JOB_ID.get()}


class Redactor:
    """Takes secrets out of a text: the given values, and the shapes in PATTERNS."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        # the longest first: a key that contains another is taken out whole
        self.secrets = sorted({s for s in secrets if len(s) >= MIN_SECRET_CHARS}, key=len,
                              reverse=True)

    @classmethod
    def of(cls, config: Config) -> Redactor:
        keys = [pair.split(":", 1)[1].strip() for pair in config.API_KEYS.split(",")
                if ":" in pair]
        return cls([config.IBM_TOKEN, *keys])

    def __call__(self, text: str) -> str:
        for secret in self.secrets:
            if secret in text:
                text = text.replace(secret, REDACTED)
        for pattern, replacement in PATTERNS:
            text = pattern.sub(replacement, text)
        return text


class JsonFormatter(logging.Formatter):
    def __init__(self, redact: Redactor, context: Sequence[Context] = ()) -> None:
        super().__init__()
        self.redact, self.context = redact, context

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": rfc3339(datetime.fromtimestamp(record.created, UTC)),
            "level": record.levelname, "logger": record.name, "message": record.getMessage(),
            "process": record.process}
        for provide in self.context:
            entry.update((name, value) for name, value in provide().items() if value is not None)
        entry.update((name, getattr(record, name)) for name in FIELDS
                     if getattr(record, name, None) is not None)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            entry["exception"] = record.exc_text
        return json.dumps({name: self.redact(value) if isinstance(value, str) else value
                           for name, value in entry.items()}, default=str)


class TextFormatter(logging.Formatter):
    def __init__(self, redact: Redactor) -> None:
        super().__init__(TEXT_FORMAT)
        self.redact = redact

    def format(self, record: logging.LogRecord) -> str:
        return self.redact(super().format(record))


def formatter(config: Config, context: Sequence[Context] = ()) -> logging.Formatter:
    """The formatter of GATEWAY_LOG_FORMAT, redacting this process's secrets."""
    redact = Redactor.of(config)
    return JsonFormatter(redact, context) if config.LOG_FORMAT == "json" else TextFormatter(redact)


def configure(config: Config, *context: Context) -> None:
    """This process's root logger: one handler (to stderr) in GATEWAY_LOG_FORMAT at
    GATEWAY_LOG_LEVEL, with `context` adding fields to JSON lines; warnings and uncaught
    exceptions (of any thread) become log records too, so that they are JSON lines as well.
    Handlers others added (a test runner's) stay."""
    handler = logging.StreamHandler()
    handler.setFormatter(formatter(config, context))
    handler.gateway = True  # type: ignore[attr-defined]
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, "gateway", False)]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(config.LOG_LEVEL)
    for name in OWN_HANDLERS:
        _adopt(name)
    logging.getLogger("qiskit").setLevel(logging.WARNING)  # its INFO is one line per pass
    logging.captureWarnings(True)
    sys.excepthook = _log_uncaught
    threading.excepthook = _log_uncaught_in_thread


class _Adopted(logging.Logger):
    """A library's logger whose records go to the root's handlers like any other's, whatever
    handlers the library adds to it, or however it sets `propagate`."""

    def addHandler(self, handler: logging.Handler) -> None:
        pass

    @property  # type: ignore[override]
    def propagate(self) -> bool:
        return True

    @propagate.setter
    def propagate(self, _value: bool) -> None:
        pass


def _adopt(name: str) -> None:
    """`name`'s logger an `_Adopted` one: made so now, before the library is imported; or, if
    it was imported already, stripped of its handlers."""
    manager = logging.Logger.manager
    if name not in manager.loggerDict:
        before, manager.loggerClass = manager.loggerClass, _Adopted
        try:
            logging.getLogger(name)
        finally:
            manager.loggerClass = before
        return
    logger = logging.getLogger(name)
    for handler in list(logger.handlers):
        logger.removeHandler(handler)
    logger.propagate = True


def _log_uncaught(kind: type[BaseException], error: BaseException,
                  trace: TracebackType | None) -> None:
    if issubclass(kind, KeyboardInterrupt):
        sys.__excepthook__(kind, error, trace)
        return
    logging.getLogger("gateway").critical("uncaught exception", exc_info=(kind, error, trace))


def _log_uncaught_in_thread(args: threading.ExceptHookArgs) -> None:
    if args.exc_type is SystemExit or args.exc_value is None:
        return
    logging.getLogger("gateway").critical(
        "uncaught exception in thread %s", args.thread.name if args.thread else "?",
        exc_info=(args.exc_type, args.exc_value, args.exc_traceback))
