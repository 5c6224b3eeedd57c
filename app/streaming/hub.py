"""A few readers per process for every live event stream it serves: the fan-out hub.

Why a hub: a blocking XREAD per open stream would hold one Redis connection per listener (2,000
streams = 2,000 connections, and a hundred listeners on one job = a hundred identical reads of each
event). Here a reader greenlet (a thread outside gevent) issues one XREAD over up to
STREAMS_PER_READER streams that have listeners in this process, and hands each new entry, parsed
and framed once, to all of them. Readers are added as streams are: an event re-issues only its
own reader's XREAD, so its cost does not grow with every stream the process holds.

Nothing here outlives a connection: the hub only remembers, per stream, up to which id it has
read for the listeners it has now. Events live in Redis, so any process can serve any stream and
a listener that falls behind simply reads again from Redis (see `Listener.lagging`).

Listeners join with the position they have already sent; `join` answers the hub's own position
for that stream (the boundary), so the caller reads (position, boundary] itself and the hub
delivers everything after the boundary: no gap, and repeats are dropped by id.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import os
import threading
import time
from dataclasses import dataclass, field
from typing import Protocol

import gevent
import gevent.monkey
import redis
from gevent.hub import Waiter

from app.streaming.events import PAGE, Event
from core.store.connection import RedisAddress

log = logging.getLogger("gateway.events")
STREAMS_PER_READER = 200  # bounds the XREAD an event re-issues; more streams, more readers
READ_COUNT = 500  # entries per stream per XREAD: bounds one reply, the next read goes on
MAX_PENDING = 2000  # entries queued for one listener before it must re-read from Redis instead
READ_CONNECTIONS = 50  # per process, for replays: each holds one only for one XRANGE
WAKE_ATTEMPTS = 100  # x 10 ms: how long a join keeps nudging a reader that is between reads


class Wake(Protocol):
    def set(self) -> None: ...
    def clear(self) -> None: ...
    def wait(self) -> object: ...


class GreenWake:
    """threading.Event's set, clear and wait, for the one greenlet of a stream.

    An idle stream is a suspended greenlet, and a suspended greenlet keeps the C stack it was
    switched out with, copied to the heap. gevent's Event parks a stream's greenlet ~0.7 KB
    deeper than a bare Waiter (measured in place): on 10,000 idle streams, 7 MB. (The Waiter
    also makes a wake-up that comes after the greenlet stopped waiting, say killed, harmless.)"""

    __slots__ = ("flag", "waiter")

    def __init__(self) -> None:
        self.flag = False
        self.waiter: Waiter | None = None

    def set(self) -> None:
        self.flag = True
        waiter, self.waiter = self.waiter, None
        if waiter is not None:  # a Waiter is switched from the hub, which resumes its greenlet
            gevent.get_hub().loop.run_callback(waiter.switch, None)

    def clear(self) -> None:
        self.flag = False

    def wait(self) -> None:
        if not self.flag:
            waiter = self.waiter = Waiter()
            try:
                waiter.get()
            finally:
                self.waiter = None


def new_wake() -> Wake:
    """A GreenWake under gevent (gunicorn's workers); a threading.Event where threads are real."""
    return GreenWake() if gevent.monkey.is_module_patched("threading") else threading.Event()


class Listener:
    """One open stream's mailbox: the hub appends, the stream's own greenlet takes."""

    __slots__ = ("key", "lagging", "pending", "wake")

    def __init__(self, key: str) -> None:
        self.key = key
        self.pending: list[Event] = []  # an empty list holds no storage (an empty deque: 600 B)
        self.wake = new_wake()
        self.lagging = False  # it fell MAX_PENDING behind: the queue was dropped, re-read Redis

    def deliver(self, events: list[Event]) -> None:
        if self.lagging or len(self.pending) + len(events) > MAX_PENDING:
            self.lagging = True
            self.pending.clear()
        else:
            self.pending.extend(events)
        self.wake.set()

    def take(self) -> list[Event]:
        """What arrived, waiting until something did or the hub's ticker called (then [])."""
        if not self.pending:
            self.wake.wait()
        self.wake.clear()  # before draining, so a delivery racing with the drain wakes us again
        taken, self.pending = self.pending, []
        return taken


@dataclass(eq=False)
class Topic:
    """A stream some listeners of this process follow, and how far its reader has read it."""

    key: str
    last_id: str
    reader: Reader
    listeners: set[Listener] = field(default_factory=set)


class Reader:
    """One blocking XREAD, in its own greenlet, over a share of the hub's topics."""

    def __init__(self, hub: EventHub) -> None:
        self.hub = hub
        self.topics: dict[str, Topic] = {}  # guarded by the hub's lock
        self.generation = 0  # bumped when a topic is added
        self.read_generation = 0  # the generation of the XREAD under way
        self.changed = threading.Event()
        self.client_id: int | None = None
        threading.Thread(target=self._run, name="event-reader", daemon=True).start()

    def nudge(self, target: int) -> None:
        """Make the XREAD include a new topic now rather than after its block timeout.

        CLIENT UNBLOCK ends a blocked XREAD early. If the reader is between two reads (nothing to
        unblock), its next read includes the topic: wait until it says so, nudging again."""
        self.changed.set()
        for _ in range(WAKE_ATTEMPTS):
            if self.read_generation >= target:
                return
            if self.client_id is not None and self.hub.redis.client_unblock(self.client_id):
                return
            time.sleep(0.01)

    def _run(self) -> None:
        connection: redis.Redis | None = None
        block_ms = int(self.hub.block_seconds * 1000)
        while True:
            wanted = self._snapshot()
            if not wanted:
                self.changed.wait(self.hub.block_seconds)
                self.changed.clear()  # the next snapshot sees whatever set it
                continue
            try:
                connection = connection or self._connect()
                reply = connection.xread({k: t.last_id for k, t in wanted.items()},
                                         count=READ_COUNT, block=block_ms)
            except redis.RedisError as exc:  # listeners keep their heartbeats; retry shortly
                log.warning("event hub: Redis read failed (%s); retrying", type(exc).__name__)
                if connection is not None:  # through sentinels, the next asks for the primary
                    connection.connection_pool.disconnect()
                connection, self.client_id = None, None
                time.sleep(0.5)
                continue
            for key, entries in reply or []:
                self.hub.deliver(wanted[key], [Event.from_entry(i, f) for i, f in entries])

    def _snapshot(self) -> dict[str, Topic]:
        with self.hub.lock:
            self.read_generation = self.generation
            return dict(self.topics)

    def _connect(self) -> redis.Redis:
        """A connection of its own, with no silent reconnect, so that its client id stays true."""
        pool = self.hub.address.pool(True, self.hub.block_seconds + self.hub.timeout,
                                     max_connections=1, retries=0,
                                     connect_timeout=self.hub.timeout)
        connection = redis.Redis(connection_pool=pool, single_connection_client=True)
        self.client_id = int(connection.client_id())
        return connection


class EventHub:
    """Multiplexes this process's listeners onto a few blocking XREADs (started on first use)."""

    def __init__(self, address: RedisAddress, block_seconds: float = 5.0,
                 timeout: float = 5.0) -> None:
        self.address = address  # a URL, or sentinels: readers follow a failover as pools do
        self.block_seconds = block_seconds
        self.timeout = timeout  # socket timeout of every command: a stalled Redis fails fast
        self.closing = False  # the process is stopping: streams tell their clients to reconnect
        self.streams = 0  # streams this process is serving (app/services/streams.py counts them)
        # replays and catch-ups wait their turn for a connection rather than fail, and cannot
        # starve the other routes of theirs
        self.redis = address.client(True, timeout, max_connections=READ_CONNECTIONS)
        self.lock = threading.Lock()
        self._topics: dict[str, Topic] = {}
        self._readers: list[Reader] = []
        self._alarms: list[tuple[float, int, Listener]] = []  # a heap, by time
        self._alarm_order = itertools.count()  # breaks ties: listeners do not compare
        self._alarms_changed = threading.Event()
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
        listener = Listener(key)
        with self.lock:
            self._forget_parent_process()
            topic = self._topics.get(key)
            if topic is None:
                topic = self._topics[key] = Topic(key, position, self._reader_with_room())
                topic.reader.topics[key] = topic
                topic.reader.generation += 1
            topic.listeners.add(listener)
            boundary, reader, target = topic.last_id, topic.reader, topic.reader.generation
        reader.nudge(target)
        return listener, boundary

    def leave(self, listener: Listener) -> None:
        with self.lock:
            topic = self._topics.get(listener.key)
            if topic is not None:
                topic.listeners.discard(listener)
                if not topic.listeners:  # gone from the next XREAD; no need to interrupt this one
                    del self._topics[listener.key]
                    del topic.reader.topics[listener.key]

    def deliver(self, topic: Topic, events: list[Event]) -> None:
        """A reader's new entries of `topic`, to each of its listeners."""
        with self.lock:
            if not events or self._topics.get(topic.key) is not topic:
                return  # everyone left (or left and came back as a new topic) meanwhile
            topic.last_id = events[-1].id  # XREAD answers entries after last_id, in order
            for listener in topic.listeners:
                listener.deliver(events)

    # -- heartbeats: one timer per process, not one per stream ----------------------------------
    def wake_at(self, listener: Listener, when: float) -> None:
        """Wake `listener` at `when` (time.monotonic()), so that it can send a heartbeat.

        A stream waits for events with no timeout of its own: a timeout per wait would cost a
        timer per event per listener, and hot streams wait once per event."""
        with self.lock:
            self._forget_parent_process()
            heapq.heappush(self._alarms, (when, next(self._alarm_order), listener))
            earliest = self._alarms[0][2] is listener
        if earliest:
            self._alarms_changed.set()

    def _ring_alarms(self) -> None:
        while True:
            with self.lock:
                now = time.monotonic()
                while self._alarms and self._alarms[0][0] <= now:
                    heapq.heappop(self._alarms)[2].wake.set()
                delay = self._alarms[0][0] - now if self._alarms else 60.0
            self._alarms_changed.wait(delay)
            self._alarms_changed.clear()  # the heap is read again right after

    def close(self) -> None:
        """The process is stopping: end every stream now (each tells its client to reconnect,
        and to resume from its Last-Event-ID on another process)."""
        with self.lock:
            self.closing = True
            listeners = [lst for topic in self._topics.values() for lst in topic.listeners]
        for listener in listeners:
            listener.wake.set()

    def counts(self) -> tuple[int, int, int]:
        """(streams read, listeners served, readers) in this process now."""
        with self.lock:
            listeners = sum(len(t.listeners) for t in self._topics.values())
            return len(self._topics), listeners, len(self._readers)

    def _reader_with_room(self) -> Reader:
        reader = min(self._readers, key=lambda r: len(r.topics), default=None)
        if reader is None or len(reader.topics) >= STREAMS_PER_READER:
            reader = Reader(self)
            self._readers.append(reader)
        return reader

    def _forget_parent_process(self) -> None:
        """After a fork the readers' threads are gone: start afresh in this process."""
        if self._pid != os.getpid():
            self._pid = os.getpid()
            self._topics.clear()
            self._readers.clear()
            self._alarms.clear()
            threading.Thread(target=self._ring_alarms, name="event-alarms", daemon=True).start()
