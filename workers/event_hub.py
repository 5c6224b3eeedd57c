"""One reader per process for every live event stream it serves: the fan-out hub.

Why a hub: a blocking XREAD per open stream would hold one Redis connection per listener (2,000
streams = 2,000 connections, and a hundred listeners on one job = a hundred identical reads of each
event). Here one reader greenlet (a thread outside gevent) issues one XREAD over every stream that
has listeners in this process, and hands each new entry, parsed and framed once, to all of them.

Nothing here outlives a connection: the hub only remembers, per stream, up to which id it has
read for the listeners it has now. Events live in Redis, so any process can serve any stream and
a listener that falls behind simply reads again from Redis (see `Listener.lagging`).

Listeners join with the position they have already sent; `join` answers the hub's own position
for that stream (the boundary), so the caller reads (position, boundary] itself and the hub
delivers everything after the boundary: no gap, and repeats are dropped by id.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from workers.events import PAGE, Event

log = logging.getLogger("gateway.events")
READ_COUNT = 500  # entries per stream per XREAD: bounds one reply, the next read goes on
MAX_PENDING = 2000  # entries queued for one listener before it must re-read from Redis instead
WAKE_ATTEMPTS = 100  # x 10 ms: how long a join keeps nudging a reader that is between reads


class Listener:
    """One open stream's mailbox: the hub appends, the stream's own greenlet takes."""

    __slots__ = ("key", "lagging", "pending", "wake")

    def __init__(self, key: str) -> None:
        self.key = key
        self.pending: deque[Event] = deque()
        self.wake = threading.Event()
        self.lagging = False  # it fell MAX_PENDING behind: the queue was dropped, re-read Redis

    def deliver(self, events: list[Event]) -> None:
        if self.lagging or len(self.pending) + len(events) > MAX_PENDING:
            self.lagging = True
            self.pending.clear()
        else:
            self.pending.extend(events)
        self.wake.set()

    def take(self, timeout: float) -> list[Event]:
        """What arrived, waiting up to `timeout` s for something (an empty list if nothing did)."""
        self.wake.wait(max(0.0, timeout))
        self.wake.clear()  # before draining, so a delivery racing with the drain wakes us again
        taken = list(self.pending)
        self.pending.clear()
        return taken


@dataclass(eq=False)
class Topic:
    """A stream some listeners of this process follow, and how far the hub has read it."""

    key: str
    last_id: str
    listeners: set[Listener] = field(default_factory=set)


class EventHub:
    """Multiplexes this process's listeners onto one blocking XREAD (started on first use)."""

    def __init__(self, redis_url: str, block_seconds: float = 5.0) -> None:
        self.redis_url = redis_url
        self.block_seconds = block_seconds
        self.redis = redis.Redis.from_url(redis_url, decode_responses=True)
        self._lock = threading.Lock()
        self._topics: dict[str, Topic] = {}
        self._generation = 0  # bumped when a stream is added
        self._read_generation = 0  # the generation the reader's current XREAD covers
        self._changed = threading.Event()
        self._reader_id: int | None = None
        self._pid: int | None = None

    # -- reading from Redis directly (replay, catch-up) -----------------------------------------
    def read(self, key: str, after: str, until: str = "+", count: int = PAGE) -> list[Event]:
        """Entries with after < id <= until, oldest first."""
        entries = self.redis.xrange(key, min=f"({after}", max=until, count=count)
        return [Event.from_entry(eid, fields) for eid, fields in entries]

    def tail(self, key: str) -> str:
        """The id of the stream's newest entry ("0-0" when it is empty or gone)."""
        newest = self.redis.xrevrange(key, count=1)
        return newest[0][0] if newest else "0-0"

    # -- listeners --------------------------------------------------------------------------------
    def join(self, key: str, position: str) -> tuple[Listener, str]:
        """Follow `key` from `position`; the boundary after which the hub delivers."""
        self._ensure_reader()
        listener = Listener(key)
        with self._lock:
            topic = self._topics.get(key)
            if topic is None:
                topic = self._topics[key] = Topic(key, position)
                self._generation += 1
            topic.listeners.add(listener)
            boundary, target = topic.last_id, self._generation
        self._changed.set()
        self._nudge_reader(target)
        return listener, boundary

    def leave(self, listener: Listener) -> None:
        with self._lock:
            topic = self._topics.get(listener.key)
            if topic is not None:
                topic.listeners.discard(listener)
                if not topic.listeners:  # gone from the next XREAD; no need to interrupt this one
                    del self._topics[listener.key]

    def counts(self) -> tuple[int, int]:
        """(streams read, listeners served) by this process now."""
        with self._lock:
            return len(self._topics), sum(len(t.listeners) for t in self._topics.values())

    def _nudge_reader(self, target: int) -> None:
        """Make the reader's XREAD include a new stream now rather than after its block timeout.

        CLIENT UNBLOCK ends a blocked XREAD early. If the reader is between two reads (nothing to
        unblock), its next read includes the stream: wait until it says so, nudging again."""
        for _ in range(WAKE_ATTEMPTS):
            if self._read_generation >= target:
                return
            reader_id = self._reader_id
            if reader_id is not None and self.redis.client_unblock(reader_id):
                return
            time.sleep(0.01)

    # -- the reader -----------------------------------------------------------------------------
    def _ensure_reader(self) -> None:
        """Start the reader in this process (again after a fork: a thread does not survive one)."""
        if self._pid == os.getpid():
            return
        with self._lock:
            if self._pid == os.getpid():
                return
            self._topics.clear()
            self._pid = os.getpid()
            threading.Thread(target=self._run, name="event-hub", daemon=True).start()

    def _run(self) -> None:
        reader: redis.Redis | None = None
        while True:
            wanted = self._snapshot()
            if not wanted:
                self._changed.wait(self.block_seconds)
                self._changed.clear()  # the next snapshot sees whatever set it
                continue
            try:
                reader = reader or self._connect_reader()
                reply = reader.xread({k: t.last_id for k, t in wanted.items()},
                                     count=READ_COUNT, block=int(self.block_seconds * 1000))
            except redis.RedisError as exc:  # listeners keep their heartbeats; retry shortly
                log.warning("event hub: Redis read failed (%s); retrying", type(exc).__name__)
                reader, self._reader_id = None, None
                time.sleep(0.5)
                continue
            self._dispatch(wanted, reply)

    def _snapshot(self) -> dict[str, Topic]:
        with self._lock:
            self._read_generation = self._generation
            return dict(self._topics)

    def _connect_reader(self) -> redis.Redis:
        """A connection of its own, with no silent reconnect, so that its client id stays true."""
        reader = redis.Redis.from_url(
            self.redis_url, decode_responses=True, single_connection_client=True,
            socket_timeout=self.block_seconds + 10, socket_keepalive=True,
            retry=Retry(NoBackoff(), 0))
        self._reader_id = int(reader.client_id())
        return reader

    def _dispatch(self, wanted: dict[str, Topic], reply: list[Any] | None) -> None:
        for key, entries in reply or []:
            events = [Event.from_entry(eid, fields) for eid, fields in entries]
            if events:
                self._deliver(wanted[key], events)

    def _deliver(self, topic: Topic, events: list[Event]) -> None:
        with self._lock:
            if self._topics.get(topic.key) is not topic:
                return  # everyone left (or left and came back as a new topic) meanwhile
            topic.last_id = events[-1].id  # XREAD answers entries after last_id, in order
            for listener in topic.listeners:
                listener.deliver(events)
