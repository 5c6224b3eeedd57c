"""Races end in one final state; dead workers and overlong jobs do not leave jobs RUNNING."""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
import redis
from rq.job import Job
from rq.registry import StartedJobRegistry

from core.queueing import job_queue, rq_job_id
from core.states import JobStatus
from core.store.connection import Connection
from core.store.jobs import JobStore
from scripts.local_http import start_api
from tests.conftest import (
    result_of,
    sampler_job,
    slow_circuit,
    start_worker,
    stop,
    submit,
)
from tests.test_operations import wait_for_status
from tests.waiting import eventually

FINAL = {"DONE", "ERROR", "CANCELLED"}


def final_status_events(redis_url: str, job_id: str) -> list[str]:
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    events = client.xrange(f"gw:job:{job_id}:events")
    statuses = [json.loads(e["data"])["status"] for _, e in events if e["kind"] == "status"]
    return [s for s in statuses if s in FINAL]


def test_concurrent_transitions_have_one_winner(redis_url: str) -> None:
    store = JobStore(Connection.open(redis_url))
    for _ in range(20):
        job = store.create({"id": f"race{time.time_ns()}", "tenant": "racers",
                            "program_id": "sampler", "backend": "aer_simulator",
                            "status": JobStatus.QUEUED}, {"pubs": []})
        store.transition(job["id"], "racers", JobStatus.RUNNING)
        targets = [JobStatus.DONE, JobStatus.ERROR, JobStatus.CANCELLED] * 4
        with ThreadPoolExecutor(len(targets)) as pool:
            outcomes = list(pool.map(store.transition, [job["id"]] * len(targets),
                                     ["racers"] * len(targets), targets))
        outcomes = [change.ok for change in outcomes]
        assert outcomes.count(True) == 1
        assert final_status_events(redis_url, job["id"]) == [store.status(job["id"])]


def test_two_cancels_at_once_one_wins(client: httpx.Client) -> None:
    job = submit(client, sampler_job(slow_circuit(22, 50), shots=10))
    with ThreadPoolExecutor(2) as pool:
        answers = list(pool.map(lambda _: client.post(f"/v1/jobs/{job['id']}/cancel"), range(2)))
    assert sorted(a.status_code for a in answers) == [200, 409]
    assert client.get(f"/v1/jobs/{job['id']}/status").json()["status"] == "CANCELLED"


def test_cancel_racing_the_finish_ends_in_one_state(client: httpx.Client, redis_url: str) -> None:
    outcomes = {cancel_as_it_finishes(client, redis_url) for _ in range(12)}
    assert "CANCELLED" in outcomes  # the race was really run (DONE shows up when the worker wins)


def cancel_as_it_finishes(client: httpx.Client, redis_url: str) -> str:
    """Cancel a short job as a worker runs it (or just after); its one final status."""
    job_id = submit(client, sampler_job(backend="fake_manila"))["id"]  # runs for tens of ms
    eventually(lambda: client.get(f"/v1/jobs/{job_id}/status").json()["status"] != "QUEUED",
               30, "a worker to take the job", interval=0.002)
    answer = client.post(f"/v1/jobs/{job_id}/cancel")
    expected = "CANCELLED" if answer.status_code == 200 else "DONE"
    assert answer.status_code in (200, 409)
    final = client.get(f"/v1/jobs/{job_id}/wait", params={"timeout": 30}).json()["status"]
    assert final == expected
    # a late worker write would show once the worker is done with the job: RQ lets go of its
    # task (deleting it: result_ttl=0) only after run_job has returned
    raw = redis.Redis.from_url(redis_url)
    eventually(lambda: not Job.exists(rq_job_id(job_id, 1), connection=raw), 30,
               "the worker to be done with the job")
    assert client.get(f"/v1/jobs/{job_id}/status").json()["status"] == expected
    assert final_status_events(redis_url, job_id) == [expected]
    return expected


@pytest.fixture(scope="module")
def stack(env: dict[str, str], redis_url: str) -> Iterator[dict]:
    """An API and workers of their own (Redis database 1), for killing workers at will."""
    own = {**env, "REDIS_URL": redis_url.rsplit("/", 1)[0] + "/1",
           "GATEWAY_API_KEYS": "racer:race-key-0123456789abc", "GATEWAY_WORKER_LEASE_SECONDS": "2",
           "GATEWAY_JOB_TIME_LIMIT_SECONDS": "120", "GATEWAY_JOB_MAX_ATTEMPTS": "2"}
    workers = [start_worker(own)]
    base, api = start_api(own)
    http = httpx.Client(base_url=base, headers={"Authorization": "Bearer race-key-0123456789abc"},
                        timeout=90)
    yield {"http": http, "workers": workers, "env": own}
    http.close()
    for process in [api, *workers]:
        stop(process)


