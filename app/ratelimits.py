"""Rates, counted in Redis in fixed windows shared by every API process: requests per key,
submissions per tenant, and failed authentications per client address.

A window opens with its first count and lasts its length: one key, `{prefix}:rate:{policy}:
{identifier}`, created with the window's expiry (`SET NX EX`) and incremented, in one round trip
and without a script, so that a request's count can ride with a read the request sends anyway
(`Count`, `JobStore.owned`): a poll of a job costs one round trip, not two.

A tenant's own limits (`flask keys limits`, core/store/quotas.py) override the settings; each API
process remembers a tenant's overrides for GATEWAY_KEY_CACHE_SECONDS.
"""

from __future__ import annotations

import math
import time
from typing import Any

from core.config import Config
from core.errors import QuotaExceeded
from core.store.connection import Connection
from core.store.quotas import Quotas


class RateLimits:
    def __init__(self, config: Config, connection: Connection, quotas: Quotas) -> None:
        self.config, self.quotas = config, quotas
        self.redis, self.prefix = connection.text, f"{connection.prefix}:rate"
        self._overrides: dict[str, tuple[dict[str, int], float]] = {}

    def request(self, tenant: str, key_digest: str) -> Count:
        """One request with the key of `key_digest`, not counted yet: `send` it, or let the
        request's first read take it along."""
        per_second = self._limit(tenant, "requests_per_second", self.config.KEY_REQUESTS_PER_SECOND)
        return Count(self, "requests", key_digest, per_second, 1)

    def submission(self, tenant: str) -> None:
        per_minute = self._limit(tenant, "submits_per_minute",
                                 self.config.TENANT_SUBMITS_PER_MINUTE)
        self.send(Count(self, "submits", tenant, per_minute, 60))

    def auth_failures(self, address: str) -> AuthFailures:
        """The failed authentications of a client address: peeked at with the key's lookup,
        added to when the key is wrong."""
        return AuthFailures(Count(self, "auth-failures", address,
                                  self.config.AUTH_FAILURES_PER_MINUTE, 60))

    def send(self, count: Count) -> None:
        """Counts `count` alone: QuotaExceeded over its limit."""
        pipe = self.redis.pipeline(transaction=False)
        count.queue(pipe)
        count.settle(pipe.execute())

    def _limit(self, tenant: str, name: str, default: int) -> int:
        overrides, until = self._overrides.get(tenant, ({}, 0.0))
        if until < time.monotonic():
            overrides = self.quotas.overrides(tenant)
            if len(self._overrides) > 10_000:
                self._overrides.clear()
            self._overrides[tenant] = (overrides, time.monotonic() + self.config.KEY_CACHE_SECONDS)
        return overrides.get(name, default)


class Count:
    """One more against a limit: `queue` its commands on a pipeline, then `settle` it with their
    replies (QuotaExceeded over the limit)."""

    REPLIES = 2

    def __init__(self, rates: RateLimits, policy: str, identifier: str, limit: int,
                 window: int) -> None:
        self.rates, self.policy, self.limit, self.window = rates, policy, limit, window
        self.key = f"{rates.prefix}:{policy}:{identifier}"

    def queue(self, pipe: Any) -> int:
        """Queues its commands; returns how many replies they take."""
        pipe.set(self.key, 0, ex=self.window, nx=True)  # the window opens with its first count
        pipe.incr(self.key)
        return self.REPLIES

    def settle(self, replies: list[Any]) -> None:
        if int(replies[1]) > self.limit:
            self.refuse()

    def refuse(self) -> None:
        left_ms = int(self.rates.redis.pttl(self.key))  # type: ignore[arg-type]
        if left_ms == -1:  # the window expired between SET and INCR: this count opens the next
            self.rates.redis.set(self.key, 1, ex=self.window)
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
        self.count.rates.send(self.count)
