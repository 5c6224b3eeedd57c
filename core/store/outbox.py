"""The webhook outbox: events waiting to go out, their deliveries, and whose turn it is.

Keys (prefix `gw` by default), owned by this module:
    {p}:wh:outbox             list: events posted (JSON entries, `core/webhooks/events.py`),
                              newest first; a job's transition pushes its event here in the same
                              atomic step as the status change
    {p}:wh:event:{id}         string: the body every delivery of the event sends, kept while a
                              delivery of it may still be tried
    {p}:wh:due:{endpoint}     sorted set: the endpoint's deliveries waiting, `{attempt}:{event id}`
                              scored by when due (ms)
    {p}:wh:ready:{tenant}     sorted set: the tenant's endpoints with a delivery waiting and room
                              in flight, scored by their turn (ms)
    {p}:wh:ring               sorted set: tenants with a ready endpoint, scored by their turn
    {p}:wh:flight             hash: endpoint -> deliveries in flight
    {p}:wh:leases             sorted set: deliveries in flight (JSON [tenant, endpoint,
                              delivery]), scored by when the lease of the deliverer ends (ms)
    {p}:wh:notices:{job id}   hash: `{endpoint} {event id}` -> how that notification went (JSON),
                              for the job's page; it expires with the job
A deliverer (`workers/webhooks/`) takes events from the outbox's tail and fans each out to
its endpoints' due deliveries in one call (`lua/outbox_fanout.lua`); it takes the fairly next
due delivery under a lease (`lua/outbox_claim.lua`) and settles it after the attempt
(`lua/outbox_settle.lua`). A deliverer that dies mid-delivery leaves a lease that runs out;
any other finds it (`expired`) and queues the delivery again.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from redis.client import Pipeline

from core.store.connection import Connection, run_script
from core.store.webhooks import log_key, subscriptions_key

_LUA = Path(__file__).with_name("lua")
LOG_LENGTH = 100  # attempts kept per endpoint


def outbox_key(prefix: str) -> str:
    return f"{prefix}:wh:outbox"


def event_key(prefix: str, event_id: str) -> str:
    return f"{prefix}:wh:event:{event_id}"


def due_key(prefix: str, endpoint_id: str) -> str:
    return f"{prefix}:wh:due:{endpoint_id}"


def ready_key(prefix: str, tenant: str) -> str:
    return f"{prefix}:wh:ready:{tenant}"


def shared_key(prefix: str, name: str) -> str:
    """One of the module's global keys: outbox, ring, flight, leases."""
    return f"{prefix}:wh:{name}"


def notices_key(prefix: str, job_id: str) -> str:
    return f"{prefix}:wh:notices:{job_id}"


@dataclass(frozen=True)
class Claim:
    """A delivery taken under a lease: attempt `attempt` of `event_id` to `endpoint`."""

    tenant: str
    endpoint: str
    attempt: int
    event_id: str
    lease: str

    @classmethod
    def of(cls, lease: str) -> Claim:
        tenant, endpoint, delivery = json.loads(lease)
        attempt, _, event_id = delivery.partition(":")
        return cls(tenant, endpoint, int(attempt), event_id, lease)


