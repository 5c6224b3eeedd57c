"""Writes that someone is told about survive a failover: each waits for a replica (`WAIT`).

Keys (prefix `gw` by default), owned by this module:
    {p}:stats:unreplicated  writes that no replica acknowledged in time, yet stood (a counter)

Redis replicates asynchronously: a write the primary has acknowledged is lost if the primary
dies before a replica has it and that replica is promoted. So the writes the gateway tells
someone about (a job's creation, answered 202; its final state; a key registered or revoked;
webhook endpoints and callback secrets; the sessions to come) go through `Durable.execute`,
which follows them with `WAIT replicas timeout` on the same connection: WAIT counts that
client's own writes, and with them everything the primary wrote before. Other writes (a
RUNNING status, log lines, leases) are not waited for: a failover that loses one costs a job a
second run, never an acknowledged job or result. With `replicas` 0 (a plain REDIS_URL, by
default) `execute` is `pipe.execute()`.

When fewer replicas acknowledge within the timeout, the sentinels (if any) are asked who the
primary is. Not the Redis written to (it was cut off and replaced, and drops its writes when it
rejoins as a replica): `NotReplicated`, a ConnectionError, so the API answers 503 and a worker
writes again, to the new primary. Still it, or no sentinels: the replicas are down or behind;
the write stands and is acknowledged, logged (at most once a minute per process) and counted.
The README ("Faults") argues why. Until replicas keep up again, the process's next writes wait
only BEHIND_WAIT_MS: a primary left without a replica by a failover costs each write
milliseconds, not the whole timeout.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import redis

if TYPE_CHECKING:
    from redis.client import Pipeline

log = logging.getLogger("gateway")
WARN_EVERY_SECONDS = 60.0
BEHIND_WAIT_MS = 10  # while replicas do not keep up: ample for one that came back


def unreplicated_key(prefix: str) -> str:
    return f"{prefix}:stats:unreplicated"


class NotReplicated(redis.ConnectionError):
    """A write went to a Redis that the sentinels no longer name as the primary."""


class _Lent:
    """A pool of one connection, lent to a pipeline so that the WAIT after it goes to the same
    Redis client (a pipeline gives its connection back to its pool as soon as it has run)."""

    def __init__(self, connection: Any) -> None:
        self.connection = connection

    def get_connection(self, *_args: Any, **_kwargs: Any) -> Any:
        return self.connection

    def release(self, _connection: Any) -> None:
        """Kept until the WAIT has run: `Durable.execute` gives it back to its own pool."""


class Durable:
    """Runs the writes that must be on `replicas` replicas before they are acknowledged."""

    def __init__(self, client: redis.Redis, prefix: str, replicas: int = 0,
                 timeout_ms: int = 250,
                 primary: Callable[[], tuple[str, int]] | None = None) -> None:
        self.client, self.prefix = client, prefix
        self.replicas, self.timeout_ms = replicas, timeout_ms
        self.primary = primary  # who the sentinels name as the primary now
        self._warned_at = -WARN_EVERY_SECONDS
        self._kept_up = True  # the last WAIT had its replicas

    def execute(self, pipe: Pipeline) -> list[Any]:
        """`pipe.execute()`, then WAIT on its connection: in the same round trip, unless `pipe`
        is a transaction (inside MULTI, WAIT answers at once: it must follow EXEC)."""
        if self.replicas <= 0:
            return pipe.execute()
        pool = pipe.connection_pool
        connection = pool.get_connection()
        try:
            pipe.connection_pool = _Lent(connection)  # type: ignore[assignment]
            timeout = self.timeout_ms if self._kept_up else min(self.timeout_ms, BEHIND_WAIT_MS)
            if pipe.transaction or pipe.explicit_transaction:
                replies = pipe.execute()
                acked = self._wait(connection, timeout)
            else:
                pipe.execute_command("WAIT", self.replicas, timeout)
                *replies, acked = pipe.execute()
            self._kept_up = int(acked) >= self.replicas
            self._check(connection, int(acked))
            return replies
        finally:
            pipe.connection_pool = pool
            pool.release(connection)

    def _wait(self, connection: Any, timeout: int) -> int:
        try:
            connection.send_command("WAIT", self.replicas, timeout)
            return int(connection.read_response())
        except (redis.ConnectionError, redis.TimeoutError):
            connection.disconnect()  # half a conversation: never reused
            raise

    def _check(self, connection: Any, acked: int) -> None:
        if acked >= self.replicas:
            return
        written_to = (connection.host, connection.port)
        if self.primary is not None and self._named_primary() != written_to:
            connection.disconnect()  # its next use asks the sentinels again
            raise NotReplicated(f"{written_to[0]}:{written_to[1]} is no longer the primary; "
                                "what was written there is lost")
        self._count(acked)

    def _named_primary(self) -> tuple[str, int] | None:
        try:
            return self.primary() if self.primary is not None else None
        except redis.RedisError:  # no sentinel answers, or none names a primary: unconfirmed
            return None

    def _count(self, acked: int) -> None:
        now = time.monotonic()
        if now - self._warned_at >= WARN_EVERY_SECONDS:
            self._warned_at = now
            log.warning("REDIS REPLICATION: %d of %d replicas acknowledged a write within %d ms; "
                        "it stands on the primary alone until a replica has it (counted in "
                        "gateway_redis_unreplicated_writes_total)", acked, self.replicas,
                        self.timeout_ms)
        with contextlib.suppress(redis.RedisError):  # a count: the write stands either way
            self.client.incr(unreplicated_key(self.prefix))

    def unreplicated(self) -> int:
        """Writes no replica acknowledged in time, gateway-wide, ever."""
        return int(self.client.get(unreplicated_key(self.prefix)) or 0)  # type: ignore[arg-type]
