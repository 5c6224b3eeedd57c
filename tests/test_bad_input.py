"""Bad input of every kind: a clear problem+json 4xx, and nothing created, lost or broken.

Most scenarios need no worker: they run against the app in the test process (`app_client`,
Flask's test client, real Redis). What depends on the real server (the body size limit, bytes
that are not JSON on the wire) or on a worker goes through gunicorn (`client`)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field

import httpx
import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from app.errors import HTTP_KINDS, PROBLEMS, TITLES
from core.store.api_keys import KeyStore
from tests.conftest import (
    BELL_QASM3,
    new_app_client,
    result_of,
    sampler_job,
    slow_circuit,
    submit,
)

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
    assert body["status"] == status and body["type"].endswith("/" + kind), response.text
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


@dataclass(frozen=True)
class Bad:
    """A bad request and what it answers: the problem's status and type, a pattern its detail
    matches, words in the message of each field path in `errors` (no other path), and members
    it carries as they are (a limit's `limit`, `value`, `maximum`, `setting`)."""

    body: object  # JSON, or bytes sent as they are
    status: int
    kind: str
    detail: str
    errors: dict[str, str] = field(default_factory=dict)
    members: dict[str, object] = field(default_factory=dict)
    method: str = "POST"
    path: str = "/v1/jobs"  # {job}: a job of the caller's that is still running


def over(limit: str, value: int, maximum: int, setting: str) -> dict[str, object]:
    return {"limit": limit, "value": value, "maximum": maximum, "setting": setting}


def estimator_job(circuit: str = BELL_QASM3, **pub: object) -> dict:
    return {"program_id": "estimator", "backend": "aer_simulator",
            "pubs": [{"circuit": circuit, **pub}]}


def nested_gates(depth: int) -> str:
    """g0 calls h, g1 calls g0, ... g(depth-1) is `depth` levels deep."""
    lines = [HEADER, "gate g0 a { h a; }"]
    lines += [f"gate g{i} a {{ g{i - 1} a; }}" for i in range(1, depth)]
    return "\n".join([*lines, "qubit[1] q; bit[1] c;", f"g{depth - 1} q[0];", "c = measure q;"])


HEADER = 'OPENQASM 3.0; include "stdgates.inc";'
MEASURE_ONE = "c[0] = measure q[0];"
ON_TWO_LINES = 'OPENQASM 3.0;\ninclude "stdgates.inc";\nqubit[2] q;\nbit[2] c;\n'
WIDE = (HEADER + "qubit[28] q; bit[28] c; " + "".join(f"rx(0.3) q[{i}];" for i in range(28))
        + "c = measure q;")
HUGE = json.dumps(sampler_job("OPENQASM 3.0;" + " " * (5 * 2**20))).encode()
TYPE_ERROR = r"must be an? (integer|number|string|list|object)"

BAD_INPUTS = {
    # JSON that does not parse: where it breaks, and what was expected there
    "trailing comma": Bad(b'{"program_id": "sampler",}', 400, "bad-request",
                          r"^invalid JSON at line 1, column 25 \(char 24\): a trailing comma "
                          r"\(expected another value", members={"line": 1, "column": 25}),
    "missing comma": Bad(b'{"program_id": "sampler"\n "backend": "aer_simulator"}', 400,
                         "bad-request", r"line 2, column 2 \(char 26\): .*expected ',' or '}'",
                         members={"line": 2, "column": 2}),
    # a wrong JSON type in each field of a submission names the type expected
    "a list for the body": Bad([1, 2, 3], 422, "invalid-input",
                               r"^body: must be an object with `program_id`, `backend` and "
                               r"`pubs`, e\.g\. \{", {"_schema": "must be an object with"}),
    "program_id not a string": Bad({**sampler_job(), "program_id": 1}, 422, "invalid-input",
                                   TYPE_ERROR, {"program_id": "must be a string"}),
    "backend not a string": Bad({**sampler_job(), "backend": ["aer_simulator"]}, 422,
                                "invalid-input", TYPE_ERROR, {"backend": "must be a string"}),
    "pubs an object": Bad({**sampler_job(), "pubs": {"circuit": BELL_QASM3}}, 422,
                          "invalid-input", TYPE_ERROR, {"pubs": "must be a list"}),
    "a PUB a string": Bad({**sampler_job(), "pubs": [BELL_QASM3]}, 422, "invalid-input",
                          r"^pubs\.0: must be an object with `circuit`, e\.g\. ",
                          {"pubs.0": 'must be an object with `circuit`, e.g. {"circuit": '}),
    "circuit not a string": Bad(sampler_job(7), 422, "invalid-input", TYPE_ERROR,
                                {"pubs.0.circuit": "must be a string"}),
    "parameter_values a list": Bad(sampler_job(parameter_values=[0.1]), 422, "invalid-input",
                                   TYPE_ERROR, {"pubs.0.parameter_values": "must be an object"}),
    "a parameter value a string": Bad(
        sampler_job(PARAMETRIC, parameter_values={"a": "abc"}), 422, "invalid-input",
        "must be a number", {"pubs.0.parameter_values.a": "must be a number or (nested, "
                                                          "rectangular) lists of numbers"}),
    "ragged parameter values": Bad(
        sampler_job(PARAMETRIC, parameter_values={"a": [[1], [2, 3]]}), 422, "invalid-input",
        "rectangular", {"pubs.0.parameter_values.a": "rectangular"}),
    "shots a string": Bad(sampler_job(shots="100"), 422, "invalid-input",
                          r"^pubs\.0\.shots: must be an integer$",
                          {"pubs.0.shots": "must be an integer"}),
    "shots a fraction": Bad(sampler_job(shots=10.5), 422, "invalid-input", TYPE_ERROR,
                            {"pubs.0.shots": "must be an integer"}),
    "precision a string": Bad(estimator_job(observables="ZZ", precision="0.1"), 422,
                              "invalid-input", TYPE_ERROR,
                              {"pubs.0.precision": "must be a number"}),
    "observables a number": Bad(estimator_job(observables=7), 422, "invalid-input",
                                "observable", {"pubs.0.observables": "an observable is a Pauli"}),
    "options a list": Bad({**sampler_job(), "options": [7]}, 422, "invalid-input",
                          TYPE_ERROR, {"options": 'must be an object, e.g. {"seed": 7'}),
    "seed a string": Bad({**sampler_job(), "options": {"seed": "7"}}, 422, "invalid-input",
                         TYPE_ERROR, {"options.seed": "must be an integer"}),
    "tags a string": Bad({**sampler_job(), "tags": "demo"}, 422, "invalid-input", TYPE_ERROR,
                         {"tags": "must be a list"}),
    "a tag a number": Bad({**sampler_job(), "tags": [7]}, 422, "invalid-input", TYPE_ERROR,
                          {"tags.0": "must be a string"}),
    "session_id a number": Bad({**sampler_job(), "session_id": 7}, 422, "invalid-input",
                               TYPE_ERROR, {"session_id": "must be a string"}),
    "every wrong type at once": Bad(
        {"program_id": 1, "backend": 2, "pubs": [{"circuit": 3, "shots": "x"}]}, 422,
        "invalid-input", r"^program_id: must be a string; backend: must be a string; "
        r"pubs\.0\.circuit: must be a string; and 1 more \(see errors\)$",
        {"program_id": "string", "backend": "string", "pubs.0.circuit": "string",
         "pubs.0.shots": "integer"}),
    "an unknown field": Bad(sampler_job(colour="blue"), 422, "invalid-input", "unknown field",
                            {"pubs.0.colour": "unknown field; this object takes circuit, "
                                              "parameter_values, shots, observables, precision"}),
    "a required field missing": Bad({"program_id": "sampler", "pubs": []}, 422,
                                    "invalid-input", "backend: is required",
                                    {"backend": "is required"}),
    "the tags as a bare list": Bad(["bell", "demo"], 422, "invalid-input",
                                   r"must be an object with `tags`",
                                   {"_schema": 'must be an object with `tags`, e.g. '
                                               '{"tags": ["bell"]}'},
                                   method="PUT", path="/v1/jobs/{job}/tags"),
    # fields the program has no use for are refused, not ignored
    "shots on an estimator PUB": Bad(estimator_job(observables="ZZ", shots=100), 422,
                                     "invalid-input", r"^pubs\.0\.shots: the estimator takes no "
                                     "shots", {"pubs.0.shots": "set precision"}),
    "precision on a sampler PUB": Bad(sampler_job(precision=0.01), 422, "invalid-input",
                                      r"^pubs\.0\.precision: the sampler takes no precision",
                                      {"pubs.0.precision": "set shots"}),
    "observables on a sampler PUB": Bad(sampler_job(observables="ZZ"), 422, "invalid-input",
                                        "the sampler takes no observables",
                                        {"pubs.0.observables": "no observables"}),
    "no observables on an estimator PUB": Bad(estimator_job(), 422, "invalid-input",
                                              "is required by the estimator",
                                              {"pubs.0.observables": "is required"}),
    # what qiskit refuses, said in our words
    "an observable too wide": Bad(estimator_job(observables="ZZZ"), 422, "invalid-input",
                                  r"^pubs\.0\.observables: the observable acts on 3 qubits and "
                                  "the circuit has 2", {"pubs.0.observables": "acts on 3 qubits"}),
    "a nested observable too wide": Bad(estimator_job(observables=["ZZ", ["XX", "ZZZ"]]), 422,
                                        "invalid-input", "acts on 3 qubits",
                                        {"pubs.0.observables.1.1": "the circuit has 2"}),
    "not a Pauli string": Bad(estimator_job(observables=[{"QQ": 1}]), 422, "invalid-input",
                              "'QQ' is not a Pauli string",
                              {"pubs.0.observables.0": "one letter I, X, Y or Z per qubit"}),
    "a coefficient not a number": Bad(estimator_job(observables={"ZZ": "x"}), 422,
                                      "invalid-input", "the coefficient of 'ZZ' must be a number",
                                      {"pubs.0.observables": "must be a number"}),
    "Pauli strings of two lengths": Bad(estimator_job(observables={"Z": 1, "ZZ": 1}), 422,
                                        "invalid-input", "the same length",
                                        {"pubs.0.observables": "the same length"}),
    "observables and values that do not broadcast": Bad(
        estimator_job(PARAMETRIC, observables=["Z", "X", "Y"],
                      parameter_values={"a": [0.1, 0.2]}), 422, "invalid-input",
        r"the observables \(shape \[3\]\) and the parameter values \(shape \[2\]\) do not "
        "broadcast", {"pubs.0": "do not broadcast"}),
    "a parameter without values": Bad(sampler_job(TWO_PARAMETERS, parameter_values={"a": 1}),
                                      422, "invalid-input", r"no values for parameter\(s\) b$",
                                      {"pubs.0.parameter_values": "no values"}),
    "parameters with values of two shapes": Bad(
        sampler_job(TWO_PARAMETERS, parameter_values={"a": [1, 2], "b": [1, 2, 3]}), 422,
        "invalid-input", r"their shapes are a \[2\], b \[3\]$",
        {"pubs.0.parameter_values": "values of one shape"}),
    "an unknown parameter": Bad(sampler_job(parameter_values={"theta": [1.0]}), 422,
                                "invalid-input", r"unknown parameter\(s\) theta; the circuit has "
                                "no parameters$", {"pubs.0.parameter_values": "unknown"}),
    "an unknown gate": Bad(sampler_job(ON_TWO_LINES + "nope q[0];"), 422, "invalid-input",
                           r"unknown gate 'nope'; the standard gates need include "
                           r'"stdgates\.inc"; \(line 5, column 1\)$',
                           {"pubs.0.circuit": "unknown gate 'nope'"},
                           {"line": 5, "column": 1}),
    "a gate on too few qubits": Bad(sampler_job(ON_TWO_LINES + "cx q[0]; c = measure q;"), 422,
                                    "invalid-input", r"a gate is applied to 1 qubit\(s\) but "
                                    "acts on 2", {"pubs.0.circuit": "acts on 2"}),
    "a gate without its parameter": Bad(sampler_job(ON_TWO_LINES + "rx q[0]; c = measure q;"),
                                        422, "invalid-input", r"a gate is missing 1 "
                                        r"parameter\(s\): theta$", {"pubs.0.circuit": "theta"}),
    "not OpenQASM": Bad(sampler_job("hello"), 422, "invalid-input", "not an OpenQASM program",
                        {"pubs.0.circuit": "must start with 'OPENQASM 2.0;'"}),
    "a missing semicolon": Bad(sampler_job(ON_TWO_LINES + "h q[0]\ncx q[0], q[1];"), 422,
                               "invalid-input", r"syntax error at 'cx' \(line 6, column 1\)$",
                               {"pubs.0.circuit": "syntax error"}, {"line": 6, "column": 1}),
    "a circuit wider than the backend": Bad(
        sampler_job(SIX_QUBITS, backend="fake_manila"), 422, "invalid-input",
        "the circuit has 6 qubits; at most 5 on this backend",
        {"pubs.0.circuit": "at most 5 on this backend"}),
    "an unknown backend": Bad(sampler_job(backend="fake_nowhere"), 422, "invalid-input",
                              "No backend named 'fake_nowhere'", {"backend": "No backend"}),
    # every limit: limit-exceeded, with the limit, the value, the maximum and the setting
    "shots per PUB": Bad(sampler_job(shots=10**8), 422, "limit-exceeded",
                         r"^pubs\.0\.shots: 100000000 shots; at most 100000 \(GATEWAY_MAX_SHOTS\)",
                         {"pubs.0.shots": "at most 100000"},
                         over("shots", 10**8, 100_000, "GATEWAY_MAX_SHOTS")),
    "PUBs per job": Bad({**sampler_job(), "pubs": [{"circuit": BELL_QASM3}] * 101}, 422,
                        "limit-exceeded", r"^pubs: the job has 101 PUBs; at most 100 "
                        r"\(GATEWAY_MAX_PUBS\)$", {"pubs": "101 PUBs"},
                        over("pubs", 101, 100, "GATEWAY_MAX_PUBS")),
    "shots in all": Bad(sampler_job(PARAMETRIC, parameter_values={"a": [0] * 10_000},
                                    shots=1001), 422, "limit-exceeded", "10010000 shots in all",
                        {"pubs": "GATEWAY_MAX_TOTAL_SHOTS"},
                        over("total_shots", 10_010_000, 10**7, "GATEWAY_MAX_TOTAL_SHOTS")),
    "parameter sets": Bad(sampler_job(PARAMETRIC, parameter_values={"a": [0] * 10_001}), 422,
                          "limit-exceeded", "10001 parameter sets",
                          {"pubs.0.parameter_values": "at most 10000"},
                          over("parameter_sets", 10_001, 10_000, "GATEWAY_MAX_PARAMETER_SETS")),
    "broadcast": Bad(estimator_job(PARAMETRIC, parameter_values={"a": [[[0]]] * 1000},
                                   observables=["Z"] * 1001), 422, "limit-exceeded",
                     "broadcast to 1001000 results", {"pubs.0": "GATEWAY_MAX_BROADCAST"},
                     over("broadcast", 1_001_000, 10**6, "GATEWAY_MAX_BROADCAST")),
    "qubits": Bad(sampler_job(f"{HEADER} qubit[161] q; bit[1] c; {MEASURE_ONE}"), 422,
                  "limit-exceeded", "declares 161 qubits", {"pubs.0.circuit": "at most 160"},
                  over("qubits", 161, 160, "GATEWAY_MAX_QUBITS")),
    "classical bits": Bad(sampler_job(f"{HEADER} qubit[1] q; bit[1025] c; {MEASURE_ONE}"), 422,
                          "limit-exceeded", "1025 classical bits",
                          {"pubs.0.circuit": "at most 1024"},
                          over("clbits", 1025, 1024, "GATEWAY_MAX_CLBITS")),
    "operations": Bad(sampler_job(f"{HEADER} qubit[1] q; bit[1] c; for int i in [0:999999] "
                                  f"{{ x q[0]; }} {MEASURE_ONE}"), 422, "limit-exceeded",
                      "about 1000001 operations", {"pubs.0.circuit": "at most 1000000"},
                      over("operations", 1_000_001, 10**6, "GATEWAY_MAX_OPERATIONS")),
    "gate depth": Bad(sampler_job(nested_gates(11)), 422, "limit-exceeded",
                      "gate 'g10' is defined 11 levels deep", {"pubs.0.circuit": "at most 10"},
                      over("gate_depth", 11, 10, "GATEWAY_MAX_GATE_DEPTH")),
    "program nesting": Bad(sampler_job(f"{HEADER} qubit[1] q; bit[1] c; {'{' * 33}{'}' * 33}"),
                           422, "limit-exceeded", "brackets nested 33 deep",
                           {"pubs.0.circuit": "at most 32"},
                           over("program_nesting", 33, 32, "GATEWAY_MAX_PROGRAM_NESTING")),
    "circuit characters": Bad(sampler_job("OPENQASM 3.0;" + " " * 10**6), 422,
                              "limit-exceeded", "the circuit has 1000013 characters",
                              {"pubs.0.circuit": "at most 1000000"},
                              over("circuit_chars", 1_000_013, 10**6,
                                   "GATEWAY_MAX_CIRCUIT_CHARS")),
    "simulation memory": Bad(sampler_job(WIDE), 422, "limit-exceeded",
                             r"needs 4294967296 bytes \(4 GiB\); at most 2147483648 bytes "
                             r"\(2 GiB, GATEWAY_WORKER_MEMORY_BYTES\)$",
                             {"pubs.0.circuit": "state vector"},
                             over("simulation_memory_bytes", 2**32, 2**31,
                                  "GATEWAY_WORKER_MEMORY_BYTES")),
    "time limit": Bad({**sampler_job(), "options": {"max_execution_time": 61}}, 422,
                      "limit-exceeded", "max_execution_time is 61 s; at most 60 s",
                      {"options.max_execution_time": "at most 60 s"},
                      over("max_execution_time", 61, 60, "GATEWAY_JOB_TIME_LIMIT_SECONDS")),
    "JSON depth": Bad(b"[" * 40 + b"]" * 40, 422, "limit-exceeded",
                      "nested 40 levels deep; at most 32",
                      members=over("json_depth", 40, 32, "GATEWAY_MAX_JSON_DEPTH")),
    "body size": Bad(HUGE, 413, "limit-exceeded", f"the body has {len(HUGE)} bytes; at most "
                     f"{5 * 2**20} bytes", members=over("body_bytes", len(HUGE), 5 * 2**20,
                                                        "GATEWAY_MAX_BODY_BYTES")),
    # reading a job
    "the result of an unfinished job": Bad(
        None, 409, "job-not-finished", r"^The job is (QUEUED|RUNNING): it has no result yet\. "
        r"Ask again with \?wait=<seconds> .* or follow GET /v1/jobs/\w+/events\.$",
        method="GET", path="/v1/jobs/{job}/result"),
    "an unknown job id": Bad(None, 404, "job-not-found", f"^No job '{'0' * 32}' here",
                             method="GET", path=f"/v1/jobs/{'0' * 32}/result"),
}
PYTHON_WORDS = re.compile(r"\['|\{'|\bNone\b|\(\)-th|__init__|Gate\b|QiskitError")


@pytest.fixture(scope="module")
def running_job(app: Flask, keys: KeyStore) -> Iterator[tuple[FlaskClient, str]]:
    """A job of a tenant's own that will not finish while the table is read (cancelled after)."""
    http = new_app_client(app, keys)
    job = submit(http, sampler_job(slow_circuit(20, 50), shots=10))
    yield http, job["id"]
    http.post(f"/v1/jobs/{job['id']}/cancel")


@pytest.mark.parametrize("name", BAD_INPUTS)
def test_bad_input_answers_its_problem(running_job: tuple[FlaskClient, str], name: str) -> None:
    bad = BAD_INPUTS[name]
    http, job_id = running_job
    path = bad.path.format(job=job_id)
    if isinstance(bad.body, bytes):
        answer = http.open(path, method=bad.method, data=bad.body,
                           headers={"Content-Type": "application/json"})
    else:
        answer = http.open(path, method=bad.method, json=bad.body)
    body = problem(answer, bad.status, bad.kind)
    assert answer.text == json.dumps(body, separators=(",", ":"), sort_keys=True)  # compact
    assert body["title"] == TITLES[bad.kind]  # one title per type
    assert re.search(bad.detail, body["detail"]), body["detail"]
    assert set(body.get("errors", {})) == set(bad.errors), body
    for path_, words in bad.errors.items():
        assert words in " ".join(body["errors"][path_]), body["errors"]
    for member, value in bad.members.items():
        assert body[member] == value, (member, body)
    if bad.kind == "limit-exceeded":
        assert {"limit", "value", "maximum", "setting"} <= set(body)
        assert body["setting"] in body["detail"] and str(body["maximum"]) in body["detail"]
        assert body["value"] is None or str(body["value"]) in body["detail"]
    said = body["detail"] + json.dumps(body.get("errors", {}))
    assert not PYTHON_WORDS.search(said), said


def test_every_problem_type_has_its_one_title() -> None:
    used = {kind for _, kind in PROBLEMS.values()} | set(HTTP_KINDS.values()) | {"http-error"}
    assert used <= set(TITLES), used - set(TITLES)


def test_malformed_json_is_400(client: httpx.Client) -> None:
    response = client.post("/v1/jobs", content=b'{"program_id": ',
                           headers={"Content-Type": "application/json"})
    problem(response, 400, "bad-request")


def test_a_body_that_is_not_json_is_415(app_client: FlaskClient) -> None:
    response = app_client.post("/v1/jobs", data=b"program_id=sampler",
                               headers={"Content-Type": "application/x-www-form-urlencoded"})
    problem(response, 415, "unsupported-media-type")


def test_a_huge_body_is_413_through_the_server(client: httpx.Client) -> None:
    body = problem(client.post("/v1/jobs", content=HUGE,
                               headers={"Content-Type": "application/json"}), 413,
                   "limit-exceeded")
    assert (body["value"], body["setting"]) == (len(HUGE), "GATEWAY_MAX_BODY_BYTES")


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
