"""The official qiskit-ibm-runtime client (pinned 0.51), unchanged, against the live gateway's
IBM-compatible facade (/ibm): backends and targets, SamplerV2/EstimatorV2 and the executor
primitives on the local simulators, every RuntimeJobV2 call, the service's job calls. Facade
jobs are gateway jobs (GET /v1/jobs/{id}, the same numbers as a native job); tenants stay
apart; errors come in IBM's shape."""

from __future__ import annotations

import uuid
import warnings

import httpx
import numpy as np
import pytest
from qiskit import QuantumCircuit, qasm3, transpile
from qiskit.circuit import Parameter
from qiskit.quantum_info import SparsePauliOp
from qiskit_ibm_runtime import Batch, EstimatorV2, QiskitRuntimeService, SamplerV2, Session
from qiskit_ibm_runtime.exceptions import IBMRuntimeError, RuntimeJobNotFound
from qiskit_ibm_runtime.executor_estimator import Estimator as ExecutorEstimator
from qiskit_ibm_runtime.executor_sampler import Sampler as ExecutorSampler

from core.store.api_keys import KeyStore
from core.store.connection import Connection
from core.store.quotas import Quotas
from tests.conftest import BELL_QASM3, slow_circuit
from tests.events_helpers import events_of, open_stream
from tests.facade_helpers import bell, connect, environment
from tests.waiting import eventually

warnings.filterwarnings("ignore", category=DeprecationWarning)  # SamplerV2/EstimatorV2


def rotation() -> QuantumCircuit:
    theta = Parameter("θ")
    circuit = QuantumCircuit(1)
    circuit.ry(theta, 0)
    circuit.measure_all()
    return circuit


SWEEP = [[0.0], [np.pi / 2], [np.pi]]


def test_backends_and_targets(ibm_service: QiskitRuntimeService) -> None:
    names = {backend.name for backend in ibm_service.backends()}
    assert {"aer_simulator", "fake_manila"} <= names
    manila = ibm_service.backend("fake_manila")
    assert manila.num_qubits == 5 and "cx" in manila.target.operation_names
    assert manila.target["cx"][(0, 1)].error is not None  # the device's calibration data
    ideal = ibm_service.backend("aer_simulator")
    assert ideal.target.num_qubits == 20 and ideal.status().operational


def test_sampler_v2_is_a_gateway_job_with_the_native_numbers(
        ibm_service: QiskitRuntimeService, client_of_service: httpx.Client) -> None:
    backend = ibm_service.backend("aer_simulator")
    sampler = SamplerV2(backend, options={"simulator": {"seed_simulator": 7}})
    job = sampler.run([transpile(bell(), backend)], shots=400)
    counts = job.result()[0].data.meas.get_counts()
    assert set(counts) == {"00", "11"} and sum(counts.values()) == 400
    assert job.status() == "DONE"
    seen = client_of_service.get(f"/v1/jobs/{job.job_id()}").json()  # a gateway job
    assert seen["program_id"] == "sampler" and seen["status"] == "DONE"
    listed = client_of_service.get("/v1/jobs").json()["jobs"]
    assert job.job_id() in [j["id"] for j in listed]
    inputs = client_of_service.get(f"/v1/jobs/{job.job_id()}/inputs").json()
    assert inputs["options"]["simulator"] == {"seed_simulator": 7}  # the client's options
    native = client_of_service.post("/v1/jobs", json={  # the same program, submitted natively
        "program_id": "sampler", "backend": "aer_simulator", "pubs": inputs["pubs"],
        "options": inputs["options"]}).json()
    again = client_of_service.get(f"/v1/jobs/{native['id']}/result", params={"wait": 30}).json()
    assert again["pub_results"][0]["data"]["meas"]["counts"] == [counts]


def test_estimator_v2_with_its_options_on_a_noisy_device(
        ibm_service: QiskitRuntimeService, client_of_service: httpx.Client) -> None:
    backend = ibm_service.backend("fake_manila")
    circuit = QuantumCircuit(2)
    circuit.h(0)
    circuit.cx(0, 1)
    isa = transpile(circuit, backend)
    observables = [SparsePauliOp(p).apply_layout(isa.layout) for p in ("ZZ", "XX", "IZ")]
    estimator = EstimatorV2(backend, options={"resilience_level": 1})
    job = estimator.run([(isa, observables)], precision=0.02)
    result = job.result()
    evs = result[0].data.evs
    assert evs.shape == (3,) and evs[0] > 0.8 and evs[1] > 0.8 and abs(evs[2]) < 0.2
    assert result.metadata["target_precision"] == pytest.approx(0.02)
    assert result.metadata["options"]["resilience"]["measure_mitigation"]  # TREX, as IBM's
    options = client_of_service.get(f"/v1/jobs/{job.job_id()}/inputs").json()["options"]
    assert options["resilience_level"] == 1  # the gateway mitigates, as IBM would


