"""Scenarios from curl to counts: real worker, real simulators, results over HTTP."""

from __future__ import annotations

import json
from collections import Counter

import httpx

from tests.conftest import (
    BELL_QASM2,
    BELL_QASM3,
    MAX_RESULT_SAMPLES,
    result_of,
    sampler_job,
    slow_circuit,
    submit,
)
from tests.spec import assert_fits

PARAMETRIC = ('OPENQASM 3.0; include "stdgates.inc"; input float theta; qubit[1] q; bit[1] c; '
              "rx(theta) q[0]; c[0] = measure q[0];")
BELL_NO_MEASURE = 'OPENQASM 3.0; include "stdgates.inc"; qubit[2] q; h q[0]; cx q[0], q[1];'
PI = 3.141592653589793


def estimator_job(observables: object, backend: str = "aer_simulator", **pub: object) -> dict:
    return {"program_id": "estimator", "backend": backend,
            "pubs": [{"circuit": BELL_NO_MEASURE, "observables": observables, **pub}]}


def test_noisy_bell_on_fake_manila_gives_mostly_00_and_11(client: httpx.Client) -> None:
    job = submit(client, sampler_job(backend="fake_manila", shots=1024))
    assert job["status"] == "QUEUED" and job["backend"] == "fake_manila"
    [counts] = result_of(client, job["id"])["pub_results"][0]["data"]["c"]["counts"]
    assert sum(counts.values()) == 1024
    share = (counts.get("00", 0) + counts.get("11", 0)) / 1024
    assert 0.80 <= share <= 0.995, counts  # noise leaves some 01 and 10


def test_ideal_bell_from_openqasm2_gives_only_00_and_11(client: httpx.Client) -> None:
    job = submit(client, sampler_job(BELL_QASM2, shots=2000))
    data = result_of(client, job["id"])["pub_results"][0]["data"]["c"]
    assert data["shape"] == [] and len(data["counts"]) == 1
    assert set(data["counts"][0]) == {"00", "11"}
    assert data["num_shots"] == 2000 and data["num_bits"] == 2
    assert 800 < data["counts"][0]["00"] < 1200


def test_estimator_on_a_bell_state(client: httpx.Client) -> None:
    body = estimator_job(["ZZ", "XX", "ZI", {"ZZ": 0.5}])
    data = result_of(client, submit(client, body)["id"])["pub_results"][0]["data"]
    assert data["shape"] == [4] and data["evs"] == [1.0, 1.0, 0.0, 0.5]
    assert len(data["stds"]) == 4


def test_parameter_sweep_gives_counts_per_value(client: httpx.Client) -> None:
    job = submit(client, sampler_job(PARAMETRIC, parameter_values={"theta": [0, PI]}, shots=500))
    data = result_of(client, job["id"])["pub_results"][0]["data"]["c"]
    assert data["shape"] == [2]
    assert data["counts"][0] == {"0": 500}
    assert data["counts"][1] == {"1": 500}


def test_a_seed_makes_noisy_runs_reproducible(client: httpx.Client) -> None:
    body = {**sampler_job(backend="fake_manila"), "options": {"seed": 11}}
    first = result_of(client, submit(client, body)["id"])
    second = result_of(client, submit(client, body)["id"])
    unseeded = result_of(client, submit(client, sampler_job(backend="fake_manila"))["id"])
    assert first == second
    assert first["pub_results"][0]["data"] != unseeded["pub_results"][0]["data"]


def test_runtime_format_decodes_into_a_primitive_result(client: httpx.Client) -> None:
    from qiskit.primitives import PrimitiveResult
    from qiskit_ibm_runtime.utils.json import RuntimeDecoder

    job = submit(client, sampler_job(BELL_QASM3, shots=300))
    result_of(client, job["id"])
    text = client.get(f"/v1/jobs/{job['id']}/result", params={"format": "runtime"}).text
    decoded = json.loads(text, cls=RuntimeDecoder)
    assert isinstance(decoded, PrimitiveResult)
    assert sum(decoded[0].data.c.get_counts().values()) == 300


def test_job_moves_through_statuses_with_timestamps(client: httpx.Client) -> None:
    job = submit(client, sampler_job())
    result_of(client, job["id"])
    status = client.get(f"/v1/jobs/{job['id']}/status").json()
    assert status == {"id": job["id"], "status": "DONE", "final": True}
    done = client.get(f"/v1/jobs/{job['id']}").json()
    assert done["status"] == "DONE" and done["creation_date"].endswith("Z")
    assert done["usage_estimation"]["quantum_seconds"] > 0


def test_result_before_the_job_finishes_is_409_and_wait_blocks_until_done(
        client: httpx.Client) -> None:
    job = submit(client, sampler_job(slow_circuit(20, 30), shots=10))
    response = client.get(f"/v1/jobs/{job['id']}/result")
    assert response.status_code == 409
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["type"].endswith("/job-not-finished")
    data = result_of(client, job["id"], wait=60)["pub_results"][0]["data"]["c"]
    assert data["num_shots"] == 10 and data["num_bits"] == 20


def test_samples_list_every_shot_in_order_and_agree_with_the_counts(
        client: httpx.Client) -> None:
    job = submit(client, sampler_job(backend="fake_manila", shots=300))
    plain = result_of(client, job["id"])["pub_results"][0]["data"]["c"]
    assert "samples" not in plain
    response = client.get(f"/v1/jobs/{job['id']}/result", params={"include": "samples"})
    document = response.json()
    assert_fits(document, "Result")
    data = document["pub_results"][0]["data"]["c"]
    [samples] = data["samples"]  # one parameter set
    assert len(samples) == 300 and Counter(samples) == data["counts"][0]
    assert len(set(samples)) > 2  # noise: some 01 and 10 among 00 and 11


