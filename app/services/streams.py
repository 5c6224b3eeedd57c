"""What the event views do: open a job's or a tenant's stream, and serve it as text/event-stream."""

from __future__ import annotations

import logging
import random
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from typing import Any

import gevent
import gevent.monkey
import gevent.socket
import redis
from flask import Response, request

from app.gateway import Gateway
from app.streaming.events import Event, EventStream, id_order
from app.streaming.hub import EventHub
from core import logs, metrics
from core.config import Config
from core.errors import InvalidEventId, JobNotFound, QuotaExceeded, StreamsFull
from core.states import JobStatus

log = logging.getLogger("gateway.events")
RETRY_MS = 3000  # how long EventSource waits before reconnecting (it then sends Last-Event-ID)
HEARTBEAT = b": heartbeat\n\n"
CLOCK_SKEW_MS = 60_000  # how far ahead of this host's clock a Redis host's may be
SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
REQUEST_ROOM = 10  # 1/10 of a process's connections are kept for requests other than streams


def stream_room(config: Config) -> int:
    """How many event streams one API process holds: GATEWAY_WEB_CONNECTIONS less the room kept
    for other requests, so that a submit or a poll never waits behind a process full of
    streams (gunicorn stops accepting at GATEWAY_WEB_CONNECTIONS: a connection over it waits)."""
    return config.WEB_CONNECTIONS - config.WEB_CONNECTIONS // REQUEST_ROOM


def job_stream(gw: Gateway, hub: EventHub, tenant: str, job_id: str,
               after: str) -> EventStream | None:
    """The job's events after `after`; None when the job is final and the client has them all."""
    gw.store.owned(tenant, job_id)
    status = gw.store.status(job_id)  # read before the tail: a final status implies its event
    if status is None:
        raise JobNotFound.of(job_id)
    key = gw.store.event_stream_key(job_id)
    tail = _check_position(hub, key, after)
    if JobStatus(status).final and id_order(after) >= id_order(tail):
        return None
    return EventStream(hub, key, after, is_last=Event.ends_job,
                       heartbeat=gw.config.SSE_HEARTBEAT_SECONDS)


def tenant_stream(gw: Gateway, hub: EventHub, tenant: str, after: str) -> EventStream:
    """Every status change of the tenant's jobs after `after`; it does not end by itself."""
    key = gw.store.tenant_events_key(tenant)
    _check_position(hub, key, after)
    return EventStream(hub, key, after, is_last=never,
                       heartbeat=gw.config.SSE_HEARTBEAT_SECONDS, kind="tenant")


def never(_event: Event) -> bool:
    """A tenant's stream has no last event (one function for all of them, not one each)."""
    return False


def _check_position(hub: EventHub, key: str, after: str) -> str:
    """The stream's newest id; InvalidEventId when `after` is beyond it and later than now
    (never issued). One beyond it but past was issued by a primary that died before a replica
    had it (a failover keeps the replica's stream): the stream goes on after it, since what the
    new primary adds is stamped later."""
    tail = hub.tail(key)
    if id_order(after) > id_order(tail) and id_order(after)[0] > time.time() * 1000 + CLOCK_SKEW_MS:
        message = f"this stream has no event '{after}'; its newest is '{tail}'"
        raise InvalidEventId(message, errors={"Last-Event-ID": [message]})
    return tail


def response(gw: Gateway, stream: EventStream, tenant: str, key_digest: str,
             job_id: str | None = None) -> Response:
    """The stream as text/event-stream: `retry:` first, then events and heartbeat comments.
    Revoking the key of `key_digest` (the request's, or the one that minted its token) ends it
    at once in every API process (and at its next re-check should the news be missed); so does
    deleting the job of a job's stream (`job_id`), at its next re-check. The tenant's open
    streams are capped (`max_streams`): over it, 429. So are the process's (`stream_room`): over
    it, 503 at once, and the client reconnects (to another process)."""
    if request.method == "HEAD":
        return Response(mimetype="text/event-stream", headers=SSE_HEADERS)
    if stream.hub.streams >= stream_room(gw.config):
        raise StreamsFull(f"this API process holds {stream.hub.streams} event streams, all it "
                          "has room for; try again (another process may take it)")
    served = ServedStream(gw, stream, tenant, key_digest, job_id)
    # direct_passthrough: the body is bytes already; werkzeug need not wrap each chunk
    return Response(served.body(request.environ), mimetype="text/event-stream",
                    headers=SSE_HEADERS, direct_passthrough=True)


