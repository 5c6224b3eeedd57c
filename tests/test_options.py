"""Runtime options at submit time: every bad option is a 422 naming its path, whether the
schema, the library's own rules or the backend refuse it; what mitigation makes run is counted
before anything runs. Against the app in the test process (Flask's test client, real Redis, the
real parse processes); nothing here needs a worker."""

from __future__ import annotations

import json
from typing import Any

import pytest
from flask.testing import FlaskClient

from tests.conftest import BELL_QASM3, sampler_job, submit

GHZ3 = ('OPENQASM 3.0; include "stdgates.inc"; qubit[3] q; bit[3] c; h q[0]; cx q[0], q[1]; '
        "cx q[1], q[2]; c = measure q;")


def estimator_job(backend: str = "fake_manila", options: dict | None = None,
                  **pub: Any) -> dict:
    job = {"program_id": "estimator", "backend": backend,
           "pubs": [{"circuit": GHZ3, "observables": "ZZI", **pub}]}
    return {**job, "options": options} if options is not None else job


def refused(app_client: FlaskClient, body: dict) -> dict[str, list[str]]:
    response = app_client.post("/v1/jobs", json=body)
    assert response.status_code == 422, response.text
    problem = json.loads(response.text)
    assert problem["type"].endswith("/invalid-input"), problem
    return problem["errors"]


@pytest.mark.parametrize(("options", "path", "said"), [
    ({"resilience": {"zne": {"noise_factors": [0.5, 1]}}}, "options.resilience.zne.noise_factors",
     "each at least 1"),
    ({"resilience": {"zne": {"extrapolator": "cubic"}}}, "options.resilience.zne.extrapolator",
     "must be one of"),
    ({"twirling": {"num_randomizations": 0}}, "options.twirling.num_randomizations", '"auto"'),
    ({"twirling": {"enable_gates": 1}}, "options.twirling.enable_gates", "true or false"),
    ({"resilience_level": 3}, "options.resilience_level", "one of"),
    ({"dynamical_decoupling": {"sequence_type": "XZ"}},
     "options.dynamical_decoupling.sequence_type", "one of"),
    ({"environment": {"job_tags": ["a"] * 33}}, "options.environment.job_tags", "32"),
    ({"resilience": {"zne": {"amplify": "x"}}}, "options.resilience.zne.amplify",
     "unknown field"),
    ({"resilience": {"layer_noise_model": []}}, "options.resilience.layer_noise_model",
     "not JSON"),
    ({"experimental": {}}, "options.experimental", "not taken"),
    ({"execution": {"meas_type": "classified"}}, "options.execution.meas_type",
     "the sampler's option"),
])
def test_an_invalid_option_is_refused_by_its_path(app_client: FlaskClient, options: dict,
                                                  path: str, said: str) -> None:
    errors = refused(app_client, estimator_job(options=options))
    assert list(errors) == [path] and said in errors[path][0], errors


def test_an_option_of_the_estimator_is_named_as_such_on_the_sampler(
        app_client: FlaskClient) -> None:
    body = {**sampler_job(backend="fake_manila"), "options": {"resilience_level": 1,
                                                             "twirling": {"group": "pauli"}}}
    errors = refused(app_client, body)
    assert errors == {"options.resilience_level": [
        "the sampler takes no `resilience_level`: it is the estimator's option"]}


@pytest.mark.parametrize(("options", "path", "said"), [
    ({"resilience": {"pec_mitigation": True, "zne_mitigation": True}},
     "options.resilience.pec_mitigation", "incompatible"),
    ({"resilience_level": 2, "resilience": {"pec_mitigation": True}},
     "options.resilience.pec_mitigation", "incompatible"),
    ({"resilience": {"pec_mitigation": True}}, "options.resilience.pec_mitigation",
     "learned noise model"),
    ({"resilience_level": 2, "resilience": {"zne": {"amplifier": "pea"}}},
     "options.resilience.zne.amplifier", "learned noise model"),
    ({"resilience_level": 2, "resilience": {"zne": {"noise_factors": [1, 3],
                                                    "extrapolator": "double_exponential"}}},
     "options.resilience.zne.noise_factors", "double_exponential requires at least 4"),
])
def test_what_the_library_would_refuse_before_a_run_is_refused_at_submit(
        app_client: FlaskClient, options: dict, path: str, said: str) -> None:
    errors = refused(app_client, estimator_job(options=options))
    assert list(errors) == [path] and said in errors[path][0], errors


def test_measurement_twirling_needs_classified_bits(app_client: FlaskClient) -> None:
    body = {**sampler_job(backend="fake_manila"), "options": {
        "execution": {"meas_type": "kerneled"}, "twirling": {"enable_measure": True}}}
    errors = refused(app_client, body)
    assert "options.execution.meas_type" in errors, errors


@pytest.mark.parametrize("backend", ["aer_simulator", "fake_manila"])
def test_iq_data_has_no_meaning_on_a_simulator(app_client: FlaskClient, backend: str) -> None:
    body = {**sampler_job(backend=backend), "options": {"execution": {"meas_type": "kerneled"}}}
    errors = refused(app_client, body)
    assert "a simulator has none" in errors["options.execution.meas_type"][0]


