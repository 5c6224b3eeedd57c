"""Device-properties snapshots: the calibration data each job ran against, stored once per content.

Keys (prefix `gw` by default), owned by this module:
    {p}:props:{ref}   zlib-compressed JSON of a backend's properties; `ref` is derived from the
                      content, so jobs on the same data share it; kept twice the job retention
"""

from __future__ import annotations

import hashlib
import json
import time
import zlib
from typing import Any

from core.store.connection import Connection
from core.store.records import compress


def properties_ref(blob: bytes) -> str:
    """The reference of a properties snapshot: derived from its content, so shared."""
    return hashlib.sha256(blob).hexdigest()[:32]


class Snapshots:
    def __init__(self, connection: Connection, retention: int) -> None:
        self.redis = connection.binary
        self.prefix = connection.prefix
        self.retention = retention
        self._kept: dict[str, float] = {}  # ref -> until when this process need not renew it

    def key(self, ref: str) -> str:
        return f"{self.prefix}:props:{ref}"

    def save(self, properties: dict[str, Any]) -> str:
        """Store a snapshot once per content; returns its reference."""
        blob = compress(properties)
        ref = properties_ref(blob)
        self.keep(ref, blob)
        return ref

    def keep(self, ref: str, blob: bytes) -> None:
        """Make sure snapshot `ref` (content `blob`) outlives by a retention every job that
        refers to it from now: it lives for twice the retention, renewed with one EXPIRE when
        it is there already (rather than sent again), and by each process at most every
        tenth of the retention (not once per job)."""
        if time.monotonic() < self._kept.get(ref, 0.0):
            return
        name, ttl = self.key(ref), 2 * self.retention
        if not self.redis.expire(name, ttl):
            self.redis.set(name, blob, ex=ttl)
        if len(self._kept) > 10_000:
            self._kept.clear()
        self._kept[ref] = time.monotonic() + self.retention / 10

    def get(self, ref: str | None) -> dict[str, Any] | None:
        data = self.redis.get(self.key(ref)) if ref else None
        return json.loads(zlib.decompress(data)) if data else None  # type: ignore[arg-type]