def test_an_option_the_gateway_refuses_is_an_ibm_error(ibm_service: QiskitRuntimeService
                                                         ) -> None:
    backend = ibm_service.backend("aer_simulator")
    sampler = SamplerV2(backend, options={"experimental": {"anything": 1}})
    with pytest.raises(IBMRuntimeError, match="experimental"):
        sampler.run([transpile(bell(), backend)], shots=10)


def test_executor_sampler_sweep_and_estimator(ibm_service: QiskitRuntimeService) -> None:
    backend = ibm_service.backend("aer_simulator")
    isa = transpile(rotation(), backend)
    result = ExecutorSampler(backend).run([(isa, SWEEP)], shots=200).result()
    counts = [result[0].data.meas.get_counts(i) for i in range(3)]
    assert counts[0] == {"0": 200} and counts[2] == {"1": 200} and len(counts[1]) == 2
    estimator = ExecutorEstimator(backend)
    estimator.options.resilience_level = 0  # no twirling: samplex items of parameters only
    circuit = QuantumCircuit(2)
    circuit.h(0)
    circuit.cx(0, 1)
    isa = transpile(circuit, backend)
    observables = [SparsePauliOp(p).apply_layout(isa.layout) for p in ("ZZ", "XX", "ZI")]
    evs = estimator.run([(isa, observables)], precision=0.05).result()[0].data.evs
    assert evs[0] == pytest.approx(1) and evs[1] == pytest.approx(1) and abs(evs[2]) < 0.2


def test_twirled_executor_sampler_undoes_its_flips(ibm_service: QiskitRuntimeService) -> None:
    backend = ibm_service.backend("aer_simulator")
    sampler = ExecutorSampler(backend)
    sampler.options.twirling.enable_gates = True
    sampler.options.twirling.enable_measure = True
    job = sampler.run([transpile(bell(), backend)], shots=1024)  # 16 randomizations of 64
    counts = job.result()[0].data.meas.get_counts()
    assert set(counts) == {"00", "11"} and sum(counts.values()) == 1024  # the flips undone
    assert 0.4 < counts["00"] / 1024 < 0.6


def test_default_executor_estimator_agrees_with_the_librarys_local_mode(
        ibm_service: QiskitRuntimeService) -> None:
    """resilience_level 1 (TREX: measurement twirling, its calibration item) on a noisy
    device gives what the library's own local runner gives."""
    from qiskit_ibm_runtime.fake_provider import FakeManilaV2

    local = FakeManilaV2()
    circuit = QuantumCircuit(3)
    circuit.h(0)
    circuit.cx(0, 1)
    circuit.cx(1, 2)
    isa = transpile(circuit, local, seed_transpiler=1)
    pub = (isa, SparsePauliOp("ZZI").apply_layout(isa.layout))
    ours = ExecutorEstimator(ibm_service.backend("fake_manila")).run([pub], precision=0.05)
    theirs = ExecutorEstimator(mode=local).run([pub], precision=0.05).result()[0].data
    data = ours.result()[0].data
    assert abs(data.evs - theirs.evs) < 4 * np.hypot(data.stds, theirs.stds)
    assert data.evs > 0.8  # mitigated: the noisy value with flips not undone would be near 0


def test_every_job_call(ibm_service: QiskitRuntimeService) -> None:
    backend = ibm_service.backend("aer_simulator")
    job = SamplerV2(backend).run([transpile(bell(), backend)], shots=100)
    job.result()
    assert "finished" in job.logs()
    metrics = job.metrics()
    assert metrics["timestamps"]["finished"] and metrics["usage"]["seconds"] >= 0
    assert job.usage() >= 0
    job.update_tags(["facade", "bell"])
    assert sorted(ibm_service.job(job.job_id()).tags) == ["bell", "facade"]
    assert job.backend().name == "aer_simulator"


def test_cancel_a_running_job(ibm_service: QiskitRuntimeService) -> None:
    backend = ibm_service.backend("aer_simulator")
    slow = transpile(qasm3.loads(slow_circuit(qubits=18, layers=80)), backend,
                     optimization_level=0)
    job = SamplerV2(backend).run([slow], shots=10)
    job.cancel()
    eventually(lambda: job.status() == "CANCELLED" or None, 30, "the job to be cancelled")
    with pytest.raises(Exception, match=r"[Cc]ancel"):
        job.result()


