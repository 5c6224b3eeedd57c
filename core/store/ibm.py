"""What the gateway keeps in Redis about IBM Quantum, beside the jobs themselves (`jobs.py`).

Keys (prefix `gw` by default), all owned by this module:
    {p}:ibm:following           sorted set: IBM jobs not final here, scored by when their next
                                step is due (epoch seconds); the sweeper re-attaches overdue ones
    {p}:ibm:chains              hash job id -> the token of the one task chain that follows it
    {p}:ibm:attempts            hash job id -> submissions tried (a retry first looks by tag)
    {p}:ibm:failures            hash job id -> upstream failures in a row (for the backoff)
    {p}:ibm:pace                sorted set of recent job creations (the submission limiter)
    {p}:ibm:pause               epoch ms before which no job is created (after a 429)
    {p}:ibm:health              hash: status (ok | unhealthy), reason, at
    {p}:ibm:backends            hash name -> summary JSON of the account's devices
    {p}:ibm:backend:{name}      hash configuration, properties (JSON, as IBM sends them)
    {p}:ibm:backends:refreshed  epoch seconds of the last refresh
    {p}:ibm:live:{job id}       IBM's metrics of a job not final, kept a few seconds
    {p}:ibm:import:{runtime id} {tenant, job_id}: the one tenant, and its gateway job, that
                                follow an imported job (the first to import it)
Each key is built once here (the attributes and `*_key` methods). On Redis Cluster the two
scripts' keys must share a slot: `following` with `chains` (`_REATTACH`), `pace` with `pause`
(`_PACE`): a hash tag around `ibm` in the prefix (`{gw:ibm}`) would place them together.
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

from redis.client import Pipeline

from core.clock import now_iso
from core.store.connection import Connection

# One atomic step of the sliding-window limiter; Redis' own clock, so hosts need not agree.
_PACE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local window, limit = tonumber(ARGV[1]), tonumber(ARGV[2])
local paused = tonumber(redis.call('GET', KEYS[2]) or '0')
if paused > now then return paused - now end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if redis.call('ZCARD', KEYS[1]) < limit then
  redis.call('ZADD', KEYS[1], now, ARGV[3])
  redis.call('PEXPIRE', KEYS[1], window)
  return 0
end
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return math.max(1, tonumber(oldest[2]) + window - now)
"""

# Give an overdue job a new chain token (for exactly one sweeper) and a new due time.
_REATTACH = """
local due = redis.call('ZSCORE', KEYS[1], ARGV[1])
if not due or tonumber(due) > tonumber(ARGV[2]) then return 0 end
redis.call('ZADD', KEYS[1], ARGV[3], ARGV[1])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[4])
return 1
"""

COUNTERS = ("attempts", "failures")


