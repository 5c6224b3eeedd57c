"""Per-tenant limits that override the settings' defaults, set with `keys limits` (app/cli.py).

Keys (prefix `gw` by default), owned by this module:
    {p}:limits:{tenant}          hash: limit name -> integer (only the overridden ones)
Every process reads them from here (the dispatch script reads `max_running` itself).
"""

from __future__ import annotations

from core.store.connection import Connection

LIMITS = ("max_running", "max_queued")


def limits_key(prefix: str, tenant: str) -> str:
    return f"{prefix}:limits:{tenant}"


class Quotas:
    def __init__(self, connection: Connection) -> None:
        self.redis = connection.text
        self.prefix = connection.prefix

    def overrides(self, tenant: str) -> dict[str, int]:
        raw = self.redis.hgetall(limits_key(self.prefix, tenant))
        return {name: int(value) for name, value in raw.items()}  # type: ignore[union-attr]

    def limit(self, tenant: str, name: str, default: int) -> int:
        found = self.redis.hget(limits_key(self.prefix, tenant), name)
        return default if found is None else int(found)  # type: ignore[arg-type]

    def set(self, tenant: str, name: str, value: int | None) -> None:
        """Override one limit for `tenant`; None goes back to the setting's default."""
        if name not in LIMITS:
            raise ValueError(f"unknown limit {name!r}; one of {', '.join(LIMITS)}")
        if value is None:
            self.redis.hdel(limits_key(self.prefix, tenant), name)
        else:
            self.redis.hset(limits_key(self.prefix, tenant), name, int(value))
