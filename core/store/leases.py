"""Which worker runs which job: leases a live worker renews, and the jobs whose worker died.

Keys (prefix `gw` by default), owned by this module:
    {p}:running         sorted set of running jobs, scored by when their lease was taken
    {p}:lease:{id}      the worker holding the job, with a TTL its worker keeps renewing
    {p}:suspects:{check}  hash: job id -> what the sweeper's last check of that kind
                        (`unmoved`) found wrong with it (`workers/recovery.py`: a job is
                        recovered when two checks agree)
A final status change (`lua/transition.lua`) drops both; the keys are passed to it from here.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

from core.store.connection import Connection


def running_key(prefix: str) -> str:
    return f"{prefix}:running"


def lease_key(prefix: str, job_id: str) -> str:
    return f"{prefix}:lease:{job_id}"


def suspects_key(prefix: str, check: str) -> str:
    return f"{prefix}:suspects:{check}"


class Leases:
    def __init__(self, connection: Connection) -> None:
        self.redis = connection.text
        self.prefix = connection.prefix

    def hold(self, job_id: str, worker: str, seconds: float) -> None:
        pipe = self.redis.pipeline(transaction=False)
        pipe.set(lease_key(self.prefix, job_id), worker, px=int(seconds * 1000))
        pipe.zadd(running_key(self.prefix), {job_id: time.time()})
        pipe.execute()

    def release(self, job_id: str) -> None:
        pipe = self.redis.pipeline(transaction=False)
        pipe.delete(lease_key(self.prefix, job_id))
        pipe.zrem(running_key(self.prefix), job_id)
        pipe.execute()

    def drop(self, job_id: str, worker: str) -> None:
        """Give up `worker`'s lease but leave the job among the running ones: the job is not
        final (its last write failed, or the worker is stopping), so a sweeper recovers it at
        its next pass rather than when the lease would have run out."""
        if self.redis.get(lease_key(self.prefix, job_id)) == worker:
            self.redis.delete(lease_key(self.prefix, job_id))

    def suspects(self, check: str) -> dict[str, str]:
        return self.redis.hgetall(suspects_key(self.prefix, check))  # type: ignore[return-value]

    def set_suspects(self, check: str, suspects: dict[str, str]) -> None:
        pipe = self.redis.pipeline(transaction=True)
        pipe.delete(suspects_key(self.prefix, check))
        if suspects:
            pipe.hset(suspects_key(self.prefix, check), mapping=suspects)  # type: ignore[arg-type]
        pipe.execute()

    def claim_orphan(self, job_id: str) -> bool:
        """True for exactly one caller: the sweeper that gets to recover this job."""
        return bool(self.redis.zrem(running_key(self.prefix), job_id))

    def orphaned(self) -> Iterator[str]:
        """Running jobs whose worker stopped renewing its lease."""
        running = self.redis.zrange(running_key(self.prefix), 0, -1)
        if not running:
            return
        pipe = self.redis.pipeline(transaction=False)
        for job_id in running:
            pipe.exists(lease_key(self.prefix, job_id))
        for job_id, held in zip(running, pipe.execute(), strict=False):
            if not held:
                yield job_id

    def running_ids(self) -> set[str]:
        return set(self.redis.zrange(running_key(self.prefix), 0, -1))  # type: ignore[arg-type]

    def watch(self, job_id: str) -> None:
        """Put a RUNNING job found outside the running set back in it, with no lease: the next
        `orphaned()` reports it."""
        self.redis.zadd(running_key(self.prefix), {job_id: 0}, nx=True)

    def holders(self) -> set[str]:
        """The workers holding a running job's lease (each worker's name is host:pid)."""
        running = self.redis.zrange(running_key(self.prefix), 0, -1)
        if not running:
            return set()
        held = self.redis.mget([lease_key(self.prefix, job_id) for job_id in running])
        return {worker for worker in held if worker}  # type: ignore[union-attr]

    def running_count(self) -> int:
        return int(self.redis.zcard(running_key(self.prefix)))  # type: ignore[arg-type]
