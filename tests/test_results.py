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

PARAMETRIC = ('OPENQASM 3.0; include "stdgates.inc"; input float theta; qubit[1] q; bit[1] c; '
              "rx(theta) q[0]; c[0] = measure q[0];")
BELL_NO_MEASURE = 'OPENQASM 3.0; include "stdgates.inc"; qubit[2] q; h q[0]; cx q[0], q[1];'


def test_noisy_bell_on_fake_manila_gives_mostly_00_and_11(client: httpx.Client) -> None:
    job = submit(client, sampler_job(backend="fake_manila", shots=1024))
    assert job["status"] == "QUEUED" and job["backend"] == "fake_manila"
    counts = result_of(client, job["id"])["pub_results"][0]["data"]["c"]["counts"]
    assert sum(counts.values()) == 1024
    share = (counts.get("00", 0) + counts.get("11", 0)) / 1024
    assert 0.80 <= share <= 0.995, counts  # noise leaves some 01 and 10


def test_ideal_bell_from_openqasm2_gives_only_00_and_11(client: httpx.Client) -> None:
    job = submit(client, sampler_job(BELL_QASM2, shots=2000))
    data = result_of(client, job["id"])["pub_results"][0]["data"]["c"]
    assert set(data["counts"]) == {"00", "11"}
    assert data["num_shots"] == 2000 and data["num_bits"] == 2
    assert 800 < data["counts"]["00"] < 1200


def test_estimator_on_a_bell_state(client: httpx.Client) -> None:
    body = {"program_id": "estimator", "backend": "aer_simulator",
            "pubs": [{"circuit": BELL_NO_MEASURE, "observables": ["ZZ", "XX", "ZI", {"ZZ": 0.5}]}]}
    data = result_of(client, submit(client, body)["id"])["pub_results"][0]["data"]
    assert data["evs"] == [1.0, 1.0, 0.0, 0.5]
    assert len(data["stds"]) == 4


def test_parameter_sweep_gives_counts_per_value(client: httpx.Client) -> None:
    job = submit(client, sampler_job(PARAMETRIC, parameter_values={"theta": [0, 3.141592653589793]},
                                     shots=500))
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
    data = response.json()["pub_results"][0]["data"]["c"]
    assert len(data["samples"]) == 300 and Counter(data["samples"]) == data["counts"]
    assert len(set(data["samples"])) > 2  # noise: some 01 and 10 among 00 and 11


def test_samples_of_a_sweep_are_nested_by_its_shape(client: httpx.Client) -> None:
    job = submit(client, sampler_job(PARAMETRIC, parameter_values={
        "theta": [[0, 3.141592653589793, 0]]}, shots=40))
    result_of(client, job["id"])
    data = client.get(f"/v1/jobs/{job['id']}/result",
                      params={"include": "samples"}).json()["pub_results"][0]["data"]["c"]
    assert data["shape"] == [1, 3]
    assert data["samples"] == [[["0"] * 40, ["1"] * 40, ["0"] * 40]]


def test_estimator_results_carry_their_standard_errors_and_precision(
        client: httpx.Client) -> None:
    body = {"program_id": "estimator", "backend": "aer_simulator",
            "pubs": [{"circuit": BELL_NO_MEASURE, "observables": ["ZZ", "XX"], "precision": 0.05}]}
    pub = result_of(client, submit(client, body)["id"])["pub_results"][0]
    assert len(pub["data"]["evs"]) == len(pub["data"]["ensemble_standard_error"]) == 2
    assert pub["data"]["ensemble_standard_error"] == pub["data"]["stds"]
    assert pub["metadata"]["target_precision"] == 0.05 and pub["metadata"]["shots"] == 400


def test_more_samples_than_the_limit_is_a_422_naming_the_setting(client: httpx.Client) -> None:
    job = submit(client, sampler_job(PARAMETRIC, parameter_values={"theta": [0.1, 0.2]},
                                     shots=MAX_RESULT_SAMPLES // 2 + 1))
    assert result_of(client, job["id"])["pub_results"][0]["data"]["c"]["shape"] == [2]
    response = client.get(f"/v1/jobs/{job['id']}/result", params={"include": "samples"})
    assert response.status_code == 422
    assert "GATEWAY_MAX_RESULT_SAMPLES" in response.json()["detail"]
