"""Scenarios against IBM Quantum, played by the local stand-in (`ibm_standin.py`): the gateway's
own workers and API, configured with QISKIT_IBM_* as in production, pointed at it."""

from __future__ import annotations

import contextlib
import subprocess
import sys
import time
import uuid
import zlib
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
import redis

from core.results import normalise
from core.store.api_keys import KeyStore
from core.store.connection import Connection
from core.store.ibm import IbmState
from core.store.jobs import JobStore
from scripts.local_http import launch_api, start_api, wait_for_http
from tests.conftest import ROOT, new_tenant, sampler_job, stop
from tests.events_helpers import read_stream
from tests.ibm_standin import CRN, DEVICE, Call, Standin
from tests.spec import assert_fits
from tests.waiting import eventually

TOKEN = f"standin-key-{uuid.uuid4().hex}"
ROTATED_BELL = ('OPENQASM 3.0; include "stdgates.inc"; input float theta; qubit[2] q; h q[0]; '
                "cx q[0], q[1]; rz(theta) q[0]; rz(theta) q[1];")
# calls naming one job that IBM runs at once: a look moves the stand-in's job one step (queued,
# running, completed) when it comes over STEP_SECONDS (0.4 s) after the last, and the gateway
# looks at most every GATEWAY_IBM_POLL_MIN_SECONDS (0.5 s here): 2 or 3 looks, 4 seen under load
# (a late look re-attached), then the metrics, logs and result once each
CALLS_PER_SHORT_JOB = 8
FINAL_READS = ("GET /api/v1/jobs/{id}/metrics", "GET /api/v1/jobs/{id}/logs",
               "GET /api/v1/jobs/{id}/results")
WINDOW = 4.0  # the gateway creates at most 2 jobs per WINDOW s; the stand-in refuses more than
#               2 per WINDOW / 2 s with a 429, so a gateway that did not pace would be caught


@dataclass
class Deployment:
    """Two workers and the API, configured for IBM Quantum; every output kept in `logs`."""

    env: dict[str, str]
    logs: Path
    keys: KeyStore
    base: str = ""
    workers: list[subprocess.Popen] = field(default_factory=list)
    responses: list[str] = field(default_factory=list)

    def launch(self, name: str, args: list[str], **env: str) -> subprocess.Popen:
        with (self.logs / f"{name}-{uuid.uuid4().hex[:6]}.log").open("w") as out:
            return subprocess.Popen([sys.executable, *args], cwd=ROOT, env={**self.env, **env},
                                    stdout=out, stderr=subprocess.STDOUT)

    def start_workers(self) -> None:
        self.workers = [self.launch("worker", ["-m", "workers"]) for _ in range(2)]

    def stop_workers(self) -> None:
        for process in self.workers:
            stop(process)

    def client(self) -> httpx.Client:
        """A fresh tenant's client; every answer it gets is kept for the token check."""
        _, key = self.keys.create(f"t-{uuid.uuid4().hex[:12]}")

        def keep(response: httpx.Response) -> None:
            response.read()
            self.responses.append(f"{response.headers}\n{response.text}")

        return httpx.Client(base_url=self.base, headers={"Authorization": f"Bearer {key}"},
                            timeout=90, event_hooks={"response": [keep]})


@pytest.fixture(scope="module")
def standin() -> Iterator[Standin]:
    server = Standin(TOKEN).serve()
    server.creation_limit = (2, WINDOW / 2)
    yield server
    server.close()


