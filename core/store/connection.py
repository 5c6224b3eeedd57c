"""The Redis connections every store shares: short commands, long polls, one key prefix.

Built once per process (by `create_app` or the worker's `main`) and handed to each store.
Every pool has socket timeouts: a stalled Redis (SIGSTOP, a network partition) makes a command
fail within `timeout` seconds, which the API answers with a 503, instead of hanging a request.
Long polls (`wait`, `result?wait`, which block up to BLOCK_SLICE_SECONDS at a time) use a pool of
their own, so that thousands of them cannot take the connections authentication needs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, cast

import redis
from redis.backoff import ExponentialBackoff
from redis.retry import Retry

if TYPE_CHECKING:
    from redis.client import Pipeline
    from redis.commands.core import Script

    from core.config import Config

BLOCK_SLICE_SECONDS = 2.0  # longest blocking read of a long poll (see JobStore.wait_final)
POOL_WAIT_SECONDS = 10.0  # under load a request waits this long for a free connection


def client_options(timeout: float) -> dict[str, Any]:
    """Socket timeouts, and one quick retry of a command whose connection broke (the first
    command after a Redis restart meets a dead socket); a timeout is not retried."""
    return {"socket_timeout": timeout, "socket_connect_timeout": timeout,
            "socket_keepalive": True,
            "retry": Retry(ExponentialBackoff(cap=0.5, base=0.05), 1)}


def out_of_memory(exc: BaseException) -> bool:
    """Redis refused a write for want of memory (noeviction): a command's OutOfMemoryError, or
    a script's error naming OOM. It passes when memory is freed."""
    return isinstance(exc, redis.ResponseError) and (
        type(exc).__name__ == "OutOfMemoryError" or "OOM command not allowed" in str(exc))


def run_script(script: Script, keys: list[Any], args: list[Any],
               pipe: Pipeline | None = None) -> Any:
    """`script` now, or queued in `pipe` by its text: redis-py checks a pipeline's registered
    scripts with a SCRIPT EXISTS of its own before every execute, which EVAL needs not (Redis
    keeps the compiled script either way)."""
    if pipe is None:
        return script(keys=keys, args=args)
    return pipe.eval(cast(Any, script).script, len(keys), *keys, *args)  # its text


@dataclass(frozen=True)
class Connection:
    text: redis.Redis  # replies decoded as str: records, indexes, events
    binary: redis.Redis  # replies as bytes: compressed blobs, and RQ (which wants bytes)
    prefix: str
    blocking: redis.Redis  # long polls, with a longer socket timeout; replies as str

    @classmethod
    def for_config(cls, config: Config) -> Connection:
        """The connection of a gateway process: its Redis, prefix and timeouts."""
        return cls.open(config.REDIS_URL, config.REDIS_PREFIX,
                        timeout=config.REDIS_TIMEOUT_SECONDS)

    @classmethod
    def open(cls, url: str, prefix: str = "gw", max_connections: int = 1000,
             timeout: float = 5.0) -> Connection:
        # blocking pools: under load a request waits for a connection instead of failing (the
        # default pool refuses the 101st)
        def pool(decode: bool, socket_timeout: float) -> redis.Redis:
            return redis.Redis(connection_pool=redis.BlockingConnectionPool.from_url(
                url, decode_responses=decode, max_connections=max_connections,
                timeout=POOL_WAIT_SECONDS, **client_options(socket_timeout)))

        return cls(pool(True, timeout), pool(False, timeout), prefix,
                   pool(True, BLOCK_SLICE_SECONDS + timeout))


class SentAlong(Protocol):
    """Commands another part sends in the same round trip as a read (a request's rate count)."""

    def queue(self, pipe: Any) -> int: ...  # how many replies they take

    def settle(self, replies: list[Any]) -> None: ...
