"""One scenario per RuntimeJob operation, through HTTP, with the session's real workers."""

from __future__ import annotations

import os
import re

import httpx
import pytest

from core.clock import iso_to_micros, now_iso
from core.store.connection import Connection
from core.store.jobs import JobStore
from tests.conftest import BELL_QASM3, result_of, sampler_job, slow_circuit, submit
from tests.spec import assert_fits
from tests.waiting import eventually

LONG = slow_circuit(22, 50)  # ~15 s: long enough to cancel while running
TWO_PUBS = {"program_id": "sampler", "backend": "aer_simulator", "pubs": [
    {"circuit": BELL_QASM3, "shots": 100}, {"circuit": BELL_QASM3, "shots": 200}]}
TOO_BIG = ('OPENQASM 3.0; include "stdgates.inc"; qubit[32] q; bit[32] c; '
           + "".join(f"rx(0.3) q[{i}];" for i in range(32)) + "c = measure q;")


def wait_for_status(http: httpx.Client, job_id: str, wanted: str, seconds: float = 30) -> None:
    eventually(lambda: http.get(f"/v1/jobs/{job_id}/status").json()["status"] == wanted,
               seconds, f"job {job_id} to become {wanted}")


def executor_pid(http: httpx.Client, job_id: str) -> int:
    """The simulation process a running job's worker logs (read from the job's log lines)."""
    store = JobStore(Connection.open(os.environ["TEST_REDIS_URL"]))

    def logged() -> int | None:
        found = re.search(r"simulating in process (\d+)", " ".join(store.logs(job_id)))
        return int(found.group(1)) if found else None
    return eventually(logged, 10, "the worker to log its executor process")


def test_cancel_a_running_job_stops_its_simulation(client: httpx.Client) -> None:
    job = submit(client, sampler_job(LONG, shots=10))
    wait_for_status(client, job["id"], "RUNNING")
    pid = executor_pid(client, job["id"])
    cancelled = client.post(f"/v1/jobs/{job['id']}/cancel")
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "CANCELLED"
    eventually(lambda: not os.path.exists(f"/proc/{pid}"), 2, "the simulation to stop")
    gone = client.get(f"/v1/jobs/{job['id']}/result")
    assert gone.status_code == 409 and gone.json()["type"].endswith("/job-cancelled")
    again = client.post(f"/v1/jobs/{job['id']}/cancel")
    assert again.status_code == 409 and again.json()["job_status"] == "CANCELLED"
    assert result_of(client, submit(client, sampler_job())["id"])  # the worker is free again


def test_queue_position_and_cancelling_a_queued_job(client: httpx.Client) -> None:
    blockers = [submit(client, sampler_job(LONG, shots=10)) for _ in range(2)]
    for blocker in blockers:
        wait_for_status(client, blocker["id"], "RUNNING")
    first, second = submit(client, sampler_job()), submit(client, sampler_job())
    info = client.get(f"/v1/jobs/{second['id']}/queue").json()
    assert client.get(f"/v1/jobs/{first['id']}/queue").json()["position"] == 1
    assert info["position"] == 2
    assert info["estimated_start_time"] < info["estimated_completion_time"]
    assert client.post(f"/v1/jobs/{first['id']}/cancel").json()["status"] == "CANCELLED"
    assert client.get(f"/v1/jobs/{second['id']}/queue").json()["position"] == 1
    for blocker in blockers:
        client.post(f"/v1/jobs/{blocker['id']}/cancel")
    assert client.get(f"/v1/jobs/{second['id']}/wait", params={"timeout": 30}).json()[
        "status"] == "DONE"
    assert client.get(f"/v1/jobs/{second['id']}/queue").json()["position"] is None
    assert client.get(f"/v1/jobs/{first['id']}/status").json()["status"] == "CANCELLED"


def test_a_running_job_past_its_estimate_is_still_due_in_the_future(
        client: httpx.Client) -> None:
    job = submit(client, sampler_job(LONG, shots=10))
    wait_for_status(client, job["id"], "RUNNING")
    info = client.get(f"/v1/jobs/{job['id']}/queue").json()
    estimate = job["usage_estimation"]["quantum_seconds"]
    assert estimate > 5  # from the cost model: 22 qubits, 50 layers
    assert seconds_between(info["estimated_start_time"], info["estimated_completion_time"]) \
        == pytest.approx(estimate, abs=0.01)
    store = JobStore(Connection.open(os.environ["TEST_REDIS_URL"]))
    store.annotate(job["id"], {"usage_estimation": {"quantum_seconds": 0}})  # overrun it
    info = client.get(f"/v1/jobs/{job['id']}/queue").json()
    assert info["position"] is None and info["reason"] is None
    assert info["estimated_completion_time"] > now_iso()
    client.post(f"/v1/jobs/{job['id']}/cancel")


