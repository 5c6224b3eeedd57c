"""Fair dispatch: queued jobs wait per tenant and are served across tenants in turn.

Keys (prefix `gw` by default), owned by this module:
    {p}:fair:ring               sorted set of tenants with waiting jobs, scored by the turn they
                                were last served
    {p}:fair:turn               counter of turns (one per job dispatched)
    {p}:fair:order              counter of submissions (the order of a tenant's waiting jobs)
    {p}:fair:waiting:{tenant}   sorted set of the tenant's waiting job ids, in submission order
    {p}:fair:running:{tenant}   sorted set of the tenant's dispatched jobs, scored by when
    {p}:fair:parked             count of dispatch tokens put aside because every waiting tenant
                                was at its running cap; a job's end wakes as many as can start
    {p}:fair:active             set of tenants with dispatched jobs (a sweeper looks at them for
                                jobs whose worker died before starting them)
A worker takes a job with one call of `lua/dispatch.lua`: the least recently served tenant below
its running cap gives its oldest waiting job. RQ's jobs queue holds one generic token per waiting
job (`core/queueing.py`), so its length is still the number of waiting jobs. A dispatched job
counts as running while it holds its lease (`leases.py`): a job that ends, by any path, frees its
tenant's slot without anyone having to say so. The per-tenant cap `max_running` is read from
`quotas.py`'s limits hash.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from redis.client import Pipeline

from core.store.connection import Connection
from core.store.jobs import job_key
from core.store.leases import lease_key
from core.store.quotas import limits_key

_LUA = Path(__file__).with_name("lua")
# KEYS: ring, turn, order, waiting; ARGV: tenant, job id, "1" to put it first (a retry).
# A tenant that joins the ring comes after every tenant served before the latest turn, and
# before the one served last (so a lone flooder does not go again ahead of a newcomer).
_PUSH = """
local n = redis.call('INCR', KEYS[3])
redis.call('ZADD', KEYS[4], ARGV[3] == '1' and -n or n, ARGV[2])
redis.call('ZADD', KEYS[1], 'NX', (tonumber(redis.call('GET', KEYS[2])) or 0) - 0.5, ARGV[1])
"""
# KEYS: ring, waiting; ARGV: tenant, job id
_FORGET = """
redis.call('ZREM', KEYS[2], ARGV[2])
if redis.call('ZCARD', KEYS[2]) == 0 then redis.call('ZREM', KEYS[1], ARGV[1]) end
"""
# KEYS: ring; ARGV: waiting prefix, tenant, job id. Jobs that run before this one in turn:
# as many of each other tenant's as of this tenant's ahead of it (one more if served first).
_POSITION = """
local rank = redis.call('ZRANK', ARGV[1] .. ARGV[2], ARGV[3])
if not rank then return nil end
local position, before = rank + 1, 1
for _, tenant in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  if tenant == ARGV[2] then before = 0 else
    position = position + math.min(redis.call('ZCARD', ARGV[1] .. tenant), rank + before)
  end
