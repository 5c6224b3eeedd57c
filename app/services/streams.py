"""What the event views do: open a job's or a tenant's stream, and serve it as text/event-stream."""

from __future__ import annotations

import logging
import random
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import gevent
import gevent.monkey
import gevent.socket
import redis
from flask import Response, request

from app.gateway import Gateway
from app.streaming.events import Event, EventStream, id_order
from app.streaming.hub import EventHub
from core import metrics
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


def job_stream(gw: Gateway, hub: EventHub, tenant: str, job_id: str, after: str,
               still_authorized: Callable[[], bool]) -> EventStream | None:
    """The job's events after `after`; None when the job is final and the client has them all."""
    gw.store.owned(tenant, job_id)
    status = gw.store.status(job_id)  # read before the tail: a final status implies its event
    if status is None:
        raise JobNotFound.of(job_id)
    key = gw.store.event_stream_key(job_id)
    tail = _check_position(hub, key, after)
    if JobStatus(status).final and id_order(after) >= id_order(tail):
        return None

    def still_wanted() -> bool:  # a deleted or expired job ends its stream
        return still_authorized() and gw.store.status(job_id) is not None

    return EventStream(hub, key, after, is_last=Event.ends_job,
                       heartbeat=gw.config.SSE_HEARTBEAT_SECONDS, still_wanted=still_wanted)


def tenant_stream(gw: Gateway, hub: EventHub, tenant: str, after: str,
                  still_authorized: Callable[[], bool]) -> EventStream:
    """Every status change of the tenant's jobs after `after`; it does not end by itself."""
    key = gw.store.tenant_events_key(tenant)
    _check_position(hub, key, after)
    return EventStream(hub, key, after, is_last=never,
                       heartbeat=gw.config.SSE_HEARTBEAT_SECONDS, still_wanted=still_authorized,
                       kind="tenant")


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


def response(gw: Gateway, stream: EventStream, tenant: str, key_digest: str) -> Response:
    """The stream as text/event-stream: `retry:` first, then events and heartbeat comments.
    Revoking the key of `key_digest` (the request's, or the one that minted its token) ends it
    at once in every API process (and at its next re-check should the news be missed). The
    tenant's open streams are capped (`max_streams`): over it, 429. So are the process's
    (`stream_room`): over it, 503 at once, and the client reconnects (to another process)."""
    if request.method == "HEAD":
        return Response(mimetype="text/event-stream", headers=SSE_HEADERS)
    hub = stream.hub
    if hub.streams >= stream_room(gw.config):
        raise StreamsFull(f"this API process holds {hub.streams} event streams, all it has room "
                          "for; try again (another process may take it)")
    environ = request.environ  # the body runs after the request context is gone
    close_count = count_open_stream(gw, stream, tenant)

    def body() -> Iterator[bytes]:
        stop_watching = watch_for_hangup(environ, stream.interrupt)
        stop_revocation_watch = gw.tenants.on_revoked(key_digest, stream.interrupt)
        events = stream.follow()
        metrics.STREAMS_OPEN.labels(stream.kind).inc()
        hub.streams += 1  # one greenlet at a time: no lock
        try:
            yield f"retry: {RETRY_MS}\n\n".encode()
            for batch in events:  # one write per batch: a busy stream catches up in big steps
                yield b"".join(event.frame for event in batch) if batch else HEARTBEAT
                count_sent(stream.kind, batch)
            if stream.hub.closing:  # this process stops: resume on another, a moment apart
                yield reconnect_frame()
        except redis.RedisError as exc:  # the client reconnects with Last-Event-ID and resumes
            log.warning("event stream %s cut short: Redis error %s", stream.key, type(exc).__name__)
            yield reconnect_frame()
        finally:
            events.close()  # leaves the hub now, not whenever it is collected
            stop_watching()
            stop_revocation_watch()
            close_count()
            metrics.STREAMS_OPEN.labels(stream.kind).dec()
            hub.streams -= 1

    # direct_passthrough: the body is bytes already; werkzeug need not wrap each chunk
    return Response(body(), mimetype="text/event-stream", headers=SSE_HEADERS,
                    direct_passthrough=True)


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


def count_open_stream(gw: Gateway, stream: EventStream, tenant: str) -> Callable[[], None]:
    """Count the stream among the tenant's open ones (QuotaExceeded over its limit), renewed at
    each of its re-checks; returns what uncounts it."""
    limit = gw.quotas.limit(tenant, "max_streams", gw.config.TENANT_MAX_STREAMS)
    stream_id, lapse = uuid.uuid4().hex, 3 * stream.recheck
    if not gw.quotas.open_stream(tenant, stream_id, limit, lapse):
        raise QuotaExceeded(f"{limit} event streams of yours are open (max_streams); close one "
                            "first.", policy="streams", limit=limit, retry_after=5)
    still_wanted = stream.still_wanted

    def still_wanted_and_renewed() -> bool:
        gw.quotas.renew_stream(tenant, stream_id, lapse)
        return still_wanted()

    stream.still_wanted = still_wanted_and_renewed
    return lambda: gw.quotas.close_stream(tenant, stream_id)


def reconnect_frame() -> bytes:
    """Reconnect after a random moment (so that a process's streams do not all come back at
    once); the client sends Last-Event-ID and loses nothing."""
    return f"retry: {random.randint(RETRY_MS // 6, RETRY_MS)}\n\n".encode()


def watch_for_hangup(environ: dict[str, Any], on_hangup: Callable[[], None]) -> Callable[[], None]:
    """Call `on_hangup` as soon as the client closes the connection; returns a stop function.

    Without this a quiet stream would notice a departed client only when its next heartbeat
    fails to write, up to GATEWAY_SSE_HEARTBEAT_SECONDS later. Under gunicorn's gevent worker the
    client's socket is in the environ, and an SSE client sends nothing after its request: the
    socket turning readable means it closed (or broke the protocol), either way the stream ends.
    A bare event-loop watcher, not a greenlet, so that an idle stream costs no more objects for
    the garbage collector to walk. Elsewhere this does nothing."""
    sock = environ.get("gunicorn.socket")
    if not isinstance(sock, gevent.socket.socket) or not gevent.monkey.is_module_patched("socket"):
        return lambda: None
    watcher = gevent.get_hub().loop.io(sock.fileno(), 1)  # 1: readable

    def readable() -> None:
        watcher.stop()  # level-triggered: once is enough
        on_hangup()

    watcher.start(readable)

    def stop() -> None:
        watcher.stop()
        watcher.close()

    return stop
