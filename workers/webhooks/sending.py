"""One delivery attempt over HTTP(S): a POST to the address the destination check pinned (with
the URL's host as Host header and TLS server name, the certificate checked against it), never
following a redirect, connected within 5 s, over within the total timeout however slowly the
receiver answers, and reading at most 64 KB of its answer."""

from __future__ import annotations

import contextlib
import http.client
import socket
import ssl
import threading
import time
from dataclasses import dataclass

from core.webhooks.destinations import Destination

CONNECT_SECONDS = 5.0
MAX_ANSWER_BYTES = 64 * 1024
USER_AGENT = "quantum-jobs-gateway-webhooks/1"


@dataclass(frozen=True)
class Answer:
    status: int | None  # the receiver's status code, None when it gave none
    error: str | None  # why the attempt did not succeed
    seconds: float

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


def post(destination: Destination, headers: dict[str, str], body: bytes, timeout: float,
         context: ssl.SSLContext | None = None) -> Answer:
    """POST `body` to `destination`; what came of it (never raises for the network's sake)."""
    started = time.monotonic()
    connection = _connection(destination, min(CONNECT_SECONDS, timeout), context)
    deadline = threading.Timer(timeout, _cut, args=(connection,))  # whatever the receiver does
    deadline.start()
    try:
        connection.request("POST", destination.target, body=body, headers=headers)
        response = connection.getresponse()
        response.read(MAX_ANSWER_BYTES)  # only this much; the rest is not waited for
        status = response.status
        error = None if 200 <= status < 300 else f"answered {status}" + (
            " (redirects are not followed)" if 300 <= status < 400 else "")
        return Answer(status, error, time.monotonic() - started)
    except (OSError, http.client.HTTPException) as exc:
        seconds = time.monotonic() - started
        timed_out = isinstance(exc, TimeoutError) or seconds >= timeout
        return Answer(None, f"no answer within {timeout:g} s" if timed_out else _said(exc),
                      seconds)
    finally:
        deadline.cancel()
        connection.close()


def _connection(destination: Destination, connect_timeout: float,
                context: ssl.SSLContext | None) -> http.client.HTTPConnection:
    connection: http.client.HTTPConnection
    if destination.scheme == "https":
        connection = http.client.HTTPSConnection(
            destination.host, destination.port, timeout=connect_timeout,
            context=context or ssl.create_default_context())
    else:
        connection = http.client.HTTPConnection(destination.host, destination.port,
                                                timeout=connect_timeout)

    def pinned(_address: object, timeout: float, source: object = None) -> socket.socket:
        """The checked address, never the name resolved again (see destinations.py)."""
        return socket.create_connection((destination.address, destination.port), timeout)

    connection._create_connection = pinned  # type: ignore[attr-defined]
    return connection


def _cut(connection: http.client.HTTPConnection) -> None:
    """The total timeout ran out: end the connection under the attempt's feet."""
    sock = connection.sock
    if sock is not None:
        with contextlib.suppress(OSError):  # closed meanwhile
            sock.shutdown(socket.SHUT_RDWR)


def _said(exc: BaseException) -> str:
    """What went wrong, in a few words (never a header or a body)."""
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"TLS: {exc.verify_message}"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    text = str(exc) or type(exc).__name__
    return f"{type(exc).__name__}: {text}"[:200]
