"""Every worker's sweeper thread: it recovers the jobs of workers that died and any job nothing
would move on (`recovery.py`), now and then prunes the indexes of expired jobs, and re-attaches
IBM Quantum jobs whose chain of steps was lost."""

from __future__ import annotations

import logging
import threading

import redis

from core import sessions
from core.store import listing
from core.store.connection import Connection
from core.store.sessions import SessionStore
from workers import dispatch, recovery
from workers.context import WorkerContext
from workers.health import ALIVE_FILE

log = logging.getLogger("gateway.worker")
PRUNE_EVERY_SECONDS = 600


def sweep_forever(ctx: WorkerContext, stop: threading.Event) -> None:
    """Recover the jobs of dead workers; now and then, prune indexes of expired jobs and end
    sessions past their max_ttl."""
    session_store = SessionStore(Connection.for_config(ctx.config))
    while not stop.wait(ctx.config.WORKER_LEASE_SECONDS / 2):
        try:
            recovery.recover_orphans(ctx)
            # it SCANs the keyspace for status indexes: not at every pass
            every = 3 * ctx.config.WORKER_LEASE_SECONDS
            for provider in ctx.providers.all:
                if provider.recovers and ctx.stats.take_turn(f"unmoved-{provider.name}", every):
                    recovery.check_unmoved(ctx, provider)
            if ctx.stats.take_turn("check-tokens", every):
                recovery.check_tokens(ctx)
            dispatch.wake_lost(ctx)
            if ctx.stats.take_turn("expire-sessions", ctx.config.WORKER_LEASE_SECONDS):
                sessions.expire_due(session_store, ctx.store, ctx.transitions)
            if ctx.stats.take_turn("prune-indexes", PRUNE_EVERY_SECONDS):
                listing.prune_indexes(ctx.store)
        except redis.RedisError as exc:  # the sweeper must outlive a Redis outage
            log.warning("sweeping failed: %s: %s", type(exc).__name__, exc)
        except Exception:
            log.exception("sweeping failed")
        for provider in ctx.providers.all:
            try:
                provider.sweep(ctx.stats)
            except Exception:
                log.exception("sweeping %s jobs failed", provider.name)
        ALIVE_FILE.touch()

