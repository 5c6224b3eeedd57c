"""gunicorn's own refusals (a request line or headers over its limits, a malformed request) as
problem+json, like every other error of the API, instead of its HTML page.

gunicorn writes them with `gunicorn.util.write_error` before any application code runs;
`gunicorn.conf.py` puts `write_problem` in its place (gunicorn offers no hook for it).
"""

from __future__ import annotations

import json
import socket

from gunicorn import util

PROBLEM_BASE = "https://quantum-gateway.dev/problems/"  # as app/errors.py
KINDS = {400: "bad-request", 403: "forbidden", 414: "uri-too-long", 417: "expectation-failed",
         431: "request-header-fields-too-large", 500: "internal-error", 501: "not-implemented"}


def write_problem(sock: socket.socket, status: int, reason: str, message: str) -> None:
    body = json.dumps({"type": PROBLEM_BASE + KINDS.get(status, "http-error"), "title": reason,
                       "status": status, "detail": message or reason}).encode()
    head = (f"HTTP/1.1 {status} {reason}\r\nConnection: close\r\n"
            f"Content-Type: application/problem+json\r\nContent-Length: {len(body)}\r\n\r\n")
    util.write_nonblock(sock, head.encode("latin-1") + body)


def install() -> None:
    util.write_error = write_problem
