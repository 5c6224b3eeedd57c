"""Bad input of every kind: a clear problem+json 4xx, and nothing created, lost or broken.

Most scenarios need no worker: they run against the app in the test process (`app_client`,
Flask's test client, real Redis). What depends on the real server (the body size limit, bytes
that are not JSON on the wire) or on a worker goes through gunicorn (`client`)."""

from __future__ import annotations

import json

import httpx
import pytest
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from tests.conftest import BELL_QASM3, result_of, sampler_job, submit

PARAMETRIC = ('OPENQASM 3.0; include "stdgates.inc"; input float a; qubit[1] q; bit[1] c; '
              "rx(a) q[0]; c[0] = measure q[0];")
TWO_PARAMETERS = ('OPENQASM 3.0; include "stdgates.inc"; input float a; input float b; qubit[1] q; '
                  "bit[1] c; rx(a) q[0]; ry(b) q[0]; c[0] = measure q[0];")
SIX_QUBITS = ('OPENQASM 3.0; include "stdgates.inc"; qubit[6] q; bit[6] c; h q[0]; '
              "c = measure q;")


def problem(response: httpx.Response | TestResponse, status: int, kind: str) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body = json.loads(response.text)
    assert body["status"] == status and body["type"].endswith("/" + kind)
    assert body["title"] and body["detail"] and body["instance"]
    return body


@pytest.mark.parametrize(("circuit", "line", "column"), [
    ('OPENQASM 3.0;\ninclude "stdgates.inc";\nqubit[2] q;\nh q[0]\ncx q[0], q[1];', 5, 1),
    ('OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[2];\nh q[0];\nfoo q[1];', 5, 1),
    ('OPENQASM 3.0;\ninclude "stdgates.inc";\nqubit[2] q;\nbit[2] c;\nnope q[0];', 5, 1),
])
def test_a_circuit_that_does_not_parse_names_line_and_column(
        app_client: FlaskClient, circuit: str, line: int, column: int) -> None:
    body = problem(app_client.post("/v1/jobs", json=sampler_job(circuit)), 422, "invalid-input")
    assert (body["line"], body["column"]) == (line, column), body
    assert f"line {line}" in body["errors"]["pubs.0.circuit"][0]


@pytest.mark.parametrize(("job", "field", "words"), [
    (sampler_job("hello"), "pubs.0.circuit", "OPENQASM"),
    (sampler_job(parameter_values={"theta": [1.0]}), "pubs.0.parameter_values", "unknown"),
    (sampler_job('OPENQASM 3.0; include "stdgates.inc"; input float a; qubit[1] q; bit[1] c; '
                 "rx(a) q[0]; c[0] = measure q[0];"), "pubs.0.parameter_values", "no values"),
    (sampler_job(SIX_QUBITS, backend="fake_manila"), "pubs.0.circuit", "at most 5"),
    (sampler_job(PARAMETRIC, parameter_values={"a": "abc"}), "pubs.0.parameter_values.a", "number"),
    (sampler_job(PARAMETRIC, parameter_values={"a": [[1], [2, 3]]}), "pubs.0.parameter_values.a",
     "rectangular"),
    (sampler_job(PARAMETRIC, parameter_values={"a": {"b": 1}}), "pubs.0.parameter_values.a",
     "a number or"),
    (sampler_job(TWO_PARAMETERS, parameter_values={"a": [1, 2], "b": [1, 2, 3]}), "pubs.0",
     "consistent shape"),
    (sampler_job(backend="fake_nowhere"), "backend", "No backend"),
    ({**sampler_job(), "program_id": "qaoa"}, "program_id", "Must be one of"),
    (sampler_job(shots=0), "pubs.0.shots", "greater than or equal to 1"),
    (sampler_job(shots=10**7), "pubs.0.shots", "at most"),
    (sampler_job(shots="100"), "pubs.0.shots", "integer"),
    ({**sampler_job(), "pubs": []}, "pubs", "at least one"),
    ({**sampler_job(), "pubs": [{"circuit": BELL_QASM3}] * 101}, "pubs", "at most 100"),
    ({**sampler_job(), "tags": "demo"}, "tags", "list"),
    ({**sampler_job(), "tags": ["x" * 65]}, "tags.0", "Length"),
    ({**sampler_job(), "colour": "blue"}, "colour", "Unknown field"),
    ({**sampler_job(), "options": {"optimization_level": 7}}, "options.optimization_level",
     "less than or equal to 3"),
    (sampler_job('OPENQASM 3.0; include "stdgates.inc"; qubit[1] q; h q[0];'), "pubs.0.circuit",
     "measure"),
    ({"program_id": "estimator", "backend": "aer_simulator", "pubs": [{"circuit": BELL_QASM3}]},
     "pubs.0.observables", "required"),
    ({"program_id": "estimator", "backend": "aer_simulator",
      "pubs": [{"circuit": BELL_QASM3, "observables": ["ZZZ"]}]}, "pubs.0", "qubits"),
    ({"program_id": "estimator", "backend": "aer_simulator",
      "pubs": [{"circuit": BELL_QASM3, "observables": [{"QQ": 1}]}]}, "pubs.0.observables.0",
     "not valid"),
    ({"program_id": "estimator", "backend": "aer_simulator",
      "pubs": [{"circuit": BELL_QASM3, "observables": 7}]}, "pubs.0.observables", "observable"),
    ([1, 2, 3], "_schema", "Invalid input type"),
])
def test_invalid_submissions_are_422_with_the_field(
        app_client: FlaskClient, job: object, field: str, words: str) -> None:
    body = problem(app_client.post("/v1/jobs", json=job), 422, "invalid-input")
    assert field in body["errors"], body
    assert words in " ".join(body["errors"][field]), body