class IbmState:
    def __init__(self, connection: Connection) -> None:
        self.redis = connection.text
        self.prefix = prefix = connection.prefix
        self.following_key = f"{prefix}:ibm:following"
        self.chains_key = f"{prefix}:ibm:chains"
        self.pace_key = f"{prefix}:ibm:pace"
        self.pause_key = f"{prefix}:ibm:pause"
        self.health_key = f"{prefix}:ibm:health"
        self.backends_key = f"{prefix}:ibm:backends"
        self.refreshed_key = f"{prefix}:ibm:backends:refreshed"
        self._pace = self.redis.register_script(_PACE)
        self._reattach = self.redis.register_script(_REATTACH)

    # -- the keys that take a name ----------------------------------------------------------------
    def counter_key(self, counter: str) -> str:
        """`attempts` or `failures`."""
        return f"{self.prefix}:ibm:{counter}"

    def backend_key(self, name: str) -> str:
        return f"{self.prefix}:ibm:backend:{name}"

    def live_key(self, job_id: str) -> str:
        return f"{self.prefix}:ibm:live:{job_id}"

    def import_key(self, runtime_job_id: str) -> str:
        return f"{self.prefix}:ibm:import:{runtime_job_id}"

    # -- following jobs ----------------------------------------------------------------------
    def follow(self, job_id: str, due: float, pipe: Pipeline | None = None) -> str:
        """Start a new chain for the job (replacing any other); its token."""
        chain = uuid.uuid4().hex[:12]
        target = pipe if pipe is not None else self.redis.pipeline(transaction=True)
        target.zadd(self.following_key, {job_id: due})
        target.hset(self.chains_key, job_id, chain)
        if pipe is None:
            target.execute()
        return chain

    def chain_of(self, job_id: str) -> str | None:
        return self.redis.hget(self.chains_key, job_id)  # type: ignore[return-value]

    def due(self, job_id: str, at: float) -> None:
        self.redis.zadd(self.following_key, {job_id: at}, xx=True)

    def forget(self, job_id: str) -> None:
        pipe = self.redis.pipeline(transaction=True)
        pipe.zrem(self.following_key, job_id)
        pipe.hdel(self.chains_key, job_id)
        for counter in COUNTERS:
            pipe.hdel(self.counter_key(counter), job_id)
        pipe.execute()

    def increment(self, counter: str, job_id: str) -> int:
        """Add one to the job's `attempts` or `failures`; the new value."""
        return int(self.redis.hincrby(self.counter_key(counter), job_id, 1))  # type: ignore[arg-type]

    def count(self, counter: str, job_id: str) -> int:
        """The job's `attempts` or `failures` so far."""
        return int(self.redis.hget(self.counter_key(counter), job_id) or 0)  # type: ignore[arg-type]

    def reset(self, counter: str, job_id: str) -> None:
        self.redis.hdel(self.counter_key(counter), job_id)

    def overdue(self, older_than: float) -> list[str]:
        return self.redis.zrangebyscore(self.following_key, "-inf", older_than)  # type: ignore[return-value]

    def reattach(self, job_id: str, older_than: float, due: float) -> str | None:
        """A new chain token if this caller won the overdue job, else None."""
        chain = uuid.uuid4().hex[:12]
        won = self._reattach(keys=[self.following_key, self.chains_key],
                             args=[job_id, older_than, due, chain])
        return chain if won else None

    def following(self) -> int:
        return int(self.redis.zcard(self.following_key))  # type: ignore[arg-type]

    # -- pacing job creations ----------------------------------------------------------------
    def pace(self, limit: int, window_seconds: float) -> float:
        """Take a creation slot: 0 when granted now, else the seconds to wait for one."""
        wait_ms = self._pace(keys=[self.pace_key, self.pause_key],
                             args=[int(window_seconds * 1000), limit, uuid.uuid4().hex])
        return int(wait_ms) / 1000  # type: ignore[arg-type]

    def pause(self, seconds: float) -> None:
        """IBM said 429: no job creation from any worker for `seconds`."""
        until = int((time.time() + seconds) * 1000)
        self.redis.set(self.pause_key, until, px=int(seconds * 1000) + 1000)

    # -- account health ------------------------------------------------------------------------
    def set_health(self, healthy: bool, reason: str = "") -> None:
        self.redis.hset(self.health_key, mapping={
            "status": "ok" if healthy else "unhealthy", "reason": reason, "at": now_iso()})

    def health(self) -> dict[str, str]:
        return self.redis.hgetall(self.health_key)  # type: ignore[return-value]

    # -- the account's backends ------------------------------------------------------------------
    def save_backends(self, devices: list[dict[str, Any]]) -> None:
        """Replace the cached devices: each a summary plus its configuration and properties."""
        pipe = self.redis.pipeline(transaction=True)
        pipe.delete(self.backends_key)
        for device in devices:
            name = device["summary"]["name"]
            pipe.hset(self.backends_key, name, json.dumps(device["summary"]))
            pipe.hset(self.backend_key(name), mapping={
                "configuration": json.dumps(device["configuration"]),
                "properties": json.dumps(device["properties"])})
        pipe.set(self.refreshed_key, time.time())
        pipe.execute()

    def backends(self) -> list[dict[str, Any]]:
        found = self.redis.hgetall(self.backends_key)
        return [json.loads(found[name]) for name in sorted(found)]  # type: ignore[index,arg-type]

    def backend(self, name: str) -> dict[str, Any] | None:
        found = self.redis.hget(self.backends_key, name)
        return json.loads(found) if found else None  # type: ignore[arg-type]

    def backend_document(self, name: str, kind: str) -> Any:
        """`configuration` or `properties` of a device, as IBM sent them (None if unknown)."""
        found = self.redis.hget(self.backend_key(name), kind)
        return json.loads(found) if found else None  # type: ignore[arg-type]

    def backends_read(self) -> bool:
        """The account's devices have been read at least once."""
        return bool(self.redis.exists(self.refreshed_key))

    def backends_age(self) -> float:
        refreshed = self.redis.get(self.refreshed_key)
        return time.time() - float(refreshed) if refreshed else float("inf")  # type: ignore[arg-type]

    # -- IBM's metrics of jobs that are not final ------------------------------------------------
    def live_metrics(self, job_id: str) -> dict[str, Any] | None:
        found = self.redis.get(self.live_key(job_id))
        return json.loads(found) if found else None  # type: ignore[arg-type]

    def keep_live_metrics(self, job_id: str, metrics: dict[str, Any], seconds: float) -> None:
        self.redis.set(self.live_key(job_id), json.dumps(metrics),
                       px=int(seconds * 1000))

    # -- imports -------------------------------------------------------------------------------
    def claim_import(self, tenant: str, runtime_job_id: str, job_id: str,
                     seconds: int) -> tuple[str, str] | None:
        """Bind the upstream job to this tenant's gateway job; if bound already (by this tenant
        or another), (tenant, gateway job id) of that binding."""
        name = self.import_key(runtime_job_id)
        claim = json.dumps({"tenant": tenant, "job_id": job_id})
        if self.redis.set(name, claim, nx=True, ex=seconds):
            return None
        found = json.loads(self.redis.get(name) or "{}")  # type: ignore[arg-type]
        return found.get("tenant", ""), found.get("job_id", "")
