"""The tenants of recently used API keys, remembered per API process.

Resolving a key is one Redis round trip, half of what a status read costs (figure 1 of the
bench). Remembering it would delay a revocation in every other process, so: `KeyStore.revoke`
publishes the key's digest, and each process follows that channel and forgets the key at once;
while a process is not subscribed (starting, or Redis unreachable) it remembers nothing; and a
key is remembered `seconds` at most, the bound should a revocation bypass `revoke` (a hand-made
HDEL). Only valid keys are remembered, so unknown keys cannot fill the memory.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from core.store.api_keys import KeyStore, digest
from core.store.connection import SentAlong

log = logging.getLogger("gateway.api")
MAX_ENTRIES = 10_000
RESUBSCRIBE_SECONDS = 1.0


class TenantCache:
    def __init__(self, keys: KeyStore, seconds: float) -> None:
        self.keys = keys
        self.seconds = seconds
        self._entries: dict[str, tuple[str, float]] = {}  # digest -> (tenant, valid until)
        self._subscribed = False
        self._changes = 0  # bumped by every revocation and (un)subscription
        self._follower: threading.Thread | None = None
        self._watchers: dict[str, set[Callable[[], None]]] = {}  # digest -> streams to end
        self._lock = threading.Lock()

    def tenant_of(self, key: str, along: SentAlong | None = None) -> str | None:
        """The key's tenant, None if unknown; `along` goes with the lookup when Redis is asked
        (a key remembered valid asks nothing, and `along` is not sent)."""
        if self.seconds <= 0:
            return self.keys.tenant_of(key, along)
        self._follow()
        found = self._entries.get(digest(key))
        if found is not None and found[1] > time.monotonic():
            return found[0]
        seen, subscribed = self._changes, self._subscribed
        tenant = self.keys.tenant_of(key, along)
        # a revocation (or lost subscription) during the lookup may concern this very key
        if tenant is not None and subscribed and seen == self._changes:
            if len(self._entries) >= MAX_ENTRIES:
                self._entries.clear()
            self._entries[digest(key)] = (tenant, time.monotonic() + self.seconds)
        return tenant

    def on_revoked(self, key_digest: str, callback: Callable[[], None]) -> None:
        """Call `callback` when the key of `key_digest` is revoked (until `off_revoked`)."""
        self._follow()
        self._watchers.setdefault(key_digest, set()).add(callback)

    def off_revoked(self, key_digest: str, callback: Callable[[], None]) -> None:
        callbacks = self._watchers.get(key_digest, set())
        callbacks.discard(callback)  # an equal callback will do: a bound method made again
        if not callbacks:
            self._watchers.pop(key_digest, None)

    def _follow(self) -> None:
        """Start following revocations, once per process (after gunicorn forked it)."""
        if self._follower is not None:
            return
        with self._lock:
            if self._follower is None:
                self._follower = threading.Thread(target=self._follow_forever, daemon=True,
                                                  name="key-revocations")
                self._follower.start()

    def _follow_forever(self) -> None:
        while True:
            try:
                pubsub = self.keys.redis.pubsub()
                pubsub.subscribe(self.keys.revocations)
                for message in pubsub.listen():
                    if message["type"] == "subscribe":
                        self._set_subscribed(True)
                    elif message["type"] == "message":
                        self._changes += 1
                        self._entries.pop(message["data"], None)
                        for callback in list(self._watchers.get(message["data"], ())):
                            callback()
            except Exception as exc:  # Redis went away: remember nothing until it is back
                if self._subscribed:  # once per outage, not once per retry
                    log.warning("key revocations not followed (%s); keys are not remembered "
                                "until Redis answers again", exc)
            self._set_subscribed(False)
            time.sleep(RESUBSCRIBE_SECONDS)

    def _set_subscribed(self, subscribed: bool) -> None:
        self._changes += 1
        self._subscribed = subscribed
        if not subscribed:
            self._entries.clear()
