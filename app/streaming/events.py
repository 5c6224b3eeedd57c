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


class EventStream:
    """One listener: the stored events after `after`, then live ones, until `is_last(event)`.

    `follow()` yields batches of events (what arrived together, written together), and an empty
    batch whenever a heartbeat is due (every `heartbeat` s). Every `recheck` s, at a heartbeat, it
    asks `still_wanted()`: False (job deleted, key revoked) ends the stream. `interrupt()`, from
    whoever sees the client go away, ends it at once. Leaving the loop, however it happens,
    leaves the hub. When the process stops (`hub.close()`), every stream ends at once.
    `kind`: `job` or `tenant`, as the metrics count streams."""

    # a process holds thousands of streams: no dict of attributes for each
    __slots__ = ("finished", "heartbeat", "hub", "is_last", "key", "kind", "listener", "order",
                 "position", "recheck", "still_wanted")

    def __init__(self, hub: EventHub, key: str, after: str, *, is_last: Callable[[Event], bool],
                 heartbeat: float, still_wanted: Callable[[], bool], recheck: float = 60.0,
                 kind: str = "job") -> None:
        self.hub, self.key, self.position, self.order = hub, key, after, id_order(after)
        self.kind = kind
        self.is_last, self.heartbeat, self.still_wanted = is_last, heartbeat, still_wanted
        self.recheck = recheck
        self.listener: Listener | None = None
        self.finished = False

    def interrupt(self) -> None:
        self.finished = True
        if self.listener is not None:
            self.listener.wake.set()

    def follow(self) -> Generator[list[Event], None, None]:
        # the first beat comes early by a random part: streams opened together (a reconnect
        # storm) would otherwise beat, and re-check, together forever
        beat_at = time.monotonic() + self.heartbeat * random.uniform(0.5, 1.0)
        checked_at = time.monotonic()
        try:
            while not self.finished and not self.hub.closing:
                if self.listener is None or self.listener.lagging:
                    yield from self._catch_up()
                    if self.listener is not None:
                        self.hub.wake_at(self.listener, beat_at)
                else:
                    batch = self._accept(self.listener.take())
                    if batch:
                        yield batch
                if self.finished or self.hub.closing or time.monotonic() < beat_at:
                    continue
                if time.monotonic() - checked_at >= self.recheck:
                    if not self.still_wanted():
                        return
                    checked_at = time.monotonic()
                yield []
                beat_at = time.monotonic() + self.heartbeat
                if self.listener is not None:
                    self.hub.wake_at(self.listener, beat_at)
        finally:
            self._leave()

    def _catch_up(self) -> Iterator[list[Event]]:
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
