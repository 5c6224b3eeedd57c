"""gunicorn's own refusals (a request line or headers over its limits, a malformed request) as
problem+json, like every other error of the API, instead of its HTML page.

gunicorn writes them with `gunicorn.util.write_error` before any application code runs;
`gunicorn.conf.py` puts `write_problem` in its place (gunicorn offers no hook for it).
"""

from __future__ import annotations

import json
import socket

from gunicorn import util

from app.errors import HTTP_KINDS, PROBLEM_BASE, PROBLEM_JSON, TITLES


def write_problem(sock: socket.socket, status: int, reason: str, message: str) -> None:
    kind = HTTP_KINDS.get(status, "http-error")
    body = json.dumps({"type": PROBLEM_BASE + kind, "title": TITLES[kind], "status": status,
                       "detail": message or reason}, separators=(",", ":")).encode()
    head = (f"HTTP/1.1 {status} {reason}\r\nConnection: close\r\n"
            f"Content-Type: {PROBLEM_JSON}\r\nContent-Length: {len(body)}\r\n\r\n")
    util.write_nonblock(sock, head.encode("latin-1") + body)


def install() -> None:
    util.write_error = write_problem
