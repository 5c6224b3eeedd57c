"""The rate limits: requests per key, submissions per tenant, and failed authentications per
client address, each counted in a window shared by every API process (`core/store/rates.py`).

A tenant's own limits (`flask keys limits`, core/store/quotas.py) override the settings; each API
process remembers a tenant's overrides for GATEWAY_KEY_CACHE_SECONDS.
"""

from __future__ import annotations

import time

from core.config import Config
from core.store.connection import Connection
from core.store.quotas import Quotas
from core.store.rates import AuthFailures, Count, RateWindows

__all__ = ["AuthFailures", "Count", "RateLimits"]


class RateLimits:
    def __init__(self, config: Config, connection: Connection, quotas: Quotas) -> None:
        self.config, self.quotas = config, quotas
        self.windows = RateWindows(connection)
        self._overrides: dict[str, tuple[dict[str, int], float]] = {}

    def request(self, tenant: str, key_digest: str) -> Count:
        """One request with the key of `key_digest`, not counted yet: `send` it, or let the
        request's first read take it along."""
        per_second = self._limit(tenant, "requests_per_second", self.config.KEY_REQUESTS_PER_SECOND)
        return self.windows.count("requests", key_digest, per_second, 1)

    def submission(self, tenant: str) -> None:
        per_minute = self._limit(tenant, "submits_per_minute",
                                 self.config.TENANT_SUBMITS_PER_MINUTE)
        self.send(self.windows.count("submits", tenant, per_minute, 60))

    def auth_failures(self, address: str) -> AuthFailures:
        """The failed authentications of a client address: peeked at with the key's lookup,
        added to when the key is wrong."""
        return AuthFailures(self.windows.count("auth-failures", address,
                                               self.config.AUTH_FAILURES_PER_MINUTE, 60))

    def send(self, count: Count) -> None:
        """Counts `count` alone: QuotaExceeded over its limit."""
        self.windows.send(count)

    def _limit(self, tenant: str, name: str, default: int) -> int:
        overrides, until = self._overrides.get(tenant, ({}, 0.0))
        if until < time.monotonic():
            overrides = self.quotas.overrides(tenant)
            if len(self._overrides) > 10_000:
                self._overrides.clear()
            self._overrides[tenant] = (overrides, time.monotonic() + self.config.KEY_CACHE_SECONDS)
        return overrides.get(name, default)
