"""Webhook endpoints: where a tenant's events go, with their sealed secrets.

Keys (prefix `gw` by default), owned by this module:
    {p}:wh:endpoint:{id}        hash: the endpoint (tenant, url, events as JSON, description,
                                created, enabled "1"/"0", the sealed `secret`, after a rotation
                                the sealed `previous_secret` until `previous_until`, and while it
                                fails `failing_since`, ms)
    {p}:wh:endpoints:{tenant}   sorted set: the tenant's endpoint ids, by creation
    {p}:wh:subs:{tenant}        hash: event type -> JSON list of the tenant's enabled endpoints
                                that asked for it (every job transition reads its event's field:
                                a tenant without endpoints pays one HGET of a missing key)
    {p}:wh:callback:{tenant}    hash: the tenant's callback secret (`secret`, `previous_secret`,
                                `previous_until`), which signs its jobs' `callback_url` events
    {p}:wh:log:{id}             list: the endpoint's last attempts, newest first (JSON; written by
                                `outbox.py` as it settles them, removed with the endpoint)
An endpoint and the subscriptions change together, in one call of `lua/endpoints.lua`. Secrets
are sealed by `core/webhooks/signing.py` before they come here: Redis never holds one in clear.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from core.errors import WebhookNotFound
from core.store.connection import Connection, run_script

_LUA = Path(__file__).with_name("lua")
# KEYS: the endpoint; ARGV: now (ms). When it started failing (now, unless it was failing).
_FAILING = """
if redis.call('EXISTS', KEYS[1]) == 0 then return false end
redis.call('HSETNX', KEYS[1], 'failing_since', ARGV[1])
return redis.call('HGET', KEYS[1], 'failing_since')
"""


def endpoint_key(prefix: str, endpoint_id: str) -> str:
    return f"{prefix}:wh:endpoint:{endpoint_id}"


def endpoints_key(prefix: str, tenant: str) -> str:
    return f"{prefix}:wh:endpoints:{tenant}"


def subscriptions_key(prefix: str, tenant: str) -> str:
    return f"{prefix}:wh:subs:{tenant}"


def callback_key(prefix: str, tenant: str) -> str:
    return f"{prefix}:wh:callback:{tenant}"


def log_key(prefix: str, endpoint_id: str) -> str:
    return f"{prefix}:wh:log:{endpoint_id}"


class Endpoints:
    def __init__(self, connection: Connection) -> None:
        self.redis = connection.text
        self.prefix = connection.prefix
        self.durable = connection.durable  # a change a client is told of is on a replica
        self._change = self.redis.register_script((_LUA / "endpoints.lua").read_text())
        self._failing = self.redis.register_script(_FAILING)

    def create(self, record: dict[str, Any], most: int) -> bool:
        """Store a new endpoint and subscribe it; False when its tenant has `most` already."""
        fields = {**record, "events": json.dumps(record["events"]), "enabled": "1"}
        return bool(self._call("create", record["tenant"], record["id"],
                               [most, time.time(), json.dumps(fields)]))

    def get(self, tenant: str, endpoint_id: str) -> dict[str, Any]:
        """The tenant's endpoint; WebhookNotFound for none or another tenant's, alike."""
        record = self.find(endpoint_id)
        if record is None or record["tenant"] != tenant:
            raise WebhookNotFound(f"No webhook endpoint {endpoint_id!r}.")
        return record

    def find(self, endpoint_id: str) -> dict[str, Any] | None:
        raw = self.redis.hgetall(endpoint_key(self.prefix, endpoint_id))
        return _decode(raw) if raw else None  # type: ignore[arg-type]

    def listed(self, tenant: str) -> list[dict[str, Any]]:
        """The tenant's endpoints, oldest first."""
        ids = self.redis.zrange(endpoints_key(self.prefix, tenant), 0, -1)
        pipe = self.redis.pipeline(transaction=False)
        for endpoint_id in ids:  # type: ignore[union-attr]
            pipe.hgetall(endpoint_key(self.prefix, endpoint_id))
        return [_decode(raw) for raw in pipe.execute() if raw]

    def count(self, tenant: str) -> int:
        return int(self.redis.zcard(endpoints_key(self.prefix, tenant)))  # type: ignore[arg-type]

    def delete(self, tenant: str, endpoint_id: str) -> None:
        if not self._call("delete", tenant, endpoint_id, []):
            raise WebhookNotFound(f"No webhook endpoint {endpoint_id!r}.")

    def update(self, tenant: str, endpoint_id: str, fields: dict[str, Any],
               drop: tuple[str, ...] = ()) -> None:
        if not self._call("update", tenant, endpoint_id, [json.dumps(fields), json.dumps(drop)]):
            raise WebhookNotFound(f"No webhook endpoint {endpoint_id!r}.")

    def switch(self, tenant: str, endpoint_id: str, enabled: bool,
               fields: dict[str, Any], drop: tuple[str, ...] = ()) -> bool:
        """Enable or disable it (its subscriptions with it); False when it was so already."""
        done = self._call("enable" if enabled else "disable", tenant, endpoint_id,
                          [json.dumps(fields), json.dumps(drop)])
        if not done:
            raise WebhookNotFound(f"No webhook endpoint {endpoint_id!r}.")
        return int(done) == 1

    def failing(self, endpoint_id: str, now_ms: float) -> float | None:
        """An attempt failed: since when it has been failing (None: the endpoint is gone)."""
        since = self._failing(keys=[endpoint_key(self.prefix, endpoint_id)], args=[now_ms])
        return None if since is None else float(since)

    def succeeded(self, endpoint_id: str) -> None:
        self.redis.hdel(endpoint_key(self.prefix, endpoint_id), "failing_since")

    def callback_secrets(self, tenant: str) -> dict[str, str]:
        """The tenant's sealed callback secret(s), {} when it has none."""
        return self.redis.hgetall(callback_key(self.prefix, tenant))  # type: ignore[return-value]

    def keep_callback_secrets(self, tenant: str, fields: dict[str, str]) -> None:
        pipe = self.redis.pipeline(transaction=True)
        pipe.delete(callback_key(self.prefix, tenant))
        pipe.hset(callback_key(self.prefix, tenant), mapping=fields)  # type: ignore[arg-type]
        self.durable.execute(pipe)

    def _call(self, mode: str, tenant: str, endpoint_id: str, args: list[Any]) -> Any:
        p = self.prefix
        pipe = self.redis.pipeline(transaction=False)
        run_script(self._change, [endpoint_key(p, endpoint_id), endpoints_key(p, tenant),
                                  subscriptions_key(p, tenant), log_key(p, endpoint_id)],
                   [mode, endpoint_id, tenant, *args], pipe)
        (done,) = self.durable.execute(pipe)
        return done


def _decode(raw: dict[str, str]) -> dict[str, Any]:
    record: dict[str, Any] = dict(raw)
    record["events"] = json.loads(record.get("events") or "[]")
    record["enabled"] = record.get("enabled") == "1"
    return record
