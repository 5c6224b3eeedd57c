"""The long-lived parts of one API process, built once by `create_app` and handed to the views.

Nothing here holds state of its own beyond connections, the event hub's listeners and the
tenants of recent keys (which revocations clear at once: see `app/tenants.py`).
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app
from rq import Queue

from app.ratelimits import RateLimits
from app.streaming.hub import EventHub
from app.tenants import TenantCache
from core import queueing
from core.admission import CostLimits
from core.circuits import Limits
from core.config import Config
from core.ibm.context import Ibm
from core.options import load_checkers
from core.parse_pool import ParsePool
from core.providers import Providers
from core.qasm_guard import ProgramLimits
from core.store.api_keys import KeyStore
from core.store.connection import Connection
from core.store.dispatch import Dispatch
from core.store.idempotency import Idempotency
from core.store.jobs import JobStore
from core.store.leases import Leases
from core.store.quotas import Quotas
from core.store.sessions import SessionStore
from core.store.snapshots import Snapshots
from core.store.stats import Stats
from core.store.stream_tokens import StreamTokens
from core.tracing import Tracing
from core.transitions import Transitions
from core.webhooks import Webhooks

SERVICE = "quantum-gateway-api"  # its name in traces, unless OTEL_SERVICE_NAME says another


@dataclass
class Gateway:
    config: Config
    store: JobStore
    leases: Leases
    idempotency: Idempotency
    stats: Stats
    snapshots: Snapshots
    keys: KeyStore
    tenants: TenantCache
    tokens: StreamTokens
    queue: Queue
    ibm: Ibm
    hub: EventHub
    dispatch: Dispatch
    quotas: Quotas
    rates: RateLimits
    parsers: ParsePool
    providers: Providers
    transitions: Transitions
    webhooks: Webhooks
    tracing: Tracing
    sessions: SessionStore

    @classmethod
    def from_config(cls, config: Config, tracing: Tracing | None = None) -> Gateway:
        connection = Connection.for_config(config)
        connection.address.watch()  # with sentinels: every pool follows a new primary at once
        store = JobStore(connection, config.JOB_RETENTION_SECONDS)
        snapshots = Snapshots(connection, config.JOB_RETENTION_SECONDS)
        keys = KeyStore(connection)
        quotas = Quotas(connection)
        leases, stats = Leases(connection), Stats(connection)
        queue = queueing.job_queue(connection.binary, config.QUEUE_NAME)
        dispatch = Dispatch(connection, config.WORKER_LEASE_SECONDS)
        ibm = Ibm.build(config, connection, store, snapshots)
        providers = Providers.build(config, queue, dispatch, stats, leases, ibm)
        webhooks = Webhooks.build(config, connection)
        return cls(
            config, store, leases, Idempotency(connection), stats,
            snapshots, keys, TenantCache(keys, config.KEY_CACHE_SECONDS),
            StreamTokens(connection, config.STREAM_TOKEN_SECONDS), queue, ibm,
            EventHub(connection.address, timeout=config.REDIS_TIMEOUT_SECONDS),
            dispatch, quotas, RateLimits(config, connection, quotas),
            ParsePool(config.PARSE_PROCESSES, config.PARSE_TIMEOUT_SECONDS,
                      config.PARSE_MEMORY_BYTES, prepare=load_checkers),
            providers, Transitions(config, store, leases, quotas, providers, webhooks.outbox),
            webhooks, tracing or Tracing.start(config, SERVICE), SessionStore(connection),
        )

    @property
    def limits(self) -> Limits:
        c = self.config
        return Limits(c.MAX_PUBS, c.MAX_SHOTS, c.MAX_QUBITS, c.MAX_PARAMETER_SETS, c.DEFAULT_SHOTS,
                      c.MAX_BROADCAST)

    @property
    def program_limits(self) -> ProgramLimits:
        c = self.config
        return ProgramLimits(c.MAX_PROGRAM_NESTING, c.MAX_QUBITS, c.MAX_CLBITS, c.MAX_GATE_DEPTH,
                             c.MAX_OPERATIONS)

    @property
    def cost_limits(self) -> CostLimits:
        c = self.config
        return CostLimits(c.MAX_TOTAL_SHOTS, c.MAX_BROADCAST, c.WORKER_MEMORY_BYTES)


def gateway() -> Gateway:
    """This process's Gateway (made by `create_app`)."""
    return current_app.extensions["gateway"]
