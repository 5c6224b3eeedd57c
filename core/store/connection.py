"""The Redis connections every store shares: one text client, one bytes client, one key prefix.

Built once per process (by `create_app` or the worker's `main`) and handed to each store.
"""

from __future__ import annotations

from dataclasses import dataclass

import redis


@dataclass(frozen=True)
class Connection:
    text: redis.Redis  # replies decoded as str: records, indexes, events
    binary: redis.Redis  # replies as bytes: compressed blobs, and RQ (which wants bytes)
    prefix: str

    @classmethod
    def open(cls, url: str, prefix: str = "gw", max_connections: int = 1000) -> Connection:
        # blocking pools: under load a request waits for a connection instead of failing (the
        # default pool refuses the 101st); long polls hold one per waiter for <= 2 s at a time
        text = redis.Redis(connection_pool=redis.BlockingConnectionPool.from_url(
            url, decode_responses=True, max_connections=max_connections, timeout=20))
        binary = redis.Redis(connection_pool=redis.BlockingConnectionPool.from_url(
            url, max_connections=max_connections, timeout=20))
        return cls(text, binary, prefix)