def test_malformed_json_is_400(client: httpx.Client) -> None:
    response = client.post("/v1/jobs", content=b'{"program_id": ',
                           headers={"Content-Type": "application/json"})
    problem(response, 400, "bad-request")


def test_a_body_that_is_not_json_is_415(app_client: FlaskClient) -> None:
    response = app_client.post("/v1/jobs", data=b"program_id=sampler",
                               headers={"Content-Type": "application/x-www-form-urlencoded"})
    problem(response, 415, "unsupported-media-type")


def test_a_huge_body_is_413(client: httpx.Client) -> None:
    huge = sampler_job("OPENQASM 3.0;" + " " * (6 * 1024 * 1024))
    problem(client.post("/v1/jobs", json=huge), 413, "payload-too-large")


def test_unknown_routes_and_methods_are_problems(app_client: FlaskClient) -> None:
    problem(app_client.get("/v1/nothing-here"), 404, "not-found")
    body = problem(app_client.delete("/v1/jobs"), 405, "method-not-allowed")
    assert "POST" in body["allowed"]


def test_unknown_and_foreign_ids_are_the_same_404(
        app_client: FlaskClient, other_app_client: FlaskClient) -> None:
    job = submit(app_client, sampler_job())
    for path in ("", "/status", "/result"):
        foreign = problem(other_app_client.get(f"/v1/jobs/{job['id']}{path}"), 404,
                          "job-not-found")
        unknown = problem(other_app_client.get(f"/v1/jobs/{'0' * 32}{path}"), 404,
                          "job-not-found")
        assert foreign["title"] == unknown["title"]
    problem(app_client.get("/v1/jobs/..%2F..%2Fetc/status"), 404, "not-found")
    problem(app_client.get(f"/v1/jobs/{'x' * 500}"), 404, "job-not-found")


def test_bad_query_parameters_are_422(app_client: FlaskClient) -> None:
    for query in ("limit=0", "limit=101", "limit=abc", "status=FINISHED", "cursor=%%%",
                  "created_after=yesterday", "program_id=qaoa"):
        problem(app_client.get(f"/v1/jobs?{query}"), 422, "invalid-input")
    job = submit(app_client, sampler_job())
    for query in ("wait=-1", "wait=61", "format=xml", "wait=soon"):
        problem(app_client.get(f"/v1/jobs/{job['id']}/result?{query}"), 422, "invalid-input")


def test_bad_input_creates_nothing_and_the_worker_keeps_going(client: httpx.Client) -> None:
    for job in (sampler_job("nonsense"), sampler_job(SIX_QUBITS, backend="fake_manila"),
                {**sampler_job(), "pubs": []}):
        assert client.post("/v1/jobs", json=job).status_code == 422
    assert client.get("/v1/jobs").json()["jobs"] == []
    good = submit(client, sampler_job())
    assert result_of(client, good["id"])["pub_results"][0]["data"]["c"]["num_shots"] == 1024


def test_another_tenant_cannot_touch_a_job(
        client: httpx.Client, other_client: httpx.Client) -> None:
    job = submit(client, {**sampler_job(), "tags": ["mine"]})
    result_of(client, job["id"])
    base = f"/v1/jobs/{job['id']}"
    for method, path, body in (("POST", "/cancel", None), ("DELETE", "", None),
                               ("PUT", "/tags", {"tags": ["theirs"]}), ("GET", "/logs", None),
                               ("GET", "/metrics", None), ("GET", "/queue", None),
                               ("GET", "/inputs", None), ("GET", "/wait", None),
                               ("GET", "/interim-results", None), ("GET", "/properties", None),
                               ("GET", "/backend", None)):
        answer = other_client.request(method, base + path, json=body)
        problem(answer, 404, "job-not-found")
    mine = client.get(base).json()
    assert mine["status"] == "DONE" and mine["tags"] == ["mine"]


def test_bad_parameters_of_job_operations_are_422(app_client: FlaskClient) -> None:
    job = submit(app_client, sampler_job())
    for query in ("timeout=-1", "timeout=61", "timeout=x", "colour=blue"):
        problem(app_client.get(f"/v1/jobs/{job['id']}/wait?{query}"), 422, "invalid-input")
    problem(app_client.put(f"/v1/jobs/{job['id']}/tags", data=b"[",
                           headers={"Content-Type": "application/json"}), 400, "bad-request")
    problem(app_client.post(f"/v1/jobs/{job['id']}/cancel", data=b"x",
                            headers={"Content-Type": "text/plain"}), 415, "unsupported-media-type")