def test_service_job_jobs_and_delete(ibm_service: QiskitRuntimeService) -> None:
    backend = ibm_service.backend("aer_simulator")
    sampler = SamplerV2(backend)
    sampler.options.environment.job_tags = ["listed"]
    first = sampler.run([transpile(bell(), backend)], shots=10)
    second = ExecutorSampler(backend).run([transpile(bell(), backend)], shots=10)
    first.result(), second.result()
    assert ibm_service.job(first.job_id()).primitive_id == "sampler"
    assert ibm_service.job(second.job_id()).primitive_id == "executor"
    listed = [j.job_id() for j in ibm_service.jobs(limit=10)]
    assert listed[:2] == [second.job_id(), first.job_id()]  # newest first
    assert [j.job_id() for j in ibm_service.jobs(job_tags=["listed"])] == [first.job_id()]
    assert [j.job_id() for j in ibm_service.jobs(program_id="executor")] == [second.job_id()]
    assert ibm_service.jobs(pending=True) == []
    assert ibm_service.jobs(backend_name="fake_manila") == []
    assert [j.job_id() for j in ibm_service.jobs(limit=1, skip=1)] == [first.job_id()]
    ibm_service.delete_job(first.job_id())
    with pytest.raises(RuntimeJobNotFound):
        ibm_service.job(first.job_id())


def test_tenants_stay_apart(ibm_service: QiskitRuntimeService, keys: KeyStore,
                            server: str) -> None:
    backend = ibm_service.backend("aer_simulator")
    job = SamplerV2(backend).run([transpile(bell(), backend)], shots=10)
    _, other_key = keys.create("facade-other-tenant")
    other = connect(server, other_key)
    with pytest.raises(RuntimeJobNotFound):
        other.job(job.job_id())
    assert job.job_id() not in [j.job_id() for j in other.jobs()]


def test_errors_are_ibms_shape_not_problem_json(server: str, keys: KeyStore) -> None:
    _, key = keys.create("facade-errors")
    refused = httpx.post(f"{server}/ibm/identity/token", data={"apikey": "not-a-key"})
    assert refused.status_code == 401
    assert refused.headers["content-type"] == "application/json"
    assert refused.json()["errors"][0]["message"] and refused.json()["status_code"] == 401
    token = httpx.post(f"{server}/ibm/identity/token",
                       data={"grant_type": "urn:ibm:params:oauth:grant-type:apikey",
                             "apikey": key}).json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    missing = httpx.get(f"{server}/ibm/api/v1/jobs/no-such-job", headers=headers)
    assert missing.status_code == 404 and "errors" in missing.json()
    bad = httpx.post(f"{server}/ibm/api/v1/jobs", headers=headers,
                     json={"program_id": "sampler", "backend": "aer_simulator",
                           "params": {"pubs": [[{"__type__": "QuantumCircuit",
                                                 "__value__": "bm90IHFweQ=="}]]}})
    assert bad.status_code == 422 and bad.json()["error"]["code"] == 422
    for body in ([1], "text", {"program_id": "sampler", "backend": "aer_simulator"}):
        odd = httpx.post(f"{server}/ibm/api/v1/jobs", headers=headers, json=body)
        assert odd.status_code == 422 and odd.json()["errors"], odd.text
    broken = httpx.post(f"{server}/ibm/api/v1/jobs", headers={
        **headers, "Content-Type": "application/json"}, content=b'{"program_id": ')
    assert broken.status_code == 400 and broken.json()["errors"]
    unauthorized = httpx.get(f"{server}/ibm/api/v1/backends",
                             headers={"Authorization": f"Bearer {key}"})  # a key is no token
    assert unauthorized.status_code == 401 and "errors" in unauthorized.json()
    plain = httpx.get(f"{server}/v1/jobs/no-such-job", headers={"Authorization": f"Bearer {key}"})
    assert plain.headers["content-type"] == "application/problem+json"  # /v1 unchanged



