"""`Idempotency-Key`: the same key and body give the same job again, for a day.

Keys (prefix `gw` by default), owned by this module:
    {p}:t:{tenant}:idem:{sha256 of the key}   "job id|body hash", expiring after a day
"""

from __future__ import annotations

import hashlib

from core.store.connection import Connection

LIFETIME_SECONDS = 24 * 3600


class Idempotency:
    def __init__(self, connection: Connection) -> None:
        self.redis = connection.text
        self.prefix = connection.prefix

    def claim(self, tenant: str, key: str, job_id: str, body_hash: str) -> tuple[str, str] | None:
        """Bind `key` to this job; if it is bound already, (job id, body hash) of that."""
        name = self._key(tenant, key)
        if self.redis.set(name, f"{job_id}|{body_hash}", nx=True, ex=LIFETIME_SECONDS):
            return None
        found = self.redis.get(name) or "|"
        job, _, stored = found.partition("|")  # type: ignore[union-attr]
        return job, stored

    def release(self, tenant: str, key: str) -> None:
        self.redis.delete(self._key(tenant, key))

    def _key(self, tenant: str, key: str) -> str:
        return f"{self.prefix}:t:{tenant}:idem:{hashlib.sha256(key.encode()).hexdigest()}"
