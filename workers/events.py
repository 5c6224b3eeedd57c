"""Job and tenant events as a client sees them: ids, SSE frames, and one listener's stream.

A Redis stream id (`<ms>-<seq>`) is the SSE event id, so `Last-Event-ID` means the same thing
to every gateway process on every host: resume after this entry of the stream in Redis.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Generator, Iterable, Iterator
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

from workers.states import FINAL_STATES

if TYPE_CHECKING:
    from workers.event_hub import EventHub, Listener

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
    def frame(self) -> bytes:
        """The text/event-stream form, made once and shared by every listener of the process."""
        data = "".join(f"data: {line}\n" for line in self.data.split("\n"))
        return f"id: {self.id}\nevent: {self.kind}\n{data}\n".encode()

    def ends_job(self) -> bool:
        """A job's stream ends with the status event of its final status."""
        return self.kind == "status" and json.loads(self.data).get("status") in FINAL_STATES


class EventStream:
    """One listener: the stored events after `after`, then live ones, until `is_last(event)`.

    Iterating yields events, and None whenever a heartbeat is due (every `heartbeat` s), after
    asking `still_wanted()` (False ends the stream: job deleted, key revoked). `interrupt()`, from
    whoever sees the client go away, ends it at once. Leaving the loop always leaves the hub."""

    def __init__(self, hub: EventHub, key: str, after: str, *, is_last: Callable[[Event], bool],
                 heartbeat: float, still_wanted: Callable[[], bool]) -> None:
        self.hub, self.key, self.position = hub, key, after
        self.is_last, self.heartbeat, self.still_wanted = is_last, heartbeat, still_wanted
        self.listener: Listener | None = None
        self.finished = False

    def interrupt(self) -> None:
        self.finished = True
        if self.listener is not None:
            self.listener.wake.set()

    def __iter__(self) -> Iterator[Event | None]:
        return self.follow()

    def follow(self) -> Generator[Event | None, None, None]:
        beat_at = time.monotonic() + self.heartbeat
        try:
            while not self.finished:
                if self.listener is None or self.listener.lagging:
                    yield from self._emit_pages(self._catch_up())
                else:
                    yield from self._emit(self.listener.take(beat_at - time.monotonic()))
                if not self.finished and time.monotonic() >= beat_at:
                    if not self.still_wanted():
                        return
                    yield None
                    beat_at = time.monotonic() + self.heartbeat
        finally:
            self._leave()

    def _catch_up(self) -> Iterator[list[Event]]:
        """Pages of what Redis holds after our position, then join the hub and read up to where
        it starts delivering. (Re-run from scratch when the listener lagged.)"""
        self._leave()
        yield from self._pages("+")
        self.listener, boundary = self.hub.join(self.key, self.position)
        if id_order(boundary) > id_order(self.position):
            yield from self._pages(boundary)

    def _pages(self, until: str) -> Iterator[list[Event]]:
        while True:
            page = self.hub.read(self.key, self.position, until)  # position moves as we emit
            yield page
            if len(page) < PAGE or self.finished:
                return

    def _emit_pages(self, pages: Iterable[list[Event]]) -> Iterator[Event]:
        for page in pages:
            yield from self._emit(page)
            if self.finished:
                return

    def _emit(self, events: list[Event]) -> Iterator[Event]:
        for event in events:
            if self.finished:
                return
            if id_order(event.id) <= id_order(self.position):
                continue  # already sent: the hub and a catch-up read may overlap
            self.position = event.id
            yield event
            if self.is_last(event):
                self.finished = True
                return

    def _leave(self) -> None:
        if self.listener is not None:
            self.hub.leave(self.listener)
            self.listener = None