class Outbox:
    def __init__(self, connection: Connection, most_in_flight: int = 2,
                 notice_seconds: int = 7 * 24 * 3600) -> None:
        self.redis, self.binary = connection.text, connection.binary
        self.blocking = connection.blocking
        self.prefix = connection.prefix
        self.most = most_in_flight
        self.notice_seconds = notice_seconds
        self._fanout = self.redis.register_script((_LUA / "outbox_fanout.lua").read_text())
        self._claim = self.redis.register_script((_LUA / "outbox_claim.lua").read_text())
        self._settle = self.redis.register_script((_LUA / "outbox_settle.lua").read_text())

    def key(self, name: str) -> str:
        return shared_key(self.prefix, name)

    # -- posting and fanning out --------------------------------------------------------------
    def post(self, entry: dict[str, Any], pipe: Pipeline | None = None) -> None:
        """An event to send (in `pipe`'s transaction if given)."""
        (pipe or self.redis).lpush(self.key("outbox"), json.dumps(entry, ensure_ascii=False))

    def take(self, timeout: float) -> str | None:
        """The oldest entry, moved to the head while it is fanned out (it stays in the outbox
        until `fan_out` removes it); None when none came within `timeout` s."""
        return self.blocking.blmove(self.key("outbox"), self.key("outbox"), timeout,
                                    "RIGHT", "LEFT")  # type: ignore[return-value]

    def fan_out(self, entry: str, event: dict[str, Any], body: bytes, targets: list[str],
                keep_seconds: int) -> bool:
        """Queue one delivery of `event` per target endpoint and drop the entry, at once; False
        when another deliverer did it first."""
        p, tenant = self.prefix, event["tenant"]
        keys = [self.key("outbox"), event_key(p, event["id"]), self.key("ring"),
                ready_key(p, tenant), self.key("flight"), *(due_key(p, t) for t in targets)]
        args = [entry, body, keep_seconds, _now_ms(), self.most, f"1:{event['id']}", tenant,
                *targets]
        return bool(self._fanout(keys=keys, args=args))

    def discard(self, entry: str) -> None:
        """An entry that cannot be read leaves the outbox (else it would come round forever)."""
        self._fanout(keys=[self.key("outbox")], args=[entry])

    def body(self, event_id: str) -> bytes | None:
        return self.binary.get(event_key(self.prefix, event_id))  # type: ignore[return-value]

    # -- claiming and settling ----------------------------------------------------------------
    def claim(self, lease_seconds: float) -> Claim | None:
        """The fairly next due delivery, under a lease: the tenant whose turn it is, its
        endpoint whose turn it is, that endpoint's first due delivery. None when none is due."""
        for _ in range(3):  # another deliverer may take what this one saw first
            now = _now_ms()
            tenants = self.redis.zrangebyscore(self.key("ring"), "-inf", now, start=0, num=1)
            if not tenants:
                return None
            tenant = tenants[0]  # type: ignore[index]
            ready = self.redis.zrangebyscore(ready_key(self.prefix, tenant), "-inf", now,
                                             start=0, num=1)
            endpoint = ready[0] if ready else ""  # type: ignore[index]
            taken = self._claim(keys=self._turn_keys(tenant, endpoint), args=[
                tenant, endpoint, now, now + lease_seconds * 1000, self.most])
            if taken:
                return Claim.of(taken[1])
        return None

    def settle(self, claim: Claim, retry_at: float | None, attempt: dict[str, Any] | None,
               job_id: str | None, notice: dict[str, Any] | None) -> bool:
        """The attempt is over: record it (`attempt` in the endpoint's log, unless None: the
        endpoint is gone; `notice` in the job's) and free its place in flight; `retry_at` (s
        since the epoch) queues the next attempt. False when its lease had run out and it was
        queued again already."""
        p = self.prefix
        retry = "" if retry_at is None else f"{claim.attempt + 1}:{claim.event_id}"
        pipe = self.redis.pipeline(transaction=False)
        run_script(self._settle, self._turn_keys(claim.tenant, claim.endpoint), [
            claim.tenant, claim.endpoint, claim.lease, _now_ms(), self.most, retry,
            (retry_at or 0) * 1000], pipe)
        if attempt is not None and not claim.endpoint.startswith(CALLBACK_PREFIX):
            pipe.lpush(log_key(p, claim.endpoint), json.dumps(attempt))
            pipe.ltrim(log_key(p, claim.endpoint), 0, LOG_LENGTH - 1)
        if job_id and notice:
            pipe.hset(notices_key(p, job_id), f"{claim.endpoint} {claim.event_id}",
                      json.dumps(notice))
            pipe.expire(notices_key(p, job_id), self.notice_seconds)
        return bool(pipe.execute()[0])

    def expired(self, count: int = 50) -> list[Claim]:
        """Deliveries whose deliverer's lease ran out (it died, or hangs)."""
        leases = self.redis.zrangebyscore(self.key("leases"), "-inf", _now_ms(), start=0,
                                          num=count)
        return [Claim.of(lease) for lease in leases]  # type: ignore[union-attr]

    def anything_due(self) -> bool:
        return bool(self.redis.zrangebyscore(self.key("ring"), "-inf", _now_ms(), start=0, num=1))

    # -- reading --------------------------------------------------------------------------------
    def attempts(self, endpoint_id: str, count: int = LOG_LENGTH) -> list[dict[str, Any]]:
        """The endpoint's last attempts, newest first."""
        found = self.redis.lrange(log_key(self.prefix, endpoint_id), 0, count - 1)
        return [json.loads(item) for item in found]  # type: ignore[union-attr]

    def notices(self, job_id: str) -> list[dict[str, Any]]:
        """How each notification of the job went, oldest first."""
        found = self.redis.hgetall(notices_key(self.prefix, job_id))
        return sorted((json.loads(v) for v in found.values()),  # type: ignore[union-attr]
                      key=lambda notice: notice["created"])

    def subscribed(self, tenant: str, event_type: str) -> list[str]:
        """The tenant's enabled endpoints that asked for `event_type`."""
        found = self.redis.hget(subscriptions_key(self.prefix, tenant), event_type)
        return json.loads(found) if found else []  # type: ignore[arg-type]

    def subscribed_along(self, tenant: str, event_type: str) -> Subscribed:
        """The tenant's endpoints for `event_type`, read along with another request's commands."""
        return Subscribed(subscriptions_key(self.prefix, tenant), event_type)

    def _turn_keys(self, tenant: str, endpoint: str) -> list[str]:
        p = self.prefix
        return [self.key("ring"), ready_key(p, tenant), due_key(p, endpoint),
                self.key("flight"), self.key("leases")]


CALLBACK_PREFIX = "callback."  # the pseudo-endpoint of a tenant's jobs' callback URLs


def callback_endpoint(tenant: str) -> str:
    return f"{CALLBACK_PREFIX}{tenant}"


class Subscribed:
    """A `SentAlong` read of the endpoints subscribed to one event type of a tenant."""

    def __init__(self, key: str, event_type: str) -> None:
        self.key, self.event_type = key, event_type
        self.endpoints: list[str] = []

    def queue(self, pipe: Any) -> int:
        pipe.hget(self.key, self.event_type)
        return 1

    def settle(self, replies: list[Any]) -> None:
        self.endpoints = json.loads(replies[0]) if replies[0] else []


def _now_ms() -> float:
    return time.time() * 1000