def test_samples_of_a_sweep_are_listed_per_parameter_set_in_c_order(
        client: httpx.Client) -> None:
    job = submit(client, sampler_job(PARAMETRIC, parameter_values={
        "theta": [[0, PI, 0], [PI, PI, 0]]}, shots=40))
    result_of(client, job["id"])
    document = client.get(f"/v1/jobs/{job['id']}/result", params={"include": "samples"}).json()
    assert_fits(document, "Result")
    data = document["pub_results"][0]["data"]["c"]
    assert data["shape"] == [2, 3]
    assert data["samples"] == [[bit] * 40 for bit in "010110"]
    assert data["counts"] == [{bit: 40} for bit in "010110"]


def test_estimator_results_carry_their_standard_errors_and_precision(
        client: httpx.Client) -> None:
    body = estimator_job(["ZZ", "XX"], precision=0.05)
    pub = result_of(client, submit(client, body)["id"])["pub_results"][0]
    assert len(pub["data"]["evs"]) == len(pub["data"]["ensemble_standard_error"]) == 2
    assert pub["data"]["ensemble_standard_error"] == pub["data"]["stds"]
    assert pub["metadata"] == {"shots": 400, "target_precision": 0.05}


def test_more_samples_than_the_limit_is_a_422_naming_the_setting(client: httpx.Client) -> None:
    job = submit(client, sampler_job(PARAMETRIC, parameter_values={"theta": [0.1, 0.2]},
                                     shots=MAX_RESULT_SAMPLES // 2 + 1))
    assert result_of(client, job["id"])["pub_results"][0]["data"]["c"]["shape"] == [2]
    response = client.get(f"/v1/jobs/{job['id']}/result", params={"include": "samples"})
    assert response.status_code == 422
    assert "GATEWAY_MAX_RESULT_SAMPLES" in response.json()["detail"]


# -- one JSON type per field, whatever the input (API.md, "Results") ---------------------------
def test_a_sampler_register_has_the_same_members_swept_or_not(client: httpx.Client) -> None:
    plain = submit(client, sampler_job(PARAMETRIC, parameter_values={"theta": [[PI]]}, shots=50))
    swept = submit(client, sampler_job(PARAMETRIC, parameter_values={"theta": [0, PI]},
                                       shots=50))
    unswept = submit(client, sampler_job(shots=50))
    registers = {}
    for name, job in (("one of one", plain), ("swept", swept), ("unswept", unswept)):
        document = result_of(client, job["id"])
        assert_fits(document, "Result")
        registers[name] = document["pub_results"][0]["data"]["c"]
    assert {name: r["shape"] for name, r in registers.items()} == {
        "one of one": [1], "swept": [2], "unswept": []}
    assert registers["one of one"]["counts"] == [{"1": 50}]
    assert registers["swept"]["counts"] == [{"0": 50}, {"1": 50}]
    [counts] = registers["unswept"]["counts"]
    assert sum(counts.values()) == 50
    for register in registers.values():
        assert list(register) == ["shape", "num_shots", "num_bits", "counts"]


def test_estimator_values_are_flat_lists_for_any_observables(client: httpx.Client) -> None:
    """A Pauli string, a list of one, and a 2x2 array of observables: the same members, flat
    lists in C order over the PUB's shape."""
    cases = [("ZZ", []), (["ZZ"], [1]), ([["ZZ", "ZI"], ["IZ", "XX"]], [2, 2])]
    jobs = [(submit(client, estimator_job(observables))["id"], shape)
            for observables, shape in cases]
    evs = []
    for job_id, shape in jobs:
        document = result_of(client, job_id)
        assert_fits(document, "Result")
        data = document["pub_results"][0]["data"]
        assert list(data) == ["shape", "evs", "stds", "ensemble_standard_error"]
        assert data["shape"] == shape
        assert len(data["stds"]) == len(data["ensemble_standard_error"]) == len(data["evs"])
        evs.append(data["evs"])
    assert evs == [[1.0], [1.0], [1.0, 0.0, 0.0, 1.0]]


def test_metadata_has_the_same_members_on_the_ideal_and_a_noisy_backend(
        client: httpx.Client) -> None:
    """Pub metadata has the same members everywhere. The ideal simulator's estimator gives exact
    values without a precision; a replica's is sampled as on the device, at the library's
    default precision and resilience level (1: TREX), and says so in the result's metadata."""
    metadata = {}
    for backend in ("aer_simulator", "fake_manila"):
        sampler = result_of(client, submit(client, sampler_job(backend=backend, shots=64))["id"])
        default = result_of(client, submit(client, estimator_job("ZZ", backend))["id"])
        estimated = result_of(client, submit(client, estimator_job(
            "ZZ", backend, precision=0.1))["id"])
        for document in (sampler, default, estimated):
            if backend == "aer_simulator" or document is sampler:
                assert_fits(document, "Result")
                assert document["metadata"] == {"version": 2}
            else:
                assert document["metadata"]["version"] == 2
                assert document["metadata"]["mitigation"]["resilience_level"] == 1
        metadata[backend] = [d["pub_results"][0]["metadata"] for d in (sampler, default, estimated)]
    assert metadata["aer_simulator"] == [
        {"shots": 64, "target_precision": None},
        {"shots": None, "target_precision": 0.0},  # exact values: no shots
        {"shots": 100, "target_precision": 0.1}]
    assert metadata["fake_manila"] == [
        {"shots": 64, "target_precision": None},
        {"shots": 4096, "target_precision": 0.015625},  # the library's default precision
        {"shots": 100, "target_precision": 0.1}]
