"""The webhook outbox lives through a Redis restart on its AOF: a Redis of its own (fsync
always, SIGKILLed mid-delivery), a deliverer and a receiver; no API or worker is needed, the
events are posted as the API posts a test event."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.clock import now_iso
from core.store.connection import Connection
from core.webhooks import Webhooks, events
from core.webhooks.signing import new_secret
from scripts.local_redis import start_redis
from tests.conftest import TestConfig, stop
from tests.waiting import eventually
from tests.webhooks_helpers import Receiver, receiver, start_deliverer

__all__ = ["receiver"]  # a fixture


class OwnRedis:
    """A Redis with an AOF written at each command (acknowledged = on disk)."""

    def __init__(self, data: Path) -> None:
        self.data = data
        self.process, self.url = start_redis(data, fsync="always")
        self.port = int(self.url.rsplit(":", 1)[1].split("/")[0])

    def crash_and_restart(self) -> None:
        """SIGKILL, no goodbye: what survives is what the AOF holds."""
        self.kill()
        self.process = start_redis(self.data, self.port, fsync="always")[0]

    def kill(self) -> None:
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[OwnRedis]:
    found = OwnRedis(tmp_path / "redis")
    yield found
    found.kill()


def test_events_and_deliveries_in_flight_survive_a_redis_restart(
        own_redis: OwnRedis, receiver: Receiver, env: dict[str, str], tmp_path: Path) -> None:
    url = own_redis.url
    settings = {**env, "REDIS_URL": url}
    webhooks = Webhooks.build(TestConfig(settings), Connection.open(url))
    secret, endpoint_id = new_secret(), "wh_survivor"
    assert webhooks.endpoints.create({
        "id": endpoint_id, "tenant": "t", "url": receiver.url("/aof"), "events": ["job.done"],
        "created": now_iso(), "secret": webhooks.sealer.seal(secret, endpoint_id)}, 5)
    receiver.configure("/aof", secret, ("hang",))
    posted = [events.entry(events.WEBHOOK_TEST, "t", now_iso(), {"n": n}, [endpoint_id])
              for n in range(3)]
    for entry in posted:
        webhooks.outbox.post(entry)
    deliverer = start_deliverer(settings, tmp_path / "deliverer.log")
    try:
        eventually(lambda: receiver.requests("/aof"), 20, "a delivery in flight")
        own_redis.crash_and_restart()
        got = eventually(lambda: len(receiver.delivered("/aof")) == 3 and receiver.delivered(
            "/aof"), 30, "every event after the restart")
    finally:
        stop(deliverer)
    assert set(got) == {entry["id"] for entry in posted}
    assert sorted(r["data"]["n"] for r in got.values()) == [0, 1, 2]
