"""Fair dispatch: queued jobs wait per tenant and are served across tenants in turn.

Keys (prefix `gw` by default), owned by this module, one builder each below:
    {p}:fair:ring               sorted set of tenants with waiting jobs, scored by the turn they
                                were last served
    {p}:fair:turn               counter of turns (one per job dispatched)
    {p}:fair:order              counter of submissions (the order of a tenant's waiting jobs)
    {p}:fair:parked             count of dispatch tokens put aside because every waiting tenant
                                was at its running cap; a job's end wakes as many as can start
    {p}:fair:active             set of tenants with dispatched jobs (a sweeper looks at them
                                for jobs whose worker died before starting them)
    {p}:fair:waiting:{tenant}   sorted set of the tenant's waiting job ids, in submission order
    {p}:fair:dispatched:{tenant}  sorted set of the tenant's jobs a worker took, scored by when,
                                or +inf once started; they leave it when they end or are queued
                                again (the tenant's running jobs, for its cap)
and the reservations and express line of dedicated sessions, which `sessions.py` owns and
documents: a job of an open dedicated session waits in the express line, served before every
tenant's; while a session's reservation is idle (interactive_ttl after its last job) other
jobs leave a worker free for it, never the last one.
A worker takes a job with one call of `lua/dispatch.lua`: the least recently served tenant below
its running cap gives its oldest waiting job. RQ's jobs queue holds one generic token per waiting
job (`core/queueing.py`), so its length is still the number of waiting jobs. A job's transitions
(`lua/transition.lua`, given these keys by `JobStore.transition`) keep the last two in step with
its status: a start marks it started, any other change takes it out of the dispatched set, and a
final one out of its line. The per-tenant cap `max_running` is read from `quotas.py`'s limits
hash.

The scripts find the tenants they must touch in the ring, so the caller passes the keys of the
tenants it last saw there; a script that meets another writes nothing and names them all, and is
called again with their keys (`_with_tenants`). On Redis Cluster every key of this module, the
job records and `quotas.py`'s limits would share one hash tag, the prefix's (`{gw}`), with RQ's
queue and workers set, which a submission and `lua/dispatch.lua` touch with them.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from redis.client import Pipeline

from core.store.connection import Connection, run_script
from core.store.quotas import limits_key
from core.store.sessions import batch_key, express_key, reservations_key, session_key

_LUA = Path(__file__).with_name("lua")
# KEYS: ring, turn, order, waiting; ARGV: tenant, job id, "1" to put it first (a retry).
# A tenant that joins the ring comes after every tenant served before the latest turn, and
# before the one served last (so a lone flooder does not go again ahead of a newcomer).
_PUSH = """
local n = redis.call('INCR', KEYS[3])
redis.call('ZADD', KEYS[4], ARGV[3] == '1' and -n or n, ARGV[2])
redis.call('ZADD', KEYS[1], 'NX', (tonumber(redis.call('GET', KEYS[2])) or 0) - 0.5, ARGV[1])
"""
# KEYS: ring, turn, order, waiting, the session, express line, express owners, batch owners;
# ARGV: tenant, job id, "1" to put it first, now, session id. A job of an open dedicated session
# goes to the express line (with what dispatch needs of its session), any other to its tenant's
# line (a batch's, marked with its batch: dispatched together).
_PUSH_SESSION = """
local mode, ended, ends, ttl = unpack(redis.call('HMGET', KEYS[5], 'mode', 'ended', 'ends',
  'interactive_ttl'))
if mode == 'dedicated' and ended ~= 'cancelled' and ended ~= 'expired'
    and tonumber(ends) > tonumber(ARGV[4]) then
  local n = redis.call('INCR', KEYS[3])
  redis.call('ZADD', KEYS[6], ARGV[3] == '1' and -n or n, ARGV[2])
  redis.call('HSET', KEYS[7], ARGV[2], cjson.encode({session = ARGV[5], tenant = ARGV[1],
    ttl = tonumber(ttl), ends = tonumber(ends)}))
  return 1
