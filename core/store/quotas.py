"""Per-tenant limits that override the settings' defaults, set with `keys limits` (app/cli.py).

Keys (prefix `gw` by default), owned by this module:
    {p}:limits:{tenant}          hash: limit name -> integer (only the overridden ones)
    {p}:streams:{tenant}         sorted set of the tenant's open event streams, scored by when
                                 each lapses unless its API process renews it
    {p}:stored:{tenant}          bytes the tenant's jobs keep (inputs and results), as last
                                 counted by `JobStore.stored_bytes`, for a few seconds
Every process reads them from here (the dispatch script reads `max_running` itself).
"""

from __future__ import annotations

import time

from redis.client import Pipeline

from core.store.connection import Connection, SentAlong, run_script

# KEYS: open streams; ARGV: stream id, now, lapses at, limit. 1 if opened, 0 if at the limit.
_OPEN_STREAM = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[2])
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[4]) then return 0 end
redis.call('ZADD', KEYS[1], ARGV[3], ARGV[1])
redis.call('EXPIRE', KEYS[1], math.ceil(ARGV[3] - ARGV[2]))
return 1
"""
LIMITS = ("max_running", "max_queued", "requests_per_second", "submits_per_minute", "max_streams",
          "max_stored_bytes")
# KEYS: the count; ARGV: bytes. Add to a count that is there (a missing one is counted afresh).
_ADD_IF_COUNTED = """
if redis.call('EXISTS', KEYS[1]) == 1 then return redis.call('INCRBY', KEYS[1], ARGV[1]) end
return nil
"""


def limits_key(prefix: str, tenant: str) -> str:
    return f"{prefix}:limits:{tenant}"


class Quotas:
    def __init__(self, connection: Connection) -> None:
        self.redis = connection.text
        self.prefix = connection.prefix
        self._open_stream = self.redis.register_script(_OPEN_STREAM)
        self._add_if_counted = self.redis.register_script(_ADD_IF_COUNTED)

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

    def open_stream(self, tenant: str, stream_id: str, limit: int, lapse: float) -> bool:
        """Count a new open stream unless the tenant has `limit` open; it lapses after `lapse`
        s unless renewed (an API process that died cannot close its streams)."""
        now = time.time()
        return bool(self._open_stream(keys=[self._streams_key(tenant)],
                                      args=[stream_id, now, now + lapse, limit]))

    def renew_stream(self, tenant: str, stream_id: str, lapse: float) -> None:
        self.redis.zadd(self._streams_key(tenant), {stream_id: time.time() + lapse}, xx=True)

    def close_stream(self, tenant: str, stream_id: str) -> None:
        self.redis.zrem(self._streams_key(tenant), stream_id)

    def stored(self, tenant: str, default_limit: int,
               along: SentAlong | None = None) -> tuple[int | None, int]:
        """(the tenant's stored bytes as last counted, None to count them again; its
        `max_stored_bytes`), in one round trip; `along`: commands sent in it too."""
        pipe = self.redis.pipeline(transaction=False)
        replies = along.queue(pipe) if along else 0
        pipe.get(self._stored_key(tenant))
        pipe.hget(limits_key(self.prefix, tenant), "max_stored_bytes")
        *sent, found, limit = pipe.execute()
        if along:
            along.settle(sent[:replies])
        return (None if found is None else int(found),
                default_limit if limit is None else int(limit))

    def keep_stored(self, tenant: str, count: int, seconds: float) -> None:
        self.redis.set(self._stored_key(tenant), count, px=int(seconds * 1000))

    def add_stored(self, tenant: str, added: int, pipe: Pipeline | None = None) -> None:
        """A new job's inputs, counted at once (its results: at the next count); in `pipe`'s
        transaction if given."""
        run_script(self._add_if_counted, [self._stored_key(tenant)], [added], pipe)

    def forget_stored(self, tenant: str) -> None:
        """Jobs were deleted: count again at the next submission."""
        self.redis.delete(self._stored_key(tenant))

    def _stored_key(self, tenant: str) -> str:
        return f"{self.prefix}:stored:{tenant}"

    def _streams_key(self, tenant: str) -> str:
        return f"{self.prefix}:streams:{tenant}"
