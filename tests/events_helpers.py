"""Reading event streams as a client does, with httpx-sse, and watching the server's sockets."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NamedTuple

import httpx
from httpx_sse import EventSource, ServerSentEvent, connect_sse
from httpx_sse._decoders import SSEDecoder

from core.store.api_keys import KeyStore
from tests.waiting import eventually as eventually  # where tests used to find it


class Received(NamedTuple):
    id: str
    kind: str
    data: Any


def received(sse: ServerSentEvent) -> Received:
    return Received(sse.id, sse.event, json.loads(sse.data))


def tenant_client(keys: KeyStore, server: str) -> tuple[str, httpx.Client]:
    """A fresh tenant's name and a client that holds its key."""
    tenant = f"t-{uuid.uuid4().hex[:12]}"
    _, key = keys.create(tenant)
    return tenant, httpx.Client(base_url=server, headers={"Authorization": f"Bearer {key}"},
                                timeout=90)


@contextmanager
def open_stream(http: httpx.Client, path: str, **kwargs: Any) -> Iterator[EventSource]:
    with connect_sse(http, "GET", path, **kwargs) as source:
        assert source.response.status_code == 200, source.response.read()
        yield source


def iter_events(source: EventSource) -> Iterator[Received]:
    """Events as they arrive, until the server ends the stream."""
    for sse in source.iter_sse():
        if sse.data:  # skip the `retry:` block, and what httpx-sse reports after a comment
            yield received(sse)


def events_of(source: EventSource, stop: Callable[[Received], bool] = lambda _e: False
              ) -> list[Received]:
    """The events until the server ends the stream, or through the first one `stop` accepts."""
    out: list[Received] = []
    for event in iter_events(source):
        out.append(event)
        if stop(event):
            break
    return out


def read_stream(http: httpx.Client, path: str, **kwargs: Any) -> list[Received]:
    """A whole job stream, as a fresh client would get it."""
    with open_stream(http, path, **kwargs) as source:
        return events_of(source)


def read_until_quiet(http: httpx.Client, path: str, **kwargs: Any) -> tuple[list[Received], int]:
    """Events of a never-ending stream up to its first heartbeat comment, and the `retry:` value.

    httpx-sse drops comments, so this feeds the lines to its decoder and watches for them."""
    decoder, out, retry = SSEDecoder(), [], 0
    with http.stream("GET", path, **kwargs) as response:
        assert response.status_code == 200, response.read()
        for line in response.iter_lines():
            if line.startswith(": heartbeat"):
                return out, retry
            sse = decoder.decode(line)
            if sse is not None and sse.retry is not None:
                retry = sse.retry
            if sse is not None and sse.id and sse.data:
                out.append(received(sse))
    raise AssertionError("the stream ended without a heartbeat")


def final_status(event: Received) -> bool:
    return event.kind == "status" and event.data["status"] in ("DONE", "ERROR", "CANCELLED")


def client_port(source: EventSource) -> int:
    return int(source.response.extensions["network_stream"].get_extra_info("client_addr")[1])


def server_sockets(server: str, peer_port: int) -> int:
    """Sockets the API still holds open towards this client port (ESTABLISHED or CLOSE_WAIT)."""
    port = int(server.rsplit(":", 1)[1])
    count = 0
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        local, remote, state = line.split()[1:4]
        if int(local.split(":")[1], 16) == port and int(remote.split(":")[1], 16) == peer_port \
                and state in ("01", "08"):
            count += 1
    return count
