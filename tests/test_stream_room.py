"""A process full of event streams refuses the next stream at once (503 problem+json with
Retry-After) and keeps room for other requests (`app/services/streams.py` `stream_room`)."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from scripts.local_http import launch_api, wait_for_http
from scripts.local_redis import start_redis
from tests.conftest import stop

CONNECTIONS = 20  # GATEWAY_WEB_CONNECTIONS: room for 18 streams and 2 other requests
KEY = "stream-room-key-0123456789abcdef0123456789"


@pytest.fixture(scope="module")
def small_gateway(env: dict[str, str], tmp_path_factory: pytest.TempPathFactory,
                  ) -> Iterator[str]:
    directory: Path = tmp_path_factory.mktemp("stream-room")
    redis, url = start_redis(directory / "redis", persist=False)
    settings = {**env, "REDIS_URL": url, "GATEWAY_WEB_CONNECTIONS": str(CONNECTIONS),
                "GATEWAY_TENANT_MAX_STREAMS": "1000", "GATEWAY_API_KEYS": f"room:{KEY}"}
    base, api = launch_api(settings, log=directory / "api.log")
    try:
        wait_for_http(f"{base}/healthz", api, 60)
        yield base
    finally:
        stop(api)
        stop(redis)


def open_stream(base: str) -> socket.socket:
    """A tenant stream, read up to its first bytes (`retry:`): it is open."""
    host, port = base.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)), timeout=10)
    sock.sendall(f"GET /v1/events HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {KEY}\r\n"
                 "Accept: text/event-stream\r\n\r\n".encode())
    head = b""
    while b"\r\n\r\n" not in head or (head.startswith(b"HTTP/1.1 200") and b"retry:" not in head):
        chunk = sock.recv(4096)
        assert chunk, head
        head += chunk
    if not head.startswith(b"HTTP/1.1 200"):
        sock.close()
        raise AssertionError(head)
    return sock


def test_a_full_process_refuses_streams_at_once_and_serves_other_requests(
        small_gateway: str) -> None:
    streams = [open_stream(small_gateway) for _ in range(CONNECTIONS - CONNECTIONS // 10)]
    try:
        with httpx.Client(base_url=small_gateway, timeout=10,
                          headers={"Authorization": f"Bearer {KEY}"}) as http:
            started = time.monotonic()
            refused = http.get("/v1/events")
            assert time.monotonic() - started < 2
            assert refused.status_code == 503, refused.text
            assert refused.headers["content-type"] == "application/problem+json"
            assert refused.headers["Retry-After"]
            assert "event streams" in refused.json()["detail"]
            assert http.get("/v1/jobs").status_code == 200  # room for other requests
        streams.pop().close()  # one leaves: the next stream is taken
        deadline = time.monotonic() + 10
        while True:
            try:
                streams.append(open_stream(small_gateway))
                break
            except AssertionError:  # the server has not noticed the close yet
                assert time.monotonic() < deadline
                time.sleep(0.1)
    finally:
        for sock in streams:
            sock.close()
