"""Rates, counted in Redis by the `limits` library (fixed windows, shared by every API process):
requests per key, submissions per tenant, and failed authentications per client address.

A tenant's own limits (`flask keys limits`, core/store/quotas.py) override the settings; each API
process remembers a tenant's overrides for GATEWAY_KEY_CACHE_SECONDS. Counters live under
`{prefix}:rate:` (the library's keys, with their windows' TTL).
"""

from __future__ import annotations

import time

from limits import RateLimitItem, RateLimitItemPerMinute, RateLimitItemPerSecond
from limits.storage import RedisStorage
from limits.strategies import FixedWindowRateLimiter

from core.config import Config
from core.errors import QuotaExceeded
from core.store.connection import Connection
from core.store.quotas import Quotas


class RateLimits:
    def __init__(self, config: Config, connection: Connection, quotas: Quotas) -> None:
        self.config, self.quotas = config, quotas
        # the gateway's own connections (and their timeouts), not a pool of the library's
        storage = RedisStorage(config.REDIS_URL, key_prefix=f"{connection.prefix}:rate",
                               connection_pool=connection.text.connection_pool)
        self.limiter = FixedWindowRateLimiter(storage)
        self._overrides: dict[str, tuple[dict[str, int], float]] = {}

    def request(self, tenant: str, key_digest: str) -> None:
        """One request with the key of `key_digest`: QuotaExceeded over its rate."""
        per_second = self._limit(tenant, "requests_per_second", self.config.KEY_REQUESTS_PER_SECOND)
        self._hit(RateLimitItemPerSecond(per_second), "requests", "key", key_digest)

    def submission(self, tenant: str) -> None:
        per_minute = self._limit(tenant, "submits_per_minute",
                                 self.config.TENANT_SUBMITS_PER_MINUTE)
        self._hit(RateLimitItemPerMinute(per_minute), "submits", "tenant", tenant)

    def auth_blocked(self, address: str) -> None:
        """QuotaExceeded while `address` is over its failed authentications (not counting one)."""
        item = RateLimitItemPerMinute(self.config.AUTH_FAILURES_PER_MINUTE)
        if not self.limiter.test(item, "auth-failures", address):
            self._refuse(item, "auth-failures", "auth-failures", address)

    def auth_failed(self, address: str) -> None:
        item = RateLimitItemPerMinute(self.config.AUTH_FAILURES_PER_MINUTE)
        if not self.limiter.hit(item, "auth-failures", address):
            self._refuse(item, "auth-failures", "auth-failures", address)

    def _hit(self, item: RateLimitItem, policy: str, *identifiers: str) -> None:
        if not self.limiter.hit(item, policy, *identifiers):
            self._refuse(item, policy, policy, *identifiers)

    def _refuse(self, item: RateLimitItem, policy: str, *identifiers: str) -> None:
        stats = self.limiter.get_window_stats(item, *identifiers)
        retry_after = max(1, int(stats.reset_time - time.time() + 0.999))
        raise QuotaExceeded(f"Over the {policy} limit of {item.amount} per "
                            f"{item.get_expiry()} s; retry in {retry_after} s.",
                            policy=policy, limit=item.amount, window=item.get_expiry(),
                            remaining=stats.remaining, retry_after=retry_after)

    def _limit(self, tenant: str, name: str, default: int) -> int:
        overrides, until = self._overrides.get(tenant, ({}, 0.0))
        if until < time.monotonic():
            overrides = self.quotas.overrides(tenant)
            if len(self._overrides) > 10_000:
                self._overrides.clear()
            self._overrides[tenant] = (overrides, time.monotonic() + self.config.KEY_CACHE_SECONDS)
        return overrides.get(name, default)