def test_the_shorter_form_needs_no_code_change(server: str, keys: KeyStore,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """The README's shorter form: environment variables only, `QiskitRuntimeService()` as is
    (`experimental` in the URL keeps the client from rewriting it for IBM's regions)."""
    _, key = keys.create("facade-env-only")
    host = server.removeprefix("http://")
    for name, value in {"QISKIT_IBM_TOKEN": key, "QISKIT_IBM_CHANNEL": "ibm_quantum_platform",
                        "QISKIT_IBM_URL": f"http://experimental@{host}/ibm/api/v1",
                        "QISKIT_IBM_INSTANCE": "crn:v1:bluemix:public:quantum-computing:"
                                               "us-east:a/any:any::",
                        "IAM_URL": f"{server}/ibm", "QISKIT_FUNCTIONS_EXPERIMENTAL": "1"}.items():
        monkeypatch.setenv(name, value)
    service = QiskitRuntimeService()
    backend = service.backend("aer_simulator")
    result = SamplerV2(backend).run([transpile(bell(), backend)], shots=50).result()
    assert sum(result[0].data.meas.get_counts().values()) == 50


def test_facade_jobs_count_against_the_tenants_quotas(
        server: str, keys: KeyStore, redis_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    tenant = f"t-{uuid.uuid4().hex[:12]}"
    _, key = keys.create(tenant)
    Quotas(Connection.open(redis_url)).set(tenant, "submits_per_minute", 1)
    for name, value in environment(server).items():
        monkeypatch.setenv(name, value)
    with httpx.Client(base_url=server, headers={"Authorization": f"Bearer {key}"}) as http:
        native = http.post("/v1/jobs", json={"program_id": "sampler", "backend": "aer_simulator",
                                             "pubs": [{"circuit": BELL_QASM3, "shots": 10}]})
        assert native.status_code == 202, native.text
        backend = connect(server, key).backend("aer_simulator")
        with pytest.raises(IBMRuntimeError, match="429"):  # the same tenant's minute is used up
            SamplerV2(backend).run([transpile(bell(), backend)], shots=10)
        jobs = http.get("/v1/jobs").json()["jobs"]
        assert [job["id"] for job in jobs] == [native.json()["id"]]


def test_a_facade_job_is_in_the_tenants_event_stream(
        ibm_service: QiskitRuntimeService, client_of_service: httpx.Client) -> None:
    backend = ibm_service.backend("aer_simulator")
    job = SamplerV2(backend).run([transpile(bell(), backend)], shots=10)
    job.result()
    with open_stream(client_of_service, "/v1/events") as source:  # replayed from the start
        seen = events_of(source, lambda e: e.data.get("job_id") == job.job_id()
                         and e.data.get("status") == "DONE")
    assert seen[-1].data["job_id"] == job.job_id()


def test_a_revoked_key_ends_its_tokens(server: str, keys: KeyStore) -> None:
    key_id, key = keys.create("facade-revoked")
    token = httpx.post(f"{server}/ibm/identity/token",
                       data={"apikey": key}).json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    assert httpx.get(f"{server}/ibm/api/v1/backends", headers=headers).status_code == 200
    keys.revoke(key_id)
    refused = httpx.get(f"{server}/ibm/api/v1/backends", headers=headers)
    assert refused.status_code == 401 and "revoked" in refused.json()["errors"][0]["message"]
    forged = token.rpartition(".")[0] + ".c3RfZm9yZ2Vk"  # claims kept, another secret
    assert httpx.get(f"{server}/ibm/api/v1/backends",
                     headers={"Authorization": f"Bearer {forged}"}).status_code == 401


def test_session_and_batch(ibm_service: QiskitRuntimeService,
                           client_of_service: httpx.Client) -> None:
    backend = ibm_service.backend("aer_simulator")  # no `simulator` in its configuration
    isa = transpile(bell(), backend)
    with Session(backend=backend) as session:
        job = SamplerV2(mode=session).run([isa], shots=10)
        job.result()
        assert job.session_id == session.session_id
        assert session.details()["mode"] == "dedicated"
        seen = client_of_service.get(f"/v1/sessions/{session.session_id}").json()
        assert seen["mode"] == "dedicated" and seen["jobs"]["DONE"] == 1
    assert client_of_service.get(f"/v1/sessions/{session.session_id}").json()["state"] == \
        "closed"  # leaving the block closes it
    batch = Batch(backend=backend)
    jobs = [ExecutorSampler(mode=batch).run([isa], shots=10) for _ in range(2)]
    assert all(sum(j.result()[0].data.meas.get_counts().values()) == 10 for j in jobs)
    assert client_of_service.get(f"/v1/sessions/{batch.session_id}").json()["mode"] == "batch"
    batch.cancel()
    assert client_of_service.get(f"/v1/sessions/{batch.session_id}").json()["state"] == "closed"