@pytest.fixture(scope="module")
def deployment(env: dict[str, str], redis_url: str, keys: KeyStore, standin: Standin,
               tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    ibm_env = {
        **env, "QISKIT_IBM_TOKEN": TOKEN, "QISKIT_IBM_INSTANCE": CRN,
        "QISKIT_IBM_URL": standin.api_url, "IAM_URL": standin.iam_url,
        "QISKIT_FUNCTIONS_EXPERIMENTAL": "1",  # the client skips IBM Cloud's global catalog
        "GATEWAY_LOG_LEVEL": "DEBUG", "GATEWAY_QUEUE": "ibm-test-jobs",
        "GATEWAY_IBM_QUEUE": "ibm-test-steps", "GATEWAY_WORKER_PREWARM": "",
        "GATEWAY_IBM_POLL_MIN_SECONDS": "0.5", "GATEWAY_IBM_POLL_MAX_SECONDS": "2",
        "GATEWAY_IBM_SUBMITS_PER_WINDOW": "2", "GATEWAY_IBM_SUBMIT_WINDOW_SECONDS": str(WINDOW),
        "GATEWAY_IBM_REATTACH_SECONDS": "3", "GATEWAY_IBM_BACKENDS_REFRESH_SECONDS": "3600",
    }
    deployed = Deployment(ibm_env, tmp_path_factory.mktemp("ibm-logs"), keys)
    deployed.start_workers()
    deployed.base, web = start_api(ibm_env, log=deployed.logs / "web.log")
    devices = IbmState(Connection.open(redis_url))
    eventually(devices.backends, 60, "the workers to cache the account's devices")
    yield deployed
    stop(web)
    deployed.stop_workers()


@pytest.fixture
def client(deployment: Deployment) -> Iterator[httpx.Client]:
    with deployment.client() as http:
        yield http


@pytest.fixture
def store(redis_url: str) -> JobStore:
    return JobStore(Connection.open(redis_url))


def ibm_bell(shots: int = 1000, **fields: Any) -> dict[str, Any]:
    return {**sampler_job(backend=DEVICE, shots=shots), **fields}


def submit(http: httpx.Client, body: dict[str, Any]) -> dict[str, Any]:
    response = http.post("/v1/jobs", json=body)
    assert response.status_code == 202, response.text
    return response.json()


def final(http: httpx.Client, job_id: str, seconds: float = 60) -> dict[str, Any]:
    def done() -> dict[str, Any] | None:
        job = http.get(f"/v1/jobs/{job_id}").json()
        return job if job["final"] else None
    return eventually(done, seconds, f"job {job_id} to finish", interval=0.2)


def runtime_id(http: httpx.Client, job_id: str) -> str:
    return eventually(lambda: http.get(f"/v1/jobs/{job_id}").json().get("runtime_job_id"),
                      60, f"job {job_id} to reach IBM Quantum", interval=0.2)


def calls_about(calls: list[Call], upstream_id: str) -> Counter[str]:
    return Counter(kind for kind, _ in calls_naming(calls, upstream_id))


def calls_naming(calls: list[Call], upstream_id: str) -> list[tuple[str, float]]:
    """("GET /api/v1/jobs/{id}/…", when) of each call about the upstream job, in order."""
    return [(f"{c.method} {c.path.replace(upstream_id, '{id}')}", c.at) for c in calls
            if upstream_id in c.path]


# -- scenarios -----------------------------------------------------------------------------------
def test_ready_means_the_account_devices_are_known(
        deployment: Deployment, standin: Standin, redis_url: str, tmp_path: Path) -> None:
    """A new gateway whose first reading of the account's devices is slow: until it is done,
    /readyz says 503 and why, and a job for an IBM device is a 503 with Retry-After (the name
    may be one of them), never a 422; the moment /readyz first says 200, the same job is taken."""
    own = f"ready-{uuid.uuid4().hex[:8]}"  # a prefix and queues of its own: no devices read
    env = {**deployment.env, "GATEWAY_REDIS_PREFIX": own, "GATEWAY_QUEUE": f"{own}-jobs",
           "GATEWAY_IBM_QUEUE": f"{own}-steps"}
    fresh = Deployment(env, tmp_path, KeyStore(Connection.open(redis_url, own)))
    standin.delay("GET", r"^/api/v1/backends$", 4.0)
    fresh.start_workers()
    fresh.base, web = launch_api(env, log=tmp_path / "web.log")
    try:
        wait_for_http(f"{fresh.base}/healthz", web)
        with fresh.client() as http:
            early, said = [], []
            while (ready := httpx.get(f"{fresh.base}/readyz")).status_code != 200:
                said.append(ready.json()["reason"])
                response = http.post("/v1/jobs", json=ibm_bell())
                if response.status_code == 202:  # the devices were read between the two calls
                    ready = httpx.get(f"{fresh.base}/readyz")
                    assert ready.status_code == 200
                    break
                early.append(response)
                time.sleep(0.05)
            taken = http.post("/v1/jobs", json=ibm_bell())
            assert taken.status_code == 202, taken.text
            assert "the IBM Quantum account's devices are not read yet" in said
            assert ready.json()["ibm_quantum"]["backends"] == [DEVICE]
            assert early and {r.status_code for r in early} <= {503}, [r.text for r in early]
            assert all(int(r.headers["Retry-After"]) > 0 for r in early)
            assert any("not known yet" in r.json()["detail"] for r in early)
            assert final(http, taken.json()["id"])["status"] == "DONE"
    finally:
        stop(web)
        fresh.stop_workers()


def test_the_account_devices_are_listed_beside_the_local_backends(
        client: httpx.Client, deployment: Deployment) -> None:
    listed = eventually(lambda: {b["name"]: b for b in client.get("/v1/backends").json()[
        "backends"] if b["provider"] == "ibm_quantum"}, 60, "the devices cache", interval=0.2)
    device = listed[DEVICE]
    assert device["num_qubits"] == 5 and not device["simulated"] and device["operational"]
    assert client.get("/v1/backends/fake_manila").json()["provider"] == "local"
    properties = client.get(f"/v1/backends/{DEVICE}/properties").json()["properties"]
    assert properties["backend_name"] == DEVICE and len(properties["qubits"]) == 5
    configuration = client.get(f"/v1/backends/{DEVICE}/configuration").json()["configuration"]
    assert configuration["coupling_map"]
    ready = httpx.get(f"{deployment.base}/readyz").json()
    assert ready["runtimes"]["ibm_quantum"] == "ok" and ready["ibm_quantum"]["backends"] == [DEVICE]


def test_bell_job_on_the_device_from_submit_to_counts(
        client: httpx.Client, standin: Standin) -> None:
    mark = standin.mark()
    job = submit(client, ibm_bell(shots=1000))
    assert job["provider"] == "ibm_quantum" and job["status"] == "QUEUED"
    data = client.get(f"/v1/jobs/{job['id']}/result", params={"wait": 60}).json()
    assert_fits(data, "Result")  # the members, and their types, of a local job's result
    assert data["metadata"] == {"version": 2}
    assert data["pub_results"][0]["metadata"] == {"shots": 1000, "target_precision": None}
    register = data["pub_results"][0]["data"]["c"]
    assert register["shape"] == [] and register["num_shots"] == 1000
    [counts] = register["counts"]
    assert sum(counts.values()) == 1000
    assert (counts.get("00", 0) + counts.get("11", 0)) / 1000 > 0.8, counts  # Manila's noise
    upstream_id = client.get(f"/v1/jobs/{job['id']}").json()["runtime_job_id"]
    assert standin.jobs[upstream_id].tags == [f"gateway-job:{job['id']}"]
    events = read_stream(client, f"/v1/jobs/{job['id']}/events")  # as for a local job
    assert [e.data["status"] for e in events if e.kind == "status"] == [
        "QUEUED", "RUNNING", "DONE"]
    assert events[-2].kind == "result" and events[-2].data == data
    assert any(e.kind == "log" and "submitted to" in e.data["line"] for e in events)

    about_job = calls_about(standin.calls_since(mark), upstream_id)
    everything = Counter(f"{c.method} {c.path}" for c in standin.calls_since(mark))
    print(f"\nupstream calls for one Bell job, submit to final: {sum(everything.values())} "
          f"({dict(everything)}); naming the job: {dict(about_job)}")
    assert everything["POST /api/v1/jobs"] == 1
    for once in ("results", "metrics", "logs"):
        assert about_job[f"GET /api/v1/jobs/{{id}}/{once}"] == 1


def test_an_estimator_sweep_on_the_device_has_the_members_of_a_local_one(
        client: httpx.Client) -> None:
    body = {"program_id": "estimator", "backend": DEVICE, "pubs": [{
        "circuit": ROTATED_BELL, "observables": [["ZZ"], ["XX"]],
        "parameter_values": {"theta": [0, 1.5707963267948966]}, "precision": 0.05}]}
    job = submit(client, body)
    assert final(client, job["id"], 120)["status"] == "DONE"
    data = client.get(f"/v1/jobs/{job['id']}/result").json()
    assert_fits(data, "Result")
    assert data["metadata"] == {"version": 2}
    [pub] = data["pub_results"]
    assert pub["metadata"] == {"shots": 400, "target_precision": 0.05}
    assert pub["data"]["shape"] == [2, 2] and len(pub["data"]["evs"]) == 4
    # C order over (observables, parameter sets): ⟨ZZ⟩ = 1, ⟨XX⟩ = cos 2θ, blurred by noise
    zz_0, zz_half_pi, xx_0, xx_half_pi = pub["data"]["evs"]
    assert min(zz_0, zz_half_pi, xx_0) > 0.7 and xx_half_pi < -0.7, pub["data"]["evs"]


def test_the_runtime_options_reach_ibm_quantum_as_the_library_encodes_them(
        client: httpx.Client, standin: Standin) -> None:
    """Sent as given through the executor Estimator: the program carries the library's own
    finalized options; the gateway's seed and optimization level stay behind; the job's tags
    join environment.job_tags."""
    from qiskit_ibm_runtime.executor_estimator.finalize_options import (
        finalize_estimator_options,
    )
    from qiskit_ibm_runtime.options_models import EstimatorOptions
    from qiskit_ibm_runtime.quantum_program.params_converters import (
        QUANTUM_PROGRAM_PARAMS_CONVERTERS,
    )

    options = {"resilience_level": 2, "default_precision": 0.1, "seed": 11,
               "twirling": {"num_randomizations": 4, "strategy": "active"},
               "resilience": {"zne": {"noise_factors": [1, 2, 3], "extrapolator": "linear"}},
               "dynamical_decoupling": {"enable": True, "sequence_type": "XY4"},
               "environment": {"job_tags": ["mine"], "log_level": "INFO"}}
    job = submit(client, {"program_id": "estimator", "backend": DEVICE, "tags": ["theirs"],
                          "options": options,
                          "pubs": [{"circuit": ROTATED_BELL, "observables": "ZZ",
                                    "parameter_values": {"theta": 0.3}}]})
    upstream = standin.jobs[runtime_id(client, job["id"])]
    assert upstream.tags == ["mine", "theirs", f"gateway-job:{job['id']}"]
    converter = QUANTUM_PROGRAM_PARAMS_CONVERTERS[upstream.params["schema_version"]]
    program, _ = converter.decoder(converter.model.model_validate(upstream.params))
    sent = program.passthrough_data["post_processor"]["options"]
    given = {k: v for k, v in options.items() if k not in ("seed", "optimization_level")}
    given["environment"] = {**options["environment"], "job_tags": upstream.tags}
    expected = finalize_estimator_options(EstimatorOptions(**given)).model_dump(
        exclude={"resilience": {"layer_noise_model"}})
    assert sent == expected
    assert sent["resilience"]["zne"]["noise_factors"] == [1, 2, 3]
    assert final(client, job["id"], 120)["status"] == "DONE"


def test_an_ibm_result_without_a_precision_gives_the_default_it_ran_at() -> None:
    """IBM Quantum's Estimator keeps the shots and precision in the job's metadata; a job that
    asked for neither ran at the options' default precision."""
    from qiskit.primitives import DataBin, PrimitiveResult, PubResult

    data = DataBin(evs=np.array(0.9), stds=np.array(0.02),
                   ensemble_standard_error=np.array(0.03), shape=())
    metadata = {"target_precision": None, "shots": 4096,
                "options": {"default_precision": 0.015625, "default_shots": None}}
    result = normalise(PrimitiveResult([PubResult(data, metadata={"executor": {}})], metadata))
    assert_fits(result, "Result")
    assert result["pub_results"][0] == {
        "data": {"shape": [], "evs": [0.9], "stds": [0.02], "ensemble_standard_error": [0.03]},
        "metadata": {"shots": 4096, "target_precision": 0.015625}}


def test_jobs_wait_in_the_gateway_for_the_pace_ibm_allows(
        client: httpx.Client, standin: Standin) -> None:
    mark = standin.mark()
    jobs = [submit(client, ibm_bell(shots=100)) for _ in range(5)]
    for job in jobs:
        assert final(client, job["id"], 90)["status"] == "DONE"
    creations = [c for c in standin.calls_since(mark) if c.path == "/api/v1/jobs"
                 and c.method == "POST"]
    assert [c.status for c in creations] == [200] * 5  # none refused with 429, none repeated
    everything = Counter(f"{c.method} {c.path}" for c in standin.calls_since(mark)
                         if "/api/v1/jobs/" not in c.path)
    per_job = [calls_naming(standin.calls_since(mark), client.get(
        f"/v1/jobs/{job['id']}").json()["runtime_job_id"]) for job in jobs]
    print(f"\n5 paced jobs: calls naming each job: {[len(calls) for calls in per_job]}; "
          f"other calls for all 5: {dict(everything)}")
    assert everything["POST /api/v1/jobs"] == len(jobs)
    for calls in per_job:  # a job waiting for its turn in the gateway costs IBM nothing
        assert len(calls) <= CALLS_PER_SHORT_JOB, calls
        assert sorted(kind for kind, _ in calls if kind in FINAL_READS) == sorted(FINAL_READS)
        looks = [at for kind, at in calls if kind == "GET /api/v1/jobs/{id}"]
        assert max(looks) < min(at for kind, at in calls if kind in FINAL_READS), calls


def held_job(client: httpx.Client, standin: Standin, **fields: Any) -> tuple[dict, str]:
    """A job IBM keeps in its queue until released: (the gateway's job, IBM's id)."""
    standin.hold_new_jobs = True
    try:
        job = submit(client, ibm_bell(**fields))
        return job, runtime_id(client, job["id"])
    finally:
        standin.hold_new_jobs = False


def test_a_429_is_honoured_with_its_retry_after(
        client: httpx.Client, standin: Standin, store: JobStore) -> None:
    standin.fail("POST", r"/api/v1/jobs$", 429, count=1, retry_after=1)
    job = submit(client, ibm_bell(shots=100))
    assert final(client, job["id"], 60)["status"] == "DONE"
    assert any("(HTTP 429); trying again in 1 s" in line for line in store.logs(job["id"]))
    assert len(standin.job_tagged(f"gateway-job:{job['id']}")) == 1


def test_a_job_held_queued_is_cancelled_through_the_gateway(
        client: httpx.Client, standin: Standin) -> None:
    job, upstream_id = held_job(client, standin, tags=["before"])
    queue = client.get(f"/v1/jobs/{job['id']}/queue").json()
    assert queue["position"] == 1  # IBM's own queue position, from its metrics
    metrics = client.get(f"/v1/jobs/{job['id']}/metrics").json()
    assert metrics["upstream"]["position_in_queue"] == 1
    assert client.get(f"/v1/jobs/{job['id']}/backend").json()["provider"] == "ibm_quantum"

    answer = client.put(f"/v1/jobs/{job['id']}/tags", json={"tags": ["after", "x"]})
    assert answer.status_code == 200 and answer.json() == {"tags": ["after", "x"]}
    assert sorted(standin.jobs[upstream_id].tags) == sorted(
        ["after", "x", f"gateway-job:{job['id']}"])  # the gateway keeps its own mark
    assert client.get("/v1/jobs", params={"tags": "after"}).json()["jobs"][0]["id"] == job["id"]

    cancelled = client.post(f"/v1/jobs/{job['id']}/cancel")
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "CANCELLED"
    assert standin.jobs[upstream_id].status == "Cancelled"
    mark = standin.mark()
    again = client.post(f"/v1/jobs/{job['id']}/cancel")
    assert again.status_code == 409 and standin.calls_since(mark) == []  # final here: no IBM


def test_a_job_cancelled_on_ibm_quantum_is_cancelled_here(
        client: httpx.Client, standin: Standin) -> None:
    job, upstream_id = held_job(client, standin)
    standin.cancel(upstream_id)  # from IBM's side, e.g. its web console
    assert final(client, job["id"])["status"] == "CANCELLED"
    answer = client.get(f"/v1/jobs/{job['id']}/result")
    assert answer.status_code == 409 and answer.json()["type"].endswith("/job-cancelled")
    assert "cancelled" in client.get(f"/v1/jobs/{job['id']}/logs").text


def test_an_upstream_503_burst_is_survived(
        client: httpx.Client, standin: Standin, store: JobStore) -> None:
    job, upstream_id = held_job(client, standin, shots=200)
    # six in a row outlast the client's own five retries: the gateway's backoff takes over
    standin.fail("GET", rf"/api/v1/jobs/{upstream_id}$", 503, count=6)
    standin.release(upstream_id)
    assert final(client, job["id"], 90)["status"] == "DONE"
    assert any("trying again" in line for line in store.logs(job["id"])), store.logs(job["id"])


def test_a_submission_lost_in_transit_is_not_sent_twice(
        client: httpx.Client, standin: Standin, store: JobStore) -> None:
    standin.fail("POST", r"/api/v1/jobs$", 0, count=1)  # created, but the answer never comes
    job = submit(client, ibm_bell(shots=100))
    assert final(client, job["id"], 90)["status"] == "DONE"
    assert len(standin.job_tagged(f"gateway-job:{job['id']}")) == 1
    assert any("earlier try" in line for line in store.logs(job["id"]))


def test_a_restart_and_a_lost_worker_lose_no_job(
        client: httpx.Client, standin: Standin, deployment: Deployment, redis_url: str) -> None:
    job, upstream_id = held_job(client, standin, shots=100)
    deployment.stop_workers()  # everything restarts while the job waits in IBM's queue
    # and the task that followed it is lost, as if its worker had died in the middle of it
    IbmState(Connection.open(redis_url)).follow(
        job["id"], time.time() - 60)
    standin.release(upstream_id)
    deployment.start_workers()
    assert final(client, job["id"], 90)["status"] == "DONE"


def test_a_job_no_step_follows_any_more_is_followed_again(
        client: httpx.Client, standin: Standin, redis_url: str) -> None:
    """Its chain of steps forgotten (a step's final write lost): the sweeper's check of
    unfinished jobs starts a new chain."""
    job, upstream_id = held_job(client, standin, shots=100)
    IbmState(Connection.open(redis_url)).forget(job["id"])
    standin.release(upstream_id)
    assert final(client, job["id"], 90)["status"] == "DONE"


def test_an_imported_private_job_is_read_once_upstream_then_only_here(
        client: httpx.Client, other_tenant: httpx.Client, standin: Standin,
        monkeypatch: pytest.MonkeyPatch) -> None:
    upstream_id = submit_elsewhere(standin, monkeypatch)
    answer = client.post("/v1/jobs/import", json={"runtime_job_id": upstream_id})
    assert answer.status_code == 201, answer.text
    job = answer.json()
    assert job["provider"] == "ibm_quantum" and job["runtime_job_id"] == upstream_id
    again = client.post("/v1/jobs/import", json={"runtime_job_id": upstream_id})
    assert again.status_code == 200 and again.json()["id"] == job["id"]
    result = client.get(f"/v1/jobs/{job['id']}/result", params={"wait": 60}).json()
    assert sum(result["pub_results"][0]["data"]["c"]["counts"][0].values()) == 300
    assert standin.jobs[upstream_id].result_reads == 1  # a private result reads only once

    mark = standin.mark()
    reads = ("", "/status", "/result", "/result?format=runtime", "/logs", "/metrics", "/queue",
             "/properties")
    for _ in range(10):
        for path in reads:
            assert client.get(f"/v1/jobs/{job['id']}{path}").status_code == 200, path
    assert standin.calls_since(mark) == []  # 80 reads, no request to IBM
    assert "completed" in client.get(f"/v1/jobs/{job['id']}/logs").text  # IBM's own log
    metrics = client.get(f"/v1/jobs/{job['id']}/metrics").json()
    assert metrics["usage"]["quantum_seconds"] == 1 and metrics["upstream"]["timestamps"]
    assert other_tenant.get(f"/v1/jobs/{job['id']}").status_code == 404
    theirs = other_tenant.post("/v1/jobs/import", json={"runtime_job_id": upstream_id})
    assert theirs.status_code == 404, theirs.text  # followed for its first importer only
    assert theirs.json()["type"].endswith("/job-not-found")
    odd = client.post("/v1/jobs/import", json={"runtime_job_id": "x/../../backends"})
    assert odd.status_code == 422  # never put into an upstream URL
    unknown = client.post("/v1/jobs/import", json={"runtime_job_id": "dnosuchjob0000000000"})
    assert unknown.status_code == 404
    assert unknown.headers["content-type"] == "application/problem+json"


def test_an_upstream_401_fails_the_job_clearly_and_marks_the_account(
        client: httpx.Client, standin: Standin, deployment: Deployment) -> None:
    standin.refuse_all = True
    try:
        job = submit(client, ibm_bell(shots=100))
        failed = final(client, job["id"])
        ready = httpx.get(f"{deployment.base}/readyz").json()
    finally:
        standin.refuse_all = False
    assert failed["status"] == "ERROR"
    assert "refused the gateway's credentials (HTTP 401)" in failed["error_message"]
    assert ready["runtimes"]["ibm_quantum"].startswith("unhealthy: IBM Quantum refused")
    assert ready["runtimes"]["local"] == "ok"  # the local simulators carry on
    answer = client.get(f"/v1/jobs/{job['id']}/result")
    assert answer.status_code == 409 and "credentials" in answer.json()["detail"]


def test_a_gateway_without_an_account_lists_only_local_backends_and_imports_nothing(
        keys: KeyStore, server: str) -> None:
    with new_tenant(keys, server) as http:  # the session's gateway: no QISKIT_IBM_* at all
        providers = {b["provider"] for b in http.get("/v1/backends").json()["backends"]}
        answer = http.post("/v1/jobs/import", json={"runtime_job_id": "d0123456789abcdef012"})
        refused = http.post("/v1/jobs", json=ibm_bell())
    assert providers == {"local"}
    assert answer.status_code == 404 and answer.json()["type"].endswith("/ibm-not-configured")
    assert refused.status_code == 422 and "backend" in refused.json()["errors"]


def test_the_token_is_in_no_response_event_log_line_or_stored_value(
        deployment: Deployment, standin: Standin, redis_url: str) -> None:
    assert standin.seen_tokens == {TOKEN}  # the gateway did use it, with IAM only
    assert deployment.responses and not [r for r in deployment.responses if TOKEN in r]
    logs = {path.name: path.read_text() for path in deployment.logs.iterdir()}
    assert any("/api/v1/jobs" in text for text in logs.values())  # upstream traffic was logged
    assert [name for name, text in logs.items() if TOKEN in text] == []
    assert [key for key, value in redis_values(redis_url) if TOKEN.encode() in value] == []


# -- helpers --------------------------------------------------------------------------------------
@pytest.fixture
def other_tenant(deployment: Deployment) -> Iterator[httpx.Client]:
    with deployment.client() as http:
        yield http


def submit_elsewhere(standin: Standin, monkeypatch: pytest.MonkeyPatch) -> str:
    """A private Bell job sent to the stand-in by someone's own qiskit-ibm-runtime, not the
    gateway; its id."""
    from qiskit import QuantumCircuit
    from qiskit.transpiler.preset_passmanagers import generate_preset_pass_manager
    from qiskit_ibm_runtime import QiskitRuntimeService
    from qiskit_ibm_runtime.executor_sampler import Sampler

    monkeypatch.setenv("IAM_URL", standin.iam_url)
    monkeypatch.setenv("QISKIT_FUNCTIONS_EXPERIMENTAL", "1")
    service = QiskitRuntimeService(channel="ibm_quantum_platform", token=TOKEN, instance=CRN,
                                   url=standin.api_url)
    backend = service.backend(DEVICE)
    bell = QuantumCircuit(2, 2)
    bell.h(0)
    bell.cx(0, 1)
    bell.measure([0, 1], [0, 1])
    isa = generate_preset_pass_manager(optimization_level=1, target=backend.target).run(bell)
    sampler = Sampler(mode=backend, options={"environment": {"private": True}})
    eventually(standin.could_create, WINDOW, "the stand-in's creation limit to allow one more")
    return sampler.run([isa], shots=300).job_id()


def redis_values(redis_url: str) -> Iterator[tuple[bytes, bytes]]:
    """Every key of the test Redis with its value(s) as bytes (compressed blobs inflated)."""
    raw = redis.Redis.from_url(redis_url)
    for key in raw.scan_iter(count=1000):
        kind = raw.type(key)
        if kind == b"string":
            value = raw.get(key) or b""
            with contextlib.suppress(zlib.error):
                value = zlib.decompress(value)
        elif kind == b"hash":
            value = b" ".join(k + b"=" + v for k, v in raw.hgetall(key).items())
        elif kind == b"list":
            value = b" ".join(raw.lrange(key, 0, -1))
        elif kind == b"zset":
            value = b" ".join(raw.zrange(key, 0, -1))
        elif kind == b"set":
            value = b" ".join(raw.smembers(key))
        elif kind == b"stream":
            value = b" ".join(v for _, entry in raw.xrange(key) for v in entry.values())
        else:
            value = b""
        yield key, value
