"""API keys: stored hashed in Redis, each belonging to one tenant.

Keys (prefix `gw` by default), owned by this module:
    {p}:keys            hash SHA-256 of a key -> {tenant, key_id, label, created}
    {p}:key-ids         hash key id -> SHA-256 of the key
    {p}:keys:revoked    pub/sub channel: digests of revoked keys (every API process listens)

A key is `gw_<key id>_<secret>`; Redis holds only the SHA-256 of the whole key (the keys are
random with 256 bits of entropy, so a fast hash is the right tool, unlike for passwords).
Keys given in GATEWAY_API_KEYS are the environment's (`source: env`): each API start registers
them and removes those no longer listed; they are revoked by taking them out of the variable.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
from typing import Any

from core.clock import now_iso
from core.store.connection import Connection, SentAlong

TENANT = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
MIN_ENV_KEY_LENGTH = 20
ENV_SOURCE = "env"


class WeakKey(ValueError):
    """A key in GATEWAY_API_KEYS too short to resist guessing."""


def digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


class KeyStore:
    def __init__(self, connection: Connection) -> None:
        self.redis = connection.text
        self.durable = connection.durable  # a key registered or revoked is on a replica
        prefix = connection.prefix
        self.by_digest = f"{prefix}:keys"
        self.by_id = f"{prefix}:key-ids"
        self.revocations = f"{prefix}:keys:revoked"  # pub/sub: digests of revoked keys

    def create(self, tenant: str, label: str = "", key: str | None = None,
               source: str = "cli") -> tuple[str, str]:
        """Register a key (a new random one unless given); returns (key id, key)."""
        if not TENANT.match(tenant):
            raise ValueError("a tenant name is 1-64 letters, digits, '.', '_' or '-'")
        key_id = secrets.token_hex(4)
        key = key or f"gw_{key_id}_{secrets.token_urlsafe(32)}"
        record = {"tenant": tenant, "key_id": key_id, "label": label, "created": now_iso(),
                  "source": source}
        existing = self.redis.hget(self.by_digest, digest(key))
        if existing:  # registering the same key again (GATEWAY_API_KEYS at every start) is a no-op
            old = json.loads(existing)  # type: ignore[arg-type]
            if old["tenant"] != tenant:
                raise ValueError("that key is registered to another tenant")
            return old["key_id"], key
        pipe = self.redis.pipeline(transaction=True)
        pipe.hset(self.by_digest, digest(key), json.dumps(record))
        pipe.hset(self.by_id, key_id, digest(key))
        self.durable.execute(pipe)
        return key_id, key

    def tenant_of(self, key: str, along: SentAlong | None = None) -> str | None:
        """The key's tenant, None if unknown. `along`: commands sent in the same round trip and
        settled after (a peek at the client address's failed authentications)."""
        if along is None:
            return self.tenant_of_digest(digest(key))
        pipe = self.redis.pipeline(transaction=False)
        pipe.hget(self.by_digest, digest(key))
        along.queue(pipe)
        found, *replies = pipe.execute()
        along.settle(replies)
        return json.loads(found)["tenant"] if found else None

    def tenant_of_digest(self, key_digest: str) -> str | None:
        found = self.redis.hget(self.by_digest, key_digest)
        return json.loads(found)["tenant"] if found else None  # type: ignore[arg-type]

    def list(self) -> list[dict[str, Any]]:
        records = [json.loads(v) for v in self.redis.hvals(self.by_digest)]  # type: ignore[union-attr]
        return sorted(records, key=lambda r: (r["tenant"], r["created"]))

    def revoke(self, key_id: str) -> bool:
        found = self.redis.hget(self.by_id, key_id)
        if not found:
            return False
        pipe = self.redis.pipeline(transaction=True)
        pipe.hdel(self.by_digest, found)  # type: ignore[arg-type]
        pipe.hdel(self.by_id, key_id)
        pipe.publish(self.revocations, found)  # type: ignore[arg-type]  # to every API process
        self.durable.execute(pipe)  # a revocation lost in a failover would bring the key back
        return True

    def register_from_env(self, spec: str) -> int:
        """`tenant:key,tenant2:key2` (GATEWAY_API_KEYS): registers them, and removes the keys
        an earlier start registered from it that it no longer names. Returns how many it names."""
        pairs = [[part.strip() for part in item.split(":", 1)]
                 for item in spec.split(",") if item.strip()]
        for pair in pairs:
            if len(pair) != 2 or not pair[1]:
                raise ValueError("GATEWAY_API_KEYS is a comma-separated list of tenant:key")
            if len(pair[1]) < MIN_ENV_KEY_LENGTH:
                raise WeakKey(f"GATEWAY_API_KEYS: the key of tenant {pair[0]!r} has "
                              f"{len(pair[1])} characters; a key needs at least "
                              f"{MIN_ENV_KEY_LENGTH} (`make key` makes strong ones)")
        for tenant, key in pairs:
            self.create(tenant, "from GATEWAY_API_KEYS", key, ENV_SOURCE)
        named = {digest(key) for _, key in pairs}
        for key_id, key_digest in self.redis.hgetall(self.by_id).items():  # type: ignore[union-attr]
            found = self.redis.hget(self.by_digest, key_digest)
            if found and key_digest not in named and self.from_env(json.loads(found)):
                self.revoke(key_id)
        return len(pairs)

    @staticmethod
    def from_env(record: dict[str, Any]) -> bool:
        return record.get("source", "") == ENV_SOURCE or record["label"] == "from GATEWAY_API_KEYS"

    def record(self, key_id: str) -> dict[str, Any] | None:
        found = self.redis.hget(self.by_id, key_id)
        record = self.redis.hget(self.by_digest, found) if found else None  # type: ignore[arg-type]
        return json.loads(record) if record else None  # type: ignore[arg-type]

    def count(self) -> int:
        return int(self.redis.hlen(self.by_digest))  # type: ignore[arg-type]