def seconds_between(earlier: str, later: str) -> float:
    return (iso_to_micros(later) - iso_to_micros(earlier)) / 1e6


def test_wait_returns_the_final_job_or_409(client: httpx.Client) -> None:
    job = submit(client, sampler_job(slow_circuit(20, 30), shots=10))
    early = client.get(f"/v1/jobs/{job['id']}/wait", params={"timeout": 0})
    assert early.status_code == 409 and early.json()["type"].endswith("/job-not-finished")
    assert early.json()["job_status"] in ("QUEUED", "RUNNING")
    done = client.get(f"/v1/jobs/{job['id']}/wait", params={"timeout": 60})
    assert done.status_code == 200 and done.json()["status"] == "DONE"


def test_logs_metrics_inputs_backend_and_properties(client: httpx.Client) -> None:
    body = {**sampler_job(backend="fake_manila", shots=512), "options": {"seed": 3}}
    job = submit(client, body)
    result_of(client, job["id"])
    logs = client.get(f"/v1/jobs/{job['id']}/logs")
    assert logs.headers["content-type"].startswith("text/plain")
    assert "transpiled to depth" in logs.text and "finished in" in logs.text
    metrics = client.get(f"/v1/jobs/{job['id']}/metrics").json()
    stamps = metrics["timestamps"]
    assert stamps["created"] <= stamps["queued"] <= stamps["running"] <= stamps["finished"]
    assert metrics["num_pubs"] == 1 and metrics["num_shots"] == 512
    assert metrics["usage"]["seconds"] > 0 and metrics["usage"]["quantum_seconds"] > 0
    assert metrics["circuits"][0]["width"] == 2 and metrics["circuits"][0]["transpiled_depth"] > 0
    inputs = client.get(f"/v1/jobs/{job['id']}/inputs").json()
    assert inputs["pubs"][0]["circuit"] == BELL_QASM3 and inputs["options"]["seed"] == 3
    backend = client.get(f"/v1/jobs/{job['id']}/backend").json()
    assert backend["name"] == "fake_manila" and backend["num_qubits"] == 5
    properties = client.get(f"/v1/jobs/{job['id']}/properties").json()
    assert properties["properties"]["backend_name"] == "ibmq_manila"  # the device it replicates
    assert len(properties["properties"]["qubits"]) == 5


def test_logs_before_the_end_are_409(client: httpx.Client) -> None:
    job = submit(client, sampler_job(slow_circuit(20, 30), shots=10))
    early = client.get(f"/v1/jobs/{job['id']}/logs")
    assert early.status_code == 409 and early.json()["type"].endswith("/job-not-finished")
    client.get(f"/v1/jobs/{job['id']}/wait", params={"timeout": 60})


def test_a_job_too_big_for_a_worker_is_refused_with_the_numbers(client: httpx.Client) -> None:
    # 32 qubits fit the 127-qubit device and the gateway's limit, not a state vector in memory:
    # the cost model refuses it at submit (a job that fails in the worker: tests/test_hostile.py)
    answer = client.post("/v1/jobs", json=sampler_job(TOO_BIG, backend="fake_sherbrooke", shots=1))
    assert answer.status_code == 422, answer.text
    body = answer.json()
    assert body["type"].endswith("/limit-exceeded") and body["limit"] == "simulation_memory_bytes"
    assert body["value"] == 16 * 2**32 and body["setting"] == "GATEWAY_WORKER_MEMORY_BYTES"
    assert "64 GiB" in body["detail"] and "state vector" in body["detail"]


def test_interim_results_one_per_pub(client: httpx.Client) -> None:
    job = submit(client, TWO_PUBS)
    final = result_of(client, job["id"])
    answer = client.get(f"/v1/jobs/{job['id']}/interim-results").json()
    assert_fits(answer, "InterimResults")
    interim = answer["interim_results"]
    assert [item["pub_index"] for item in interim] == [0, 1]
    assert [item["result"] for item in interim] == final["pub_results"]