end
if mode == 'batch' then redis.call('HSET', KEYS[8], ARGV[2], ARGV[5]) end
""" + _PUSH
# KEYS: ring, waiting, express line, express owners, batch owners; ARGV: tenant, job id
_FORGET = """
redis.call('ZREM', KEYS[2], ARGV[2])
redis.call('ZREM', KEYS[3], ARGV[2])
redis.call('HDEL', KEYS[4], ARGV[2])
redis.call('HDEL', KEYS[5], ARGV[2])
if redis.call('ZCARD', KEYS[2]) == 0 then redis.call('ZREM', KEYS[1], ARGV[1]) end
"""
# KEYS: the tenant's dispatched jobs; ARGV: job id. Not one a slow worker started meanwhile.
_DROP = """
if redis.call('ZSCORE', KEYS[1], ARGV[1]) ~= 'inf' then redis.call('ZREM', KEYS[1], ARGV[1]) end
"""
# KEYS: ring, then the waiting line of each tenant in ARGV[3..]; ARGV: the job's tenant and id.
# Jobs that run before this one in turn: as many of each other tenant's as of this tenant's
# ahead of it (one more if served first). {'', 'stale', tenant, ...} when a tenant was not given.
_POSITION = """
local line = {}
for i = 3, #ARGV do line[ARGV[i]] = KEYS[i - 1] end
local tenants, needed = redis.call('ZRANGE', KEYS[1], 0, -1), {'', 'stale', ARGV[1]}
for _, tenant in ipairs(tenants) do needed[#needed + 1] = tenant end
for i = 3, #needed do if not line[needed[i]] then return needed end end
local rank = redis.call('ZRANK', line[ARGV[1]], ARGV[2])
if not rank then return nil end
local position, before = rank + 1, 1
for _, tenant in ipairs(tenants) do
  if tenant == ARGV[1] then before = 0 else
    position = position + math.min(redis.call('ZCARD', line[tenant]), rank + before)
  end
end
return position
"""


def fair_key(prefix: str, name: str) -> str:
    """One of the module's global keys: ring, turn, order, parked, active."""
    return f"{prefix}:fair:{name}"


def waiting_key(prefix: str, tenant: str) -> str:
    return f"{prefix}:fair:waiting:{tenant}"


def dispatched_key(prefix: str, tenant: str) -> str:
    return f"{prefix}:fair:dispatched:{tenant}"


STALE = ["", "stale"]  # a script's answer when it needs the keys of other tenants
TRIES = 20  # new tenants joining the ring between two calls, again and again: not in practice


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
        self._push_session = self.redis.register_script(_PUSH_SESSION)
        self._forget = self.redis.register_script(_FORGET)
        self._position = self.redis.register_script(_POSITION)
        self._drop = self.redis.register_script(_DROP)
        self._tenants: list[str] = []  # those the scripts last needed: a hint, not the truth
        self._express: set[str] = set()  # jobs this process took from the express line

    def key(self, name: str) -> str:
        return fair_key(self.prefix, name)

    def push(self, tenant: str, job_id: str, pipeline: Pipeline | None = None,
             first: bool = False, session_id: str | None = None) -> None:
        """The job waits for its tenant's turn (or, in an open dedicated session, in the
        express line); `first` (a retry) puts it before the others."""
        keys = [self.key("ring"), self.key("turn"), self.key("order"),
                waiting_key(self.prefix, tenant)]
        args = [tenant, job_id, "1" if first else "0"]
        if session_id is None:
            run_script(self._push, keys, args, pipeline)
            return
        keys += [session_key(self.prefix, session_id), express_key(self.prefix),
                 express_key(self.prefix, "of"), batch_key(self.prefix)]
        run_script(self._push_session, keys, [*args, time.time(), session_id], pipeline)

    def forget(self, tenant: str, job_id: str) -> None:
        """A cancelled or deleted job stops waiting (its final transition did it already: this
        takes its tenant out of the ring when nothing else waits)."""
        self._forget(keys=[self.key("ring"), waiting_key(self.prefix, tenant),
                           express_key(self.prefix), express_key(self.prefix, "of"),
                           batch_key(self.prefix)],
                     args=[tenant, job_id])

    def drop(self, tenant: str, job_id: str) -> None:
        """A job taken that did not start (final or deleted meanwhile: its transitions had
        dropped it, and a late line-up put it back) no longer counts, nor waits again."""
        self._drop(keys=[dispatched_key(self.prefix, tenant)], args=[job_id])

    def position(self, tenant: str, job_id: str) -> int | None:
        """1-based: jobs that will start before it, plus one; None when it is not waiting (a
        job in the express line: its place there)."""
        found = self._with_tenants([tenant], lambda tenants: self._position(
            keys=[self.key("ring"), *(waiting_key(self.prefix, t) for t in tenants)],
            args=[tenant, job_id, *tenants]))
        if found is None:  # a dedicated session's job: served before every line
            found = self.redis.zrank(express_key(self.prefix), job_id)
            return None if found is None else int(found) + 1  # type: ignore[arg-type]
        return int(found)

    def take(self, cap: int, workers_key: str) -> tuple[str, str] | None:
        """(tenant, job id) of the fairly next job, None when no job can start now (the token
        is then parked, if any job waits, and woken by a job's end)."""
        tenant, job_id, *express = self._call("take", cap, workers_key)
        if express:
            self._express.add(job_id)
        return (tenant, job_id) if tenant else None

    def release(self, cap: int, workers_key: str, job_id: str = "") -> int:
        """A worker is done with a job (its transitions took it out of the dispatched set): how
        many parked tokens to enqueue again. A dedicated session's reservation held for
        `job_id` (taken from the express line by this process) is idle again."""
        if job_id not in self._express:  # the common case: no reservation to look at
            job_id = ""
        self._express.discard(job_id)
        return int(self._call("release", cap, workers_key, job_id=job_id))

    def wake_parked(self, cap: int, workers_key: str) -> int:
        """Parked tokens that can run now (for a sweeper, should a job's end be lost); jobs
        whose worker died before starting them wait again first."""
        return int(self._call("release", cap, workers_key, sweeping=True))

    def lined_up(self, jobs: list[tuple[str, str]]) -> set[str]:
        """Which of these (tenant, job id) wait in their tenant's line (or the express line) or
        were dispatched."""
        pipe = self.redis.pipeline(transaction=False)
        for tenant, job_id in jobs:
            pipe.zscore(waiting_key(self.prefix, tenant), job_id)
            pipe.zscore(dispatched_key(self.prefix, tenant), job_id)
            pipe.zscore(express_key(self.prefix), job_id)
        found = pipe.execute()
        return {job_id for index, (_, job_id) in enumerate(jobs)
                if any(score is not None for score in found[3 * index:3 * index + 3])}

    def shortfall(self, tokens_queued: int) -> int:
        """Waiting jobs without a token to run them (queued on RQ, or parked): tokens lost with
        a worker that died between taking one from RQ and taking a job with it."""
        tenants = self.redis.zrange(self.key("ring"), 0, -1)
        pipe = self.redis.pipeline(transaction=False)
        for tenant in tenants:
            pipe.zcard(waiting_key(self.prefix, tenant))
        pipe.zcard(express_key(self.prefix))
        pipe.get(self.key("parked"))
        *waiting, parked = pipe.execute()
        return max(0, sum(waiting) - int(parked or 0) - tokens_queued)

    def waiting(self, tenant: str) -> int:
        return int(self.redis.zcard(waiting_key(self.prefix, tenant)))  # type: ignore[arg-type]

    def room(self, tenant: str, default_limit: int) -> tuple[int, int]:
        """(jobs waiting, the tenant's `max_queued`), in one round trip."""
        pipe = self.redis.pipeline(transaction=False)
        pipe.zcard(waiting_key(self.prefix, tenant))
        pipe.hget(limits_key(self.prefix, tenant), "max_queued")
        waiting, limit = pipe.execute()
        return int(waiting), default_limit if limit is None else int(limit)

    def standing(self, tenant: str, job_id: str, most: int) -> Standing:
        """Read only, for estimates, in one round trip: the tenant's jobs waiting before this
        one (the first `most` of them), those that count against its running cap (its
        dispatched jobs) and its own cap."""
        pipe = self.redis.pipeline(transaction=False)
        pipe.zrank(waiting_key(self.prefix, tenant), job_id)
        pipe.zrange(dispatched_key(self.prefix, tenant), 0, -1)
        pipe.hget(limits_key(self.prefix, tenant), "max_running")
        pipe.zrange(waiting_key(self.prefix, tenant), 0, most - 1)
        rank, running, cap, first = pipe.execute()
        rank = rank or 0
        return Standing(first[:rank], rank, running, None if cap is None else int(cap))

    def _call(self, mode: str, cap: int, workers_key: str, sweeping: bool = False,
              job_id: str = "") -> Any:
        p = self.prefix
        fixed = [self.key("ring"), self.key("turn"), self.key("parked"), workers_key,
                 self.key("active"), reservations_key(p), express_key(p), express_key(p, "of"),
                 batch_key(p)]
        head = [mode, time.time(), self.lease_grace, cap, "1" if sweeping else "0", job_id]
        return self._with_tenants([], lambda tenants: self._dispatch(
            keys=fixed + [key for t in tenants for key in self._tenant_keys(t)],
            args=head + tenants))

    def _tenant_keys(self, tenant: str) -> list[str]:
        """A tenant's keys, in the order `lua/dispatch.lua` takes them."""
        p = self.prefix
        return [waiting_key(p, tenant), dispatched_key(p, tenant), limits_key(p, tenant)]

    def _with_tenants(self, also: Iterable[str], call: Callable[[list[str]], Any]) -> Any:
        """`call(tenants)` with the tenants the scripts last needed and `also`; once more with
        those a script names when it needed others (the module's docstring)."""
        tenants = sorted(set(self._tenants).union(also))
        for _ in range(TRIES):
            reply = call(tenants)
            if not (isinstance(reply, list) and reply[:2] == STALE):
                return reply
            tenants = sorted(set(reply[2:]))
            self._tenants = tenants
        raise RuntimeError(f"fair dispatch: the ring changed under {TRIES} calls in a row")
