"""The one way tests wait: poll a condition until it holds, with a deadline that fails the test.

A test never sleeps to let "nothing happen"; to show that something does not happen it waits for
a positive signal that it would have happened by then (the worker's next event, a later job)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def eventually(condition: Callable[[], T], seconds: float = 15, message: str = "",
               interval: float = 0.05) -> T:
    """The first true value `condition()` returns, polled every `interval` s; AssertionError
    naming `message` if none comes within `seconds` (a bound, never a measured time)."""
    deadline = time.monotonic() + seconds
    while True:
        found = condition()
        if found:
            return found
        if time.monotonic() >= deadline:
            raise AssertionError(f"waited {seconds:g} s for {message or condition.__name__}")
        time.sleep(interval)
