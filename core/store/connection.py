"""The Redis connections every store shares: short commands, long polls, one key prefix.

Built once per process (by `create_app` or the worker's `main`) and handed to each store.
Every pool has socket timeouts: a stalled Redis (SIGSTOP, a network partition) makes a command
fail within `timeout` seconds, which the API answers with a 503, instead of hanging a request.
Long polls (`wait`, `result?wait`, which block up to BLOCK_SLICE_SECONDS at a time) use a pool of
their own, so that thousands of them cannot take the connections authentication needs.

Where Redis is (`RedisAddress`): one URL, or the primary that Redis Sentinel names. With
sentinels, every connection asks them for the primary when it connects, so every pool (and RQ's,
and the event hub's) follows a failover: a command meeting the dead or demoted primary fails
(ConnectionError, a 503), and the next connection goes to the promoted replica. The writes a
client is told about wait for a replica (`Connection.durable`, see `durability.py`).
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, cast

import redis
from redis.backoff import ExponentialBackoff
from redis.retry import Retry
from redis.sentinel import Sentinel, SentinelConnectionPool, SentinelManagedConnection

from core.store.durability import Durable

if TYPE_CHECKING:
    from redis.client import Pipeline
    from redis.commands.core import Script

    from core.config import Config

BLOCK_SLICE_SECONDS = 2.0  # longest blocking read of a long poll (see JobStore.wait_final)
POOL_WAIT_SECONDS = 10.0  # under load a request waits this long for a free connection
WATCH_SECONDS = 1.0  # how often each process asks the sentinels who the primary is


def client_options(timeout: float, retries: int = 1,
                   connect_timeout: float | None = None) -> dict[str, Any]:
    """Socket timeouts, and one quick retry of a command whose connection broke (the first
    command after a Redis restart meets a dead socket); a timeout is not retried."""
    return {"socket_timeout": timeout, "socket_connect_timeout": connect_timeout or timeout,
            "socket_keepalive": True,
            "retry": Retry(ExponentialBackoff(cap=0.5, base=0.05), retries)}


REFUSALS_THAT_PASS = ("OOM command not allowed", "NOREPLICAS", "READONLY")


def passing_refusal(exc: BaseException) -> bool:
    """Redis refused a write, a command's or a script's, for a reason that passes: want of
    memory (OOM, under noeviction), no replica in sync (NOREPLICAS, under
    `min-replicas-to-write`), or a read-only replica (READONLY: the primary was demoted)."""
    return isinstance(exc, redis.ResponseError) and (
        isinstance(exc, redis.ReadOnlyError) or type(exc).__name__ == "OutOfMemoryError"
        or any(reason in str(exc) for reason in REFUSALS_THAT_PASS))


def run_script(script: Script, keys: list[Any], args: list[Any],
               pipe: Pipeline | None = None) -> Any:
    """`script` now, or queued in `pipe` by its text: redis-py checks a pipeline's registered
    scripts with a SCRIPT EXISTS of its own before every execute, which EVAL needs not (Redis
    keeps the compiled script either way)."""
    if pipe is None:
        return script(keys=keys, args=args)
    return pipe.eval(cast(Any, script).script, len(keys), *keys, *args)  # its text


class SentinelConnection(SentinelManagedConnection):
    """redis-py's connection to the primary the sentinels name, closed when a read is cut
    short, as its plain connections are: its own default keeps it open with the reply still to
    come, for the next command to read as its own (RQ's warm shutdown interrupts a blocking
    dequeue, and the worker's last writes then read that dequeue's answer)."""

    def read_response(self, *args: Any, disconnect_on_error: bool = True, **kwargs: Any) -> Any:
        return super().read_response(  # type: ignore[call-arg]  # types-redis predates it
            *args, disconnect_on_error=disconnect_on_error, **kwargs)


class SentinelPool(SentinelConnectionPool, redis.BlockingConnectionPool):
    """redis-py's pool of connections to the primary that the sentinels name, waiting for a
    free connection like the others (its own refuses the 101st)."""

    proxy: Any  # redis-py's SentinelConnectionPoolProxy (types-redis predates it)

    def follow(self, primary: tuple[str, int]) -> None:
        """Another primary is named: idle connections to the old one are dropped now, busy ones
        when they are given back (redis-py's own check, against the address set here)."""
        if self.proxy.master_address != primary:
            self.proxy.master_address = primary
            self.disconnect(inuse_connections=False)  # type: ignore[call-arg]  # stubs: old


class Sentinels(Sentinel):
    """redis-py's Sentinel, telling every pool built on it as soon as any connection (or the
    watch) learns of another primary. A redis-py pool learns it only when one of its own
    connections is made, which a connection to a primary that was cut off and replaced, and
    still answers, never needs: one process would then read and write on two primaries."""

    def __init__(self, sentinels: list[tuple[str, int]], **options: Any) -> None:
        super().__init__(sentinels, **options)
        self.pools: weakref.WeakSet[SentinelPool] = weakref.WeakSet()
        self.named: tuple[str, int] | None = None

    def discover_master(self, service_name: str) -> tuple[str, int]:
        host, port = super().discover_master(service_name)
        if (host, int(port)) != self.named:
            self.named = (host, int(port))
            for pool in list(self.pools):
                pool.follow(self.named)
        return host, int(port)


class RedisAddress:
    """Where the gateway's Redis is: `url` (REDIS_URL), or with `sentinels` the primary they
    call `master` (GATEWAY_REDIS_SENTINELS), found again by every new connection."""

    def __init__(self, url: str, sentinels: Sequence[tuple[str, int]] = (),
                 master: str = "mymaster", password: str | None = None,
                 sentinel_password: str | None = None, timeout: float = 5.0) -> None:
        self.url, self.master, self.password = url, master, password
        # a sentinel that does not answer is skipped at once for the next (redis-py's default
        # retries each one ten times)
        self.sentinel = Sentinels(list(sentinels), sentinel_kwargs={
            **client_options(timeout, retries=0), "password": sentinel_password,
        }) if sentinels else None
        self._watching: int | None = None  # the process whose thread watches the sentinels

    @classmethod
    def for_config(cls, config: Config) -> RedisAddress:
        return cls(config.REDIS_URL, config.REDIS_SENTINELS, config.REDIS_SENTINEL_MASTER,
                   config.REDIS_PASSWORD, config.REDIS_SENTINEL_PASSWORD,
                   config.REDIS_TIMEOUT_SECONDS)

    def pool(self, decode: bool, timeout: float, max_connections: int = 1000,
             retries: int = 1, connect_timeout: float | None = None) -> redis.ConnectionPool:
        """A pool whose callers wait for a free connection under load instead of failing (the
        default pool refuses the 101st); `timeout` for every socket operation (connecting:
        `connect_timeout`, if given)."""
        options = {"decode_responses": decode, "max_connections": max_connections,
                   "timeout": POOL_WAIT_SECONDS,
                   **client_options(timeout, retries, connect_timeout)}
        if self.sentinel is None:
            return redis.BlockingConnectionPool.from_url(self.url, **options)
        pool = SentinelPool(self.master, self.sentinel, password=self.password,
                            connection_class=SentinelConnection, **options)
        self.sentinel.pools.add(pool)
        return pool

    def client(self, decode: bool, timeout: float, max_connections: int = 1000,
               connect_timeout: float | None = None) -> redis.Redis:
        return redis.Redis(connection_pool=self.pool(decode, timeout, max_connections,
                                                     connect_timeout=connect_timeout))

    def primary(self) -> tuple[str, int]:
        """(host, port) of the primary the sentinels name now (every pool follows it);
        MasterNotFoundError (a ConnectionError) while none does."""
        if self.sentinel is None:
            raise ValueError("no sentinels: the primary is REDIS_URL")
        return self.sentinel.discover_master(self.master)

    def watch(self, every: float = WATCH_SECONDS) -> None:
        """With sentinels, ask them for the primary every `every` seconds, in a thread of this
        process (started once per process, after any fork): a primary that was cut off and
        replaced is left by every pool within that, even by connections that still work."""
        if self.sentinel is None or self._watching == os.getpid():
            return
        self._watching = os.getpid()
        threading.Thread(target=self._watch, args=(every,), daemon=True,
                         name="redis-primary").start()

    def _watch(self, every: float) -> None:
        while True:
            time.sleep(every)
            with contextlib.suppress(redis.RedisError):  # none named: commands say so
                self.primary()


@dataclass(frozen=True)
class Connection:
    text: redis.Redis  # replies decoded as str: records, indexes, events
    binary: redis.Redis  # replies as bytes: compressed blobs, and RQ (which wants bytes)
    prefix: str
    blocking: redis.Redis  # long polls, with a longer socket timeout; replies as str
    address: RedisAddress  # for clients of other kinds: RQ's loop, the event hub's readers
    durable: Durable  # the writes a client is told about: they wait for a replica

    @classmethod
    def for_config(cls, config: Config) -> Connection:
        """The connection of a gateway process: its Redis, prefix, timeouts and replica wait."""
        return cls.to(RedisAddress.for_config(config), config.REDIS_PREFIX,
                      timeout=config.REDIS_TIMEOUT_SECONDS,
                      wait_replicas=config.REDIS_WAIT_REPLICAS, wait_ms=config.REDIS_WAIT_MS)

    @classmethod
    def open(cls, url: str, prefix: str = "gw", max_connections: int = 1000,
             timeout: float = 5.0) -> Connection:
        """A connection to the Redis at `url`, writes not waiting for replicas."""
        return cls.to(RedisAddress(url), prefix, max_connections, timeout)

    @classmethod
    def to(cls, address: RedisAddress, prefix: str = "gw", max_connections: int = 1000,
           timeout: float = 5.0, wait_replicas: int = 0, wait_ms: int = 250) -> Connection:
        text = address.client(True, timeout, max_connections)
        primary = address.primary if address.sentinel is not None else None
        return cls(text, address.client(False, timeout, max_connections), prefix,
                   address.client(True, BLOCK_SLICE_SECONDS + timeout, max_connections),
                   address, Durable(text, prefix, wait_replicas, wait_ms, primary))


class SentAlong(Protocol):
    """Commands another part sends in the same round trip as a read (a request's rate count)."""

    def queue(self, pipe: Any) -> int: ...  # how many replies they take

    def settle(self, replies: list[Any]) -> None: ...
