"""Job and tenant events as a client sees them: ids, SSE frames, and one listener's stream.

A Redis stream id (`<ms>-<seq>`) is the SSE event id, so `Last-Event-ID` means the same thing
to every gateway process on every host: resume after this entry of the stream in Redis.
"""

from __future__ import annotations

import json
import random
import re
import time
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

from core.states import FINAL_STATES

if TYPE_CHECKING:
    from app.streaming.hub import EventHub, Listener

START = "0-0"  # before the first entry: replay everything
EVENT_ID = re.compile(r"^(\d{1,20})-(\d{1,20})$")
MAX_ID_PART = 2**64 - 1
PAGE = 500  # entries per XRANGE of a replay; a shorter page means the end was reached


def valid_event_id(text: str) -> bool:
    """True for an id Redis could have issued: two unsigned 64-bit numbers, `<ms>-<seq>`."""
    found = EVENT_ID.match(text)
    return found is not None and all(int(part) <= MAX_ID_PART for part in found.groups())


def id_order(event_id: str) -> tuple[int, int]:
    millis, _, seq = event_id.partition("-")
    return int(millis), int(seq or 0)


@dataclass(frozen=True)
class Event:
    id: str
    kind: str
    data: str  # the JSON text as the worker stored it: passed through, never re-encoded

    @classmethod
    def from_entry(cls, event_id: str, fields: dict[str, str]) -> Event:
        return cls(event_id, fields.get("kind", "message"), fields.get("data", "null"))

    @cached_property
    def order(self) -> tuple[int, int]:
        return id_order(self.id)

    @cached_property
    def frame(self) -> bytes:
        """The text/event-stream form, made once and shared by every listener of the process."""
        data = "".join(f"data: {line}\n" for line in self.data.split("\n"))
        return f"id: {self.id}\nevent: {self.kind}\n{data}\n".encode()

    def ends_job(self) -> bool:
        """A job's stream ends with the status event of its final status."""
        return self.kind == "status" and json.loads(self.data).get("status") in FINAL_STATES


def always() -> bool:
    return True


class EventStream:
    """One listener: the stored events after `after`, then live ones, until `is_last(event)`.

    `next_batch()` answers the next batch of events (what arrived together, written together),
    an empty batch whenever a heartbeat is due (every `heartbeat` s), and None at the end. Every
    `recheck` s, at a heartbeat, it asks `still_wanted()`: False (job deleted, key revoked) ends
    the stream. `interrupt()`, from whoever sees the client go away, ends it at once. `close()`
    leaves the hub, and must follow (`follow()`, the same as a generator, does it). When the
    process stops (`hub.close()`), every stream ends at once. `kind`: `job` or `tenant`, as the
    metrics count streams.

    A method rather than a generator: an idle stream is a suspended greenlet whose C stack is
    copied to the heap, and each generator between the response and the wait is one more
    interpreter frame on it (~400 B; 4 MB on 10,000 streams)."""

    # a process holds thousands of streams: no dict of attributes for each
    __slots__ = ("beat_at", "beat_due", "catching", "checked_at", "finished", "heartbeat", "hub",
                 "is_last", "key", "kind", "listener", "order", "position", "recheck",
                 "still_wanted")

    def __init__(self, hub: EventHub, key: str, after: str, *, is_last: Callable[[Event], bool],
                 heartbeat: float, still_wanted: Callable[[], bool] | None = None,
                 recheck: float = 60.0, kind: str = "job") -> None:
        self.hub, self.key, self.position, self.order = hub, key, after, id_order(after)
        self.kind = kind
        self.is_last, self.heartbeat = is_last, heartbeat
        self.still_wanted = still_wanted or always
        self.recheck = recheck
        self.listener: Listener | None = None
        self.catching: Generator[list[Event], None, None] | None = None  # a catch-up under way
        self.finished = False
        # the first beat comes early by a random part: streams opened together (a reconnect
        # storm) would otherwise beat, and re-check, together forever
        self.beat_at = time.monotonic() + heartbeat * random.uniform(0.5, 1.0)
        self.checked_at = time.monotonic()
        self.beat_due = False  # whether to see if a heartbeat is due before going on

    def interrupt(self) -> None:
        self.finished = True
        if self.listener is not None:
            self.listener.wake.set()

    def follow(self) -> Generator[list[Event], None, None]:
        try:
            while (batch := self.next_batch()) is not None:
                yield batch
        finally:
            self.close()

    def next_batch(self) -> list[Event] | None:
        while not self.finished and not self.hub.closing:
            if self.beat_due:
                self.beat_due = False
                if time.monotonic() >= self.beat_at:
                    if time.monotonic() - self.checked_at >= self.recheck:
                        if not self.still_wanted():
                            return None
                        self.checked_at = time.monotonic()
                    self.beat_at = time.monotonic() + self.heartbeat
                    if self.listener is not None:
                        self.hub.wake_at(self.listener, self.beat_at)
                    return []
            batch = self._step()
            self.beat_due = self.catching is None  # not between the pages of a catch-up
            if batch:
                return batch
        return None

    def close(self) -> None:
        if self.catching is not None:
            self.catching.close()
            self.catching = None
        self._leave()

    def _step(self) -> list[Event]:
        """A page of a catch-up, or what the hub delivered (waiting for it)."""
        if self.catching is None and (self.listener is None or self.listener.lagging):
            self.catching = self._catch_up()
        if self.catching is not None:
            batch = next(self.catching, None)
            if batch is not None:
                return batch
            self.catching = None
            if self.listener is not None:
                self.hub.wake_at(self.listener, self.beat_at)
            return []
        assert self.listener is not None  # joined at the end of the catch-up
        return self._accept(self.listener.take())

    def _catch_up(self) -> Generator[list[Event], None, None]:
        """What Redis holds after our position, then join the hub and read up to where it starts
        delivering. (Run again from scratch when the listener lagged.)"""
        self._leave()
        yield from self._pages("+")
        if self.finished:
            return
        self.listener, boundary = self.hub.join(self.key, self.position)
        if id_order(boundary) > self.order:
            yield from self._pages(boundary)

    def _pages(self, until: str) -> Iterator[list[Event]]:
        while not self.finished:
            page = self.hub.read(self.key, self.position, until)
            batch = self._accept(page)  # moves the position: the next page starts after it
            if batch:
                yield batch
            if len(page) < PAGE:
                return

    def _accept(self, events: list[Event]) -> list[Event]:
        """The events not sent yet, up to the last one this stream sends."""
        batch = []
        for event in events:
            if self.finished:
                break
            if event.order <= self.order:
                continue  # already sent: the hub and a catch-up read may overlap
            self.position, self.order = event.id, event.order
            batch.append(event)
            self.finished = self.is_last(event)
        return batch

    def _leave(self) -> None:
        if self.listener is not None:
            self.hub.leave(self.listener)
            self.listener = None
