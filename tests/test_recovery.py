"""The sweeper's checks bring back jobs nothing else would move on, and writes after a delete
recreate nothing (see workers/recovery.py)."""

from __future__ import annotations

import httpx
import redis

from core.states import JobStatus
from core.store.connection import Connection
from core.store.jobs import JobStore, new_job_id
from tests.conftest import BELL_QASM3


def record_of(tenant: str) -> dict:
    """A job as `POST /v1/jobs` stores it, for a Bell circuit on Aer."""
    return {"id": new_job_id(), "tenant": tenant, "program_id": "sampler",
            "backend": "aer_simulator", "provider": "local", "status": JobStatus.QUEUED,
            "tags": [], "options": {}, "attempts": 0, "rq_attempt": 1, "version": 2,
            "num_pubs": 1, "num_shots": 100, "usage_estimation": {"quantum_seconds": 0}}


INPUTS = {"pubs": [{"circuit": BELL_QASM3, "shots": 100}], "options": {}}


def test_jobs_lost_between_queue_and_worker_are_recovered(
        client: httpx.Client, redis_url: str, workers: list) -> None:
    """A QUEUED job in no queue (its enqueue, or the worker that dequeued it, was lost) and a
    RUNNING job outside the running set (no sweeper would look at it) both end DONE."""
    store = JobStore(Connection.open(redis_url))
    tenant = _tenant(client, store)
    unqueued = store.create(record_of(tenant), INPUTS)  # never put on RQ's queue
    unwatched = store.create(record_of(tenant), INPUTS)
    assert store.transition(unwatched["id"], tenant, JobStatus.RUNNING).ok  # no lease taken
    for job, sign in ((unqueued, "was in no queue"),
                      (unwatched, "worker running this job was lost")):
        final = client.get(f"/v1/jobs/{job['id']}/wait", params={"timeout": 60}).json()
        assert final["status"] == "DONE", final
        assert sign in client.get(f"/v1/jobs/{job['id']}/logs").text


def _tenant(client: httpx.Client, store: JobStore) -> str:
    """The client's tenant, read from a job it submits."""
    job = client.post("/v1/jobs", json={"program_id": "sampler", "backend": "aer_simulator",
                                        "pubs": [{"circuit": BELL_QASM3}]}).json()
    return str(store.get(job["id"])["tenant"])  # type: ignore[index]


def test_writes_after_a_delete_recreate_nothing(redis_url: str) -> None:
    store = JobStore(Connection.open(redis_url, "deleted-test"), retention=60)
    raw = redis.Redis.from_url(redis_url)
    job = store.create(record_of("t"), INPUTS)
    store.delete(job["id"])
    assert not store.append(job["id"], [("log", "late line"), ("interim", {"pub": 0})])
    assert store.transition(job["id"], "t", JobStatus.DONE).previous == ""
    assert raw.keys(f"deleted-test:job:{job['id']}*") == []
    # a final job keeps late lines only as long as itself
    kept = store.create(record_of("t"), INPUTS)
    assert store.transition(kept["id"], "t", JobStatus.DONE).ok
    assert store.append(kept["id"], [("interim", {"pub": 0})])
    assert 0 < raw.ttl(f"deleted-test:job:{kept['id']}:events") <= 60
    assert store.interim(kept["id"]) == [{"pub": 0}]
