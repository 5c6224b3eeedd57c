"""Webhooks: the events a tenant's endpoints (and a job's `callback_url`) receive, signed as
Standard Webhooks says, from a durable outbox in Redis. The API keeps the endpoints
(`app/webhooks.py`), the transitions post the events (`core/transitions.py`), and the
deliverer (`python -m workers.webhooks`) sends them: the API never calls out."""

from __future__ import annotations

from dataclasses import dataclass

from core.config import Config
from core.store.connection import Connection
from core.store.outbox import Outbox
from core.store.webhooks import Endpoints
from core.webhooks.destinations import Destinations
from core.webhooks.signing import Sealer


@dataclass
class Webhooks:
    """What the API and the deliverer share: the endpoints, the outbox, the sealed secrets and
    where a call may go."""

    config: Config
    endpoints: Endpoints
    outbox: Outbox
    sealer: Sealer
    destinations: Destinations

    @classmethod
    def build(cls, config: Config, connection: Connection) -> Webhooks:
        return cls(config, Endpoints(connection),
                   Outbox(connection, config.WEBHOOK_ENDPOINT_IN_FLIGHT,
                          config.JOB_RETENTION_SECONDS),
                   Sealer(config.WEBHOOK_SECRET_KEYS),
                   Destinations(config.WEBHOOK_ALLOW_HTTP, config.WEBHOOK_ALLOW_NETWORKS))