def kill_a_worker_and_start_another(stack: dict) -> None:
    """SIGKILL the stack's worker with its children, as if its host died, and start another."""
    victim = stack["workers"].pop()
    os.killpg(victim.pid, signal.SIGKILL)
    victim.wait()
    stack["workers"].append(start_worker(stack["env"]))


def test_a_worker_killed_mid_job_is_recovered(stack: dict) -> None:
    http: httpx.Client = stack["http"]
    job = submit(http, sampler_job(slow_circuit(20, 30), shots=10))
    wait_for_status(http, job["id"], "RUNNING")
    kill_a_worker_and_start_another(stack)
    final = http.get(f"/v1/jobs/{job['id']}/wait", params={"timeout": 60}).json()
    assert final["status"] == "DONE", final
    assert http.get(f"/v1/jobs/{job['id']}/metrics").json()["attempts"] == 2
    assert "worker running this job was lost" in http.get(f"/v1/jobs/{job['id']}/logs").text
    # RQ later files the killed worker's job as abandoned; the gateway's record stays DONE
    raw = redis.Redis.from_url(stack["env"]["REDIS_URL"])
    StartedJobRegistry(queue=job_queue(raw, "jobs")).cleanup(time.time() + 10**6)
    assert http.get(f"/v1/jobs/{job['id']}/status").json()["status"] == "DONE"


def test_a_job_dies_with_its_second_worker_after_the_last_attempt(stack: dict) -> None:
    http: httpx.Client = stack["http"]
    job = submit(http, sampler_job(slow_circuit(22, 50), shots=10))
    for attempt in (1, 2):
        wait_for_attempt(http, job["id"], attempt)
        kill_a_worker_and_start_another(stack)
    final = http.get(f"/v1/jobs/{job['id']}/wait", params={"timeout": 60}).json()
    assert final["status"] == "ERROR"
    assert "worker running this job was lost" in final["error_message"]


def wait_for_attempt(http: httpx.Client, job_id: str, attempt: int) -> None:
    """Until the job runs its `attempt`-th time (a dead worker's job still shows RUNNING)."""
    eventually(lambda: http.get(f"/v1/jobs/{job_id}").json()["status"] == "RUNNING"
               and http.get(f"/v1/jobs/{job_id}/metrics").json()["attempts"] == attempt,
               60, f"attempt {attempt} of job {job_id} to start")


def test_a_job_over_its_time_limit_ends_in_error_and_frees_the_worker(stack: dict) -> None:
    http: httpx.Client = stack["http"]
    stop(stack["workers"].pop())  # the time limit is the worker's: swap in one with 3 s
    stack["workers"].append(start_worker(stack["env"], GATEWAY_JOB_TIME_LIMIT_SECONDS="3"))
    job = submit(http, sampler_job(slow_circuit(22, 50), shots=10))
    final = http.get(f"/v1/jobs/{job['id']}/wait", params={"timeout": 60}).json()
    assert final["status"] == "ERROR"
    assert "exceeded its time limit of 3 s" in final["error_message"]
    assert result_of(http, submit(http, sampler_job())["id"])


def test_a_job_cancelled_while_rq_still_holds_it_never_runs(stack: dict) -> None:
    """The worker starts the simulation while it marks the job RUNNING; if the job was cancelled
    meanwhile (here: before the worker took it from RQ), the simulation is stopped at once, and
    the next job's answers are its own."""
    http: httpx.Client = stack["http"]
    stop(stack["workers"].pop())
    job = submit(http, sampler_job(slow_circuit(22, 50), shots=10))
    store = JobStore(Connection.open(stack["env"]["REDIS_URL"]))
    tenant = store.get(job["id"])["tenant"]  # type: ignore[index]
    assert store.transition(job["id"], tenant, JobStatus.CANCELLED).ok  # RQ's job stays queued
    stack["workers"].append(start_worker(stack["env"]))
    bell = result_of(http, submit(http, sampler_job())["id"])  # queued behind the cancelled one
    [counts] = bell["pub_results"][0]["data"]["c"]["counts"]
    assert set(counts) <= {"00", "11"}
    assert http.get(f"/v1/jobs/{job['id']}/status").json()["status"] == "CANCELLED"
    assert final_status_events(stack["env"]["REDIS_URL"], job["id"]) == ["CANCELLED"]
    assert store.blob(job["id"], ":result") is None and "RUNNING" not in str(
        store.events(job["id"]))
