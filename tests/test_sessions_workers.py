"""Dedicated sessions on real workers: a variational loop's next job starts at once while another
tenant floods every worker, and a worker that dies holding a session's reservation leaks
nothing (its job runs again, the session's next job still runs, the reservation lapses).

The module runs its own Redis, three RQ workers and an API server, with
GATEWAY_TENANT_MAX_RUNNING = workers (the flood may take them all but for the reservation)."""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import httpx
import pytest
import redis

from core.store.connection import Connection
from core.store.jobs import JobStore
from core.store.leases import lease_key
from core.store.sessions import SessionStore
from scripts.local_http import launch_api, wait_for_http
from scripts.local_redis import start_redis
from tests.conftest import result_of, sampler_job, slow_circuit, start_worker, stop, submit
from tests.events_helpers import eventually

KEYS = {"flood": "sessions-flood-0123456789-abc", "loop": "sessions-loop-0123456789-abcd"}
WORKERS = 3


class Stack:
    def __init__(self, data: Path, env: dict[str, str]) -> None:
        self.redis, self.url = start_redis(data, persist=False)
        self.env = {**env, "REDIS_URL": self.url, "GATEWAY_WORKER_LEASE_SECONDS": "2",
                    "GATEWAY_TENANT_MAX_RUNNING": str(WORKERS), "GATEWAY_JOB_MAX_ATTEMPTS": "3",
                    "GATEWAY_API_KEYS": ",".join(f"{t}:{k}" for t, k in KEYS.items()),
                    "GATEWAY_WORKER_PREWARM": "aer_simulator"}
        self.workers = [start_worker(self.env) for _ in range(WORKERS)]
        self.base, self.api = launch_api(self.env, 1)
        wait_for_http(f"{self.base}/readyz", self.api, 120)
        self.sessions = SessionStore(Connection.open(self.url))

    def client(self, tenant: str) -> httpx.Client:
        return httpx.Client(base_url=self.base, timeout=90,
                            headers={"Authorization": f"Bearer {KEYS[tenant]}"})

    def worker_running(self, job_id: str) -> subprocess.Popen:
        client = redis.Redis.from_url(self.url, decode_responses=True)
        holder: list[str] = []
        assert eventually(lambda: bool(holder.append(client.get(lease_key("gw", job_id)) or "")
                                       or holder[-1]), 60), "the job never ran"
        pid = int(holder[-1].rsplit(":", 1)[1])
        return next(w for w in self.workers if w.pid == pid)

    def close(self) -> None:
        for process in [*self.workers, self.api, self.redis]:
            stop(process)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, env: dict[str, str]) -> Iterator[Stack]:
    built = Stack(tmp_path_factory.mktemp("sessions-workers"), env)
    yield built
    built.close()


def waited(stack: Stack, job_id: str) -> float:
    """Seconds the finished job waited between its submission and its start."""
    job = JobStore(Connection.open(stack.url)).get(job_id) or {}
    created, running = (datetime.fromisoformat(job[n].replace("Z", "+00:00"))
                        for n in ("created", "running"))
    return (running - created).total_seconds()


def dedicated(http: httpx.Client, **body: object) -> str:
    response = http.post("/v1/sessions", json={"backend": "aer_simulator", "mode": "dedicated",
                                               **body})
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def test_a_loops_next_job_starts_at_once_under_a_flood_of_every_worker(stack: Stack) -> None:
    with stack.client("flood") as flood, stack.client("loop") as loop:
        backlog = [submit(flood, sampler_job(slow_circuit()))["id"] for _ in range(3 * WORKERS)]
        session_id = dedicated(loop)
        waits = []
        for _ in range(4):
            job = submit(loop, {**sampler_job(), "session_id": session_id})
            result_of(loop, job["id"])
            waits.append(waited(stack, job["id"]))
        # the first waits for a worker to free (a flood job's ~3 s at most); then it is kept
        assert max(waits[1:]) < 1.0, waits
        statuses = [flood.get(f"/v1/jobs/{j}").json()["status"] for j in backlog]
        assert "QUEUED" in statuses, statuses  # ... while the flood still waits
        assert loop.post(f"/v1/sessions/{session_id}/cancel").status_code == 200
        for job_id in backlog:
            flood.post(f"/v1/jobs/{job_id}/cancel")


def test_a_worker_dying_with_a_sessions_job_leaks_no_reservation(stack: Stack) -> None:
    with stack.client("loop") as loop:
        session_id = dedicated(loop, interactive_ttl=2)
        first = submit(loop, {**sampler_job(slow_circuit()), "session_id": session_id})
        second = submit(loop, {**sampler_job(), "session_id": session_id})
        victim = stack.worker_running(first["id"])
        os.killpg(victim.pid, signal.SIGKILL)  # the host dies, as a test can make it
        victim.wait()
        assert result_of(loop, first["id"], wait=60)  # run again by another worker
        assert result_of(loop, second["id"], wait=60)  # the session's queued job still ran
        job = loop.get(f"/v1/jobs/{first['id']}").json()
        assert job["status"] == "DONE"
        (hold,) = stack.sessions.reservations([session_id])
        assert hold is None or hold["busy"] == ""  # held by no dead job
        assert eventually(lambda: stack.sessions.reservations([session_id]) == [None], 10)
        read = loop.get(f"/v1/sessions/{session_id}").json()
        assert read["jobs"]["DONE"] == 2 and read["state"] == "inactive"