end
return position
"""


@dataclass(frozen=True)
class Standing:
    ahead: list[str]  # the first of the tenant's jobs waiting before the job, in order
    waiting_ahead: int  # all of them
    running: list[str]  # the tenant's jobs counted against its running cap
    max_running: int | None  # its own cap; None: the default


class Dispatch:
    def __init__(self, connection: Connection, lease_grace: float = 10.0) -> None:
        self.redis = connection.text
        self.prefix = connection.prefix
        self.lease_grace = lease_grace
        self._dispatch = self.redis.register_script((_LUA / "dispatch.lua").read_text())
        self._push = self.redis.register_script(_PUSH)
        self._forget = self.redis.register_script(_FORGET)
        self._position = self.redis.register_script(_POSITION)

    def key(self, name: str) -> str:
        return f"{self.prefix}:fair:{name}"

    def push(self, tenant: str, job_id: str, pipeline: Pipeline | None = None,
             first: bool = False) -> None:
        """The job waits for its tenant's turn; `first` (a retry) puts it before the others."""
        keys = [self.key("ring"), self.key("turn"), self.key("order"),
                self.key(f"waiting:{tenant}")]
        self._push(keys=keys, args=[tenant, job_id, "1" if first else "0"], client=pipeline)

    def forget(self, tenant: str, job_id: str) -> None:
        """A cancelled or deleted job stops waiting."""
        self._forget(keys=[self.key("ring"), self.key(f"waiting:{tenant}")], args=[tenant, job_id])

    def position(self, tenant: str, job_id: str) -> int | None:
        """1-based: jobs that will start before it, plus one; None when it is not waiting."""
        found = self._position(keys=[self.key("ring")],
                               args=[self.key("waiting:"), tenant, job_id])
        return None if found is None else int(found)

    def take(self, cap: int, workers_key: str) -> tuple[str, str] | None:
        """(tenant, job id) of the fairly next job, None when no job can start now (the token
        is then parked, if any job waits, and woken by a job's end)."""
        tenant, job_id = self._call("take", cap, workers_key)
        return (tenant, job_id) if tenant else None

    def release(self, tenant: str, job_id: str, cap: int, workers_key: str) -> int:
        """The job's worker is done with it: how many parked tokens to enqueue again."""
        return int(self._call("release", cap, workers_key, tenant, job_id))

    def wake_parked(self, cap: int, workers_key: str) -> int:
        """Parked tokens that can run now (for a sweeper, should a job's end be lost); jobs
        whose worker died before starting them wait again first."""
        return int(self._call("release", cap, workers_key, "", ""))

    def lined_up(self, jobs: list[tuple[str, str]]) -> set[str]:
        """Which of these (tenant, job id) wait in their tenant's line or were dispatched."""
        pipe = self.redis.pipeline(transaction=False)
        for tenant, job_id in jobs:
            pipe.zscore(self.key(f"waiting:{tenant}"), job_id)
            pipe.zscore(self.key(f"running:{tenant}"), job_id)
        found = pipe.execute()
        return {job_id for index, (_, job_id) in enumerate(jobs)
                if found[2 * index] is not None or found[2 * index + 1] is not None}

    def shortfall(self, tokens_queued: int) -> int:
        """Waiting jobs without a token to run them (queued on RQ, or parked): tokens lost with
        a worker that died between taking one from RQ and taking a job with it."""
        tenants = self.redis.zrange(self.key("ring"), 0, -1)
        pipe = self.redis.pipeline(transaction=False)
        for tenant in tenants:
            pipe.zcard(self.key(f"waiting:{tenant}"))
        pipe.get(self.key("parked"))
        *waiting, parked = pipe.execute()
        return max(0, sum(waiting) - int(parked or 0) - tokens_queued)

    def waiting(self, tenant: str) -> int:
        return int(self.redis.zcard(self.key(f"waiting:{tenant}")))  # type: ignore[arg-type]


    def room(self, tenant: str, default_limit: int) -> tuple[int, int]:
        """(jobs waiting, the tenant's `max_queued`), in one round trip."""
        pipe = self.redis.pipeline(transaction=False)
        pipe.zcard(self.key(f"waiting:{tenant}"))
        pipe.hget(limits_key(self.prefix, tenant), "max_queued")
        waiting, limit = pipe.execute()
        return int(waiting), default_limit if limit is None else int(limit)

    def standing(self, tenant: str, job_id: str, most: int) -> Standing:
        """Read only, for estimates: the tenant's jobs waiting before this one (the first
        `most` of them), those that count against its running cap as `lua/dispatch.lua` counts
        them (holding a lease, or dispatched within the grace period) and its own cap."""
        pipe = self.redis.pipeline(transaction=False)
        pipe.zrank(self.key(f"waiting:{tenant}"), job_id)
        pipe.zrange(self.key(f"running:{tenant}"), 0, -1, withscores=True)
        pipe.hget(limits_key(self.prefix, tenant), "max_running")
        rank, dispatched, cap = pipe.execute()
        rank = rank or 0
        pipe = self.redis.pipeline(transaction=False)
        for running_id, _ in dispatched:
            pipe.exists(lease_key(self.prefix, running_id))
        if rank:
            pipe.zrange(self.key(f"waiting:{tenant}"), 0, min(rank, most) - 1)
        found = pipe.execute()
        since = time.time() - self.lease_grace
        running = [running_id for (running_id, at), held in zip(dispatched, found, strict=False)
                   if held or at > since]
        return Standing(found[-1] if rank else [], rank, running,
                        None if cap is None else int(cap))

    def _call(self, mode: str, cap: int, workers_key: str, *extra: str) -> Any:
        keys = [self.key("ring"), self.key("turn"), self.key("parked"), workers_key,
                self.key("active")]
        args = [mode, self.key("waiting:"), self.key("running:"), limits_key(self.prefix, ""),
                lease_key(self.prefix, ""), job_key(self.prefix, ""), time.time(),
                self.lease_grace, cap, *extra]
        return self._dispatch(keys=keys, args=args)