@pytest.mark.parametrize(("options", "path"), [
    ({"resilience_level": 1}, "options.resilience_level"),
    ({"resilience": {"measure_mitigation": True}}, "options.resilience.measure_mitigation"),
    ({"twirling": {"enable_gates": True}}, "options.twirling.enable_gates"),
    ({"dynamical_decoupling": {"enable": True}}, "options.dynamical_decoupling.enable"),
    ({"execution": {"rep_delay": 0.0002}}, "options.execution.rep_delay"),
])
def test_mitigation_has_no_meaning_on_the_ideal_simulator(app_client: FlaskClient,
                                                          options: dict, path: str) -> None:
    errors = refused(app_client, estimator_job("aer_simulator", options))
    assert list(errors) == [path] and "ideal simulator" in errors[path][0], errors


def test_the_ideal_simulator_takes_what_means_nothing_to_mitigate(
        app_client: FlaskClient) -> None:
    """Level 0, twirling left off and the library's defaults are fine there."""
    job = submit(app_client, estimator_job("aer_simulator", {
        "resilience_level": 0, "twirling": {"enable_gates": False},
        "default_precision": 0.02, "simulator": {"seed_simulator": 3}}))
    assert job["status"] == "QUEUED"


def test_a_repetition_delay_is_within_the_replicas_range(app_client: FlaskClient) -> None:
    errors = refused(app_client, estimator_job(options={"execution": {"rep_delay": 0.001}}))
    assert "rep_delay_range, 0.0 to 0.0005 seconds" in errors["options.execution.rep_delay"][0]
    job = submit(app_client, estimator_job(options={"execution": {"rep_delay": 0.0003}}))
    assert job["status"] == "QUEUED"


def test_the_options_are_kept_as_sent(app_client: FlaskClient) -> None:
    options = {"resilience_level": 2, "twirling": {"num_randomizations": 4},
               "resilience": {"zne": {"noise_factors": [1, 3, 5], "extrapolator": "linear"}},
               "environment": {"job_tags": ["x"]}, "seed": 5}
    job = submit(app_client, estimator_job(options=options))
    inputs = json.loads(app_client.get(f"/v1/jobs/{job['id']}/inputs").text)
    assert inputs["options"] == {"optimization_level": 1, **options}


def usage(app_client: FlaskClient, body: dict) -> float:
    job = submit(app_client, body)
    return job["usage_estimation"]["quantum_seconds"]


def test_mitigation_counts_in_the_estimate(app_client: FlaskClient) -> None:
    """ZNE's three noise factors run the circuit three times, folded; TREX adds calibration."""
    level = {n: usage(app_client, estimator_job(options={"resilience_level": n}))
             for n in (0, 1, 2)}
    assert level[0] < level[1] < level[2], level
    twirled = usage(app_client, {**sampler_job(GHZ3, "fake_manila", shots=4096), "options": {
        "twirling": {"enable_gates": True, "num_randomizations": 64,
                     "shots_per_randomization": 64}}})
    plain = usage(app_client, sampler_job(GHZ3, "fake_manila", shots=4096))
    assert twirled > plain, (twirled, plain)


def test_shots_mitigation_makes_run_are_limited(app_client: FlaskClient) -> None:
    """A million shots per PUB is under the per-PUB limit; 128 randomizations of 100 000 is
    not what the job's owner asked to count."""
    body = {**sampler_job(BELL_QASM3, "fake_manila", shots=100_000), "options": {
        "twirling": {"enable_gates": True, "num_randomizations": 128,
                     "shots_per_randomization": 100_000}}}
    response = app_client.post("/v1/jobs", json=body)
    assert response.status_code == 422, response.text
    problem = json.loads(response.text)
    assert problem["limit"] == "total_shots" and problem["value"] == 12_800_000, problem
    assert problem["setting"] == "GATEWAY_MAX_TOTAL_SHOTS"
    assert "128 circuits x 100000 shots" in problem["errors"]["options"][0]


def test_a_mitigated_job_expected_to_outrun_its_time_limit_is_refused(
        app_client: FlaskClient) -> None:
    body = estimator_job(options={"resilience_level": 2, "default_precision": 0.001,
                                  "max_execution_time": 1})
    response = app_client.post("/v1/jobs", json=body)
    assert response.status_code == 422, response.text
    problem = json.loads(response.text)
    assert problem["limit"] == "execution_time" and problem["maximum"] == 1, problem


def test_the_backend_says_how_mitigation_counts(app_client: FlaskClient) -> None:
    limits = json.loads(app_client.get("/v1/backends/fake_manila").text)["limits"]
    assert "max_total_shots" in limits["mitigation_counts"]


def test_default_shots_fills_in_a_sampler_pub(app_client: FlaskClient) -> None:
    job = submit(app_client, {**sampler_job(backend="aer_simulator"),
                              "options": {"default_shots": 300}})
    inputs = json.loads(app_client.get(f"/v1/jobs/{job['id']}/inputs").text)
    assert inputs["pubs"][0]["shots"] == 300


@pytest.mark.parametrize("options", [
    {"resilience_level": 2, "resilience": {"zne": {"noise_factors": [1, 1e308, 1e308]}}},
    {"default_precision": 1e-300},
    {"twirling": {"num_randomizations": 10**18, "shots_per_randomization": 10**18}},
])
def test_absurd_mitigation_is_a_limit_not_a_crash(app_client: FlaskClient,
                                                  options: dict) -> None:
    response = app_client.post("/v1/jobs", json=estimator_job(options=options))
    assert response.status_code == 422, response.text
    assert json.loads(response.text)["type"].endswith("/limit-exceeded"), response.text
