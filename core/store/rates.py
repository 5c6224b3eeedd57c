"""Rates, counted in Redis in fixed windows shared by every API process (the limits and their
per-tenant overrides are `app/ratelimits.py`'s).

Keys (prefix `gw` by default), owned by this module:
    {p}:rate:{policy}:{identifier}  the count of the current window: `requests` per API key
                                    (its digest), `submits` per tenant, `auth-failures` per
                                    client address; it expires when its window ends
A window opens with its first count and lasts its length: the key is created with the window's
expiry (`SET NX EX`) and incremented, in one round trip and without a script, so that a
request's count can ride with a read the request sends anyway (`Count`, `JobStore.owned`): a
poll of a job costs one round trip, not two. On Redis Cluster each key stands alone (no
command touches two).
"""

from __future__ import annotations

import math
from typing import Any

from core.errors import QuotaExceeded
from core.store.connection import Connection


class RateWindows:
    def __init__(self, connection: Connection) -> None:
        self.redis, self.prefix = connection.text, connection.prefix

    def key(self, policy: str, identifier: str) -> str:
        return f"{self.prefix}:rate:{policy}:{identifier}"

    def count(self, policy: str, identifier: str, limit: int, window: int) -> Count:
        """One more against `limit` per `window` seconds, not counted yet: `send` it, or let a
        read take it along."""
        return Count(self, policy, identifier, limit, window)

    def send(self, count: Count) -> None:
        """Counts `count` alone: QuotaExceeded over its limit."""
        pipe = self.redis.pipeline(transaction=False)
        count.queue(pipe)
        count.settle(pipe.execute())


class Count:
    """One more against a limit: `queue` its commands on a pipeline, then `settle` it with their
    replies (QuotaExceeded over the limit)."""

    REPLIES = 2

    def __init__(self, windows: RateWindows, policy: str, identifier: str, limit: int,
                 window: int) -> None:
        self.windows, self.policy, self.limit, self.window = windows, policy, limit, window
        self.key = windows.key(policy, identifier)

    def queue(self, pipe: Any) -> int:
        """Queues its commands; returns how many replies they take."""
        pipe.set(self.key, 0, ex=self.window, nx=True)  # the window opens with its first count
        pipe.incr(self.key)
        return self.REPLIES

    def settle(self, replies: list[Any]) -> None:
        if int(replies[1]) > self.limit:
            self.refuse()

    def refuse(self) -> None:
        left_ms = int(self.windows.redis.pttl(self.key))  # type: ignore[arg-type]
        if left_ms == -1:  # the window expired between SET and INCR: this count opens the next
            self.windows.redis.set(self.key, 1, ex=self.window)
            return
        retry_after = max(1, math.ceil(left_ms / 1000))
        raise QuotaExceeded(f"Over the {self.policy} limit of {self.limit} per {self.window} s; "
                            f"retry in {retry_after} s.", policy=self.policy, limit=self.limit,
                            window=self.window, remaining=0, retry_after=retry_after)


class AuthFailures:
    """A client address's wrong keys in the current window: read along with the key's lookup
    (`queue`/`settle`, nothing counted); `add` counts one more wrong key, QuotaExceeded once
    over the limit, and none once the read saw it over (guessing then costs one round trip)."""

    def __init__(self, count: Count) -> None:
        self.count = count
        self.seen = 0

    def queue(self, pipe: Any) -> int:
        pipe.get(self.count.key)
        return 1

    def settle(self, replies: list[Any]) -> None:
        self.seen = int(replies[0] or 0)

    def add(self) -> None:
        if self.seen >= self.count.limit:
            self.count.refuse()
        self.count.windows.send(self.count)
