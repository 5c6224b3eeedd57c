"""Short-lived stream tokens: how a browser's EventSource, which cannot send headers, authenticates.

An authenticated call trades the API key for a random token that opens one stream (one job's, or
the tenant's) for a few minutes; the token goes in the URL, the key never does. Redis holds only
the token's SHA-256, under a TTL, so an expired token is simply gone.

Keys (prefix `gw` by default), owned by this module:
    {p}:stream-token:{sha256 of the token}   {tenant, scope, key}, with the token's TTL
`key` is the SHA-256 of the API key that minted the token: revoking that key ends the streams
its tokens opened.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from datetime import UTC, datetime, timedelta

from core.store.connection import Connection

MAX_TOKEN_LENGTH = 128


def job_scope(job_id: str) -> str:
    return f"job:{job_id}"


TENANT_SCOPE = "tenant"


class StreamTokens:
    def __init__(self, connection: Connection, seconds: int) -> None:
        self.redis = connection.text
        self.prefix = connection.prefix
        self.seconds = seconds

    def issue(self, tenant: str, scope: str, key_digest: str,
              seconds: int | None = None) -> dict[str, str]:
        """A new token for `scope` of `tenant`, minted by the key of `key_digest`."""
        ttl = seconds or self.seconds
        token = "st_" + secrets.token_urlsafe(32)
        grant = json.dumps({"tenant": tenant, "scope": scope, "key": key_digest})
        self.redis.set(self._key(token), grant, ex=ttl)
        expires = datetime.now(UTC) + timedelta(seconds=ttl)
        return {"token": token, "expires_at": expires.isoformat(timespec="seconds")
                .replace("+00:00", "Z")}

    def grant_for(self, token: str, scope: str) -> tuple[str, str] | None:
        """(tenant, digest of the minting key) if the token is live and made for this scope."""
        if not token or len(token) > MAX_TOKEN_LENGTH:
            return None
        found = self.redis.get(self._key(token))
        grant = json.loads(found) if found else {}  # type: ignore[arg-type]
        if grant.get("scope") != scope or not grant.get("key"):
            return None
        return grant["tenant"], grant["key"]

    def _key(self, token: str) -> str:
        return f"{self.prefix}:stream-token:{_digest(token)}"


def _digest(token: str) -> str:
    # 256 random bits: a fast hash is right here (nothing to brute-force, unlike passwords)
    return hashlib.sha256(token.encode()).hexdigest()