class ServedStream:
    """What serving one stream keeps besides its EventStream: its place among the tenant's open
    streams, the re-check, and the watches for a hang-up and a revoked key. One slotted object,
    its bound methods the callbacks: a process holds thousands of idle streams, and a closure
    (with its cells) per concern cost ~1 KB a stream."""

    __slots__ = ("gw", "job_id", "key_digest", "lapse", "stream", "stream_id", "tenant",
                 "watcher")

    def __init__(self, gw: Gateway, stream: EventStream, tenant: str, key_digest: str,
                 job_id: str | None) -> None:
        self.gw, self.stream = gw, stream
        # one copy per process, not per stream, of the strings its streams share
        self.tenant, self.key_digest = sys.intern(tenant), sys.intern(key_digest)
        self.job_id = job_id
        self.watcher: Any = None
        limit = gw.quotas.limit(tenant, "max_streams", gw.config.TENANT_MAX_STREAMS)
        self.stream_id, self.lapse = uuid.uuid4().hex, 3 * stream.recheck
        if not gw.quotas.open_stream(tenant, self.stream_id, limit, self.lapse):
            raise QuotaExceeded(f"{limit} event streams of yours are open (max_streams); close "
                                "one first.", policy="streams", limit=limit, retry_after=5)
        stream.still_wanted = self.still_wanted

    def still_wanted(self) -> bool:
        """Asked at the stream's re-checks: renews its count among the tenant's open streams;
        False when the key is no longer the tenant's, or the job was deleted or expired."""
        self.gw.quotas.renew_stream(self.tenant, self.stream_id, self.lapse)
        if self.gw.keys.tenant_of_digest(self.key_digest) != self.tenant:
            return False
        return self.job_id is None or self.gw.store.status(self.job_id) is not None

    def body(self, environ: dict[str, Any]) -> Iterator[bytes]:
        """Runs after the request context is gone (gunicorn iterates it)."""
        stream, hub = self.stream, self.stream.hub
        self._watch_for_hangup(environ.get("gunicorn.socket"))
        shed(environ)
        del environ
        self.gw.tenants.on_revoked(self.key_digest, stream.interrupt)
        metrics.STREAMS_OPEN.labels(stream.kind).inc()
        hub.streams += 1  # one greenlet at a time: no lock
        try:
            yield f"retry: {RETRY_MS}\n\n".encode()
            # one write per batch: a busy stream catches up in big steps
            while (batch := stream.next_batch()) is not None:
                yield b"".join(event.frame for event in batch) if batch else HEARTBEAT
                count_sent(stream.kind, batch)
            if hub.closing:  # this process stops: resume on another, a moment apart
                yield reconnect_frame()
        except redis.RedisError as exc:  # the client reconnects with Last-Event-ID and resumes
            log.warning("event stream %s cut short: Redis error %s", stream.key, type(exc).__name__)
            yield reconnect_frame()
        finally:
            stream.close()  # leaves the hub now
            self._stop_watching()
            self.gw.tenants.off_revoked(self.key_digest, stream.interrupt)
            self.gw.quotas.close_stream(self.tenant, self.stream_id)
            metrics.STREAMS_OPEN.labels(stream.kind).dec()
            hub.streams -= 1

    def _watch_for_hangup(self, sock: object) -> None:
        """End the stream as soon as the client closes the connection.

        Without this a quiet stream would notice a departed client only when its next heartbeat
        fails to write, up to GATEWAY_SSE_HEARTBEAT_SECONDS later. Under gunicorn's gevent
        worker the client's socket is in the environ, and an SSE client sends nothing after its
        request: the socket turning readable means it closed (or broke the protocol), either
        way the stream ends. A bare event-loop watcher, not a greenlet, so that an idle stream
        costs no more objects for the garbage collector to walk. Elsewhere this does nothing."""
        if isinstance(sock, gevent.socket.socket) and gevent.monkey.is_module_patched("socket"):
            self.watcher = gevent.get_hub().loop.io(sock.fileno(), 1)  # 1: readable
            self.watcher.start(self._hung_up)

    def _hung_up(self) -> None:
        self.watcher.stop()  # level-triggered: once is enough
        self.stream.interrupt()

    def _stop_watching(self) -> None:
        if self.watcher is not None:
            self.watcher.stop()
            self.watcher.close()
            self.watcher = None


def shed(environ: dict[str, Any]) -> None:
    """Keep of a stream's WSGI environ only what the access line reads. gunicorn holds the
    environ until the stream ends, and with it werkzeug's Request (its parsed headers and query):
    ~1.5 KB a stream. Under gunicorn only: other servers may read more of it afterwards."""
    if "gunicorn.socket" in environ:
        kept = {name: environ[name] for name in logs.ACCESS_ENVIRON if name in environ}
        environ.clear()  # frees the dict's table too
        environ.update(kept)


def count_sent(kind: str, batch: list[Event]) -> None:
    """The events a stream wrote, by their kind (one count per kind and batch). Each of a
    process's streams counts each event it writes: one event to 10,000 streams is 10,000 calls,
    hence the counters kept rather than looked up by their labels each time."""
    if len(batch) == 1:
        _sent_counter(kind, batch[0].kind).inc()
        return
    for event_kind, sent in Counter(event.kind for event in batch).items():
        _sent_counter(kind, event_kind).inc(sent)


def _sent_counter(kind: str, event_kind: str) -> Any:
    found = _SENT_COUNTERS.get((kind, event_kind))
    if found is None:
        found = _SENT_COUNTERS[kind, event_kind] = metrics.EVENTS_SENT.labels(kind, event_kind)
    return found


_SENT_COUNTERS: dict[tuple[str, str], Any] = {}  # made in the process that counts (after fork)


def reconnect_frame() -> bytes:
    """Reconnect after a random moment (so that a process's streams do not all come back at
    once); the client sends Last-Event-ID and loses nothing."""
    return f"retry: {random.randint(RETRY_MS // 6, RETRY_MS)}\n\n".encode()