def test_tags_replace_and_list_filters_see_them_at_once(client: httpx.Client) -> None:
    job = submit(client, {**sampler_job(), "tags": ["old", "keep"]})
    replaced = client.put(f"/v1/jobs/{job['id']}/tags", json={"tags": ["new", "keep"]})
    assert replaced.json() == {"tags": ["new", "keep"]}
    ids = lambda **q: [j["id"] for j in client.get("/v1/jobs", params=q).json()["jobs"]]  # noqa: E731
    assert ids(tags=["new", "keep"]) == [job["id"]]
    assert ids(tags=["old"]) == []
    assert ids(tags=["new", "other"]) == []
    assert client.get(f"/v1/jobs/{job['id']}").json()["tags"] == ["new", "keep"]
    for bad in ({"tags": "x"}, {"tags": [""]}, {"tags": ["a"] * 33}, {"tags": [1]}, {}):
        assert client.put(f"/v1/jobs/{job['id']}/tags", json=bad).status_code == 422


def test_list_filters_and_pages_without_skips_or_repeats(client: httpx.Client) -> None:
    batch = client.post("/v1/sessions", json={"backend": "aer_simulator", "mode": "batch"})
    session = batch.json()["id"]
    made = [submit(client, {**sampler_job(), "session_id": session if i % 2 else None})
            for i in range(7)]
    estimator = submit(client, {"program_id": "estimator", "backend": "aer_simulator",
                                "pubs": [{"circuit": BELL_QASM3, "observables": "ZZ"}]})
    seen, cursor = [], None
    for _ in range(4):  # 7 jobs, 3 a page: a fourth page would mean a loop
        page = client.get("/v1/jobs", params={"limit": 3, "program_id": "sampler",
                                              **({"cursor": cursor} if cursor else {})}).json()
        seen += [j["id"] for j in page["jobs"]]
        submit(client, sampler_job())  # new jobs arrive between pages
        cursor = page["next_cursor"]
        if cursor is None:
            break
    else:
        raise AssertionError(f"the pages never ended: {seen}")
    assert seen == [j["id"] for j in reversed(made)]
    sessions = client.get("/v1/jobs", params={"session_id": session}).json()["jobs"]
    assert [j["id"] for j in sessions] == [j["id"] for j in reversed(made) if j["session_id"]]
    assert [j["id"] for j in client.get("/v1/jobs", params={"program_id": "estimator"}).json()[
        "jobs"]] == [estimator["id"]]
    middle = made[3]["creation_date"]
    before = client.get("/v1/jobs", params={"created_before": middle, "limit": 100}).json()
    assert all(j["creation_date"] <= middle for j in before["jobs"]) and before["jobs"]
    result_of(client, estimator["id"])
    done = client.get("/v1/jobs", params={"status": "DONE", "program_id": "estimator"}).json()
    assert [j["id"] for j in done["jobs"]] == [estimator["id"]]


def test_delete_removes_everything_and_cancels_first(client: httpx.Client) -> None:
    finished = submit(client, sampler_job())
    result_of(client, finished["id"])
    running = submit(client, sampler_job(LONG, shots=10))
    wait_for_status(client, running["id"], "RUNNING")
    for job in (finished, running):
        assert client.delete(f"/v1/jobs/{job['id']}").status_code == 204
        assert client.get(f"/v1/jobs/{job['id']}").status_code == 404
        assert client.delete(f"/v1/jobs/{job['id']}").status_code == 404
    assert client.get("/v1/jobs").json()["jobs"] == []
    assert result_of(client, submit(client, sampler_job())["id"])  # workers are free again


def test_idempotency_key_returns_the_same_job_or_409(
        client: httpx.Client, other_client: httpx.Client) -> None:
    key = {"Idempotency-Key": "order-42"}
    first = client.post("/v1/jobs", json=sampler_job(shots=64), headers=key)
    again = client.post("/v1/jobs", json=sampler_job(shots=64), headers=key)
    assert (first.status_code, again.status_code) == (202, 200)
    assert again.json()["id"] == first.json()["id"]
    assert again.headers["location"] == f"/v1/jobs/{first.json()['id']}"
    other = client.post("/v1/jobs", json=sampler_job(shots=65), headers=key)
    assert other.status_code == 409 and other.json()["type"].endswith("/idempotency-conflict")
    elsewhere = other_client.post("/v1/jobs", json=sampler_job(shots=64), headers=key)
    assert elsewhere.status_code == 202 and elsewhere.json()["id"] != first.json()["id"]
    assert len(client.get("/v1/jobs").json()["jobs"]) == 1
