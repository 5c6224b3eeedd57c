"""Hostile or careless input, one scenario per kind: each is answered 4xx within a few seconds,
and meanwhile another tenant's reads keep their latency (a reader runs beside every scenario)."""

from __future__ import annotations

import json
import multiprocessing
import socket
import statistics
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from contextlib import AbstractContextManager, contextmanager
from unittest import mock
from urllib.parse import urlsplit

import httpx
import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from app.services.jobs import INLINE_CHECK_CHARS, SCREEN_BYTES
from core.store.api_keys import KeyStore
from tests.conftest import BELL_QASM3, new_tenant, result_of, sampler_job, slow_circuit, submit

ANSWER_SECONDS = 8.0  # each hostile submission is answered within this (4 at once, loaded box)
READ_BOUND_SECONDS = 2.0  # a read slower than this: an API process was held (before: minutes)
HEADER = 'OPENQASM 3.0; include "stdgates.inc"; '


def nested_gates(depth: int) -> str:
    lines = [HEADER, "gate g0 a { h a; }"]
    lines += [f"gate g{i} a {{ g{i - 1} a; g{i - 1} a; }}" for i in range(1, depth + 1)]
    return "\n".join([*lines, "qubit[1] q; bit[1] c;", f"g{depth} q[0];", "c = measure q;"])


def estimator(circuit: str, **pub: object) -> dict:
    return {"program_id": "estimator", "backend": "aer_simulator",
            "pubs": [{"circuit": circuit, **pub}]}


ONE_PARAMETER = HEADER + "input float a; qubit[1] q; bit[1] c; rx(a) q[0]; c[0] = measure q[0];"
WIDE = (HEADER + "qubit[28] q; bit[28] c; " + "".join(f"rx(0.3) q[{i}];" for i in range(28))
        + "c = measure q;")

# kind -> (body, status, problem type, words in the answer)
PROGRAMS = {
    "header regex backtracking": (sampler_job("/**/" * 40 + "x"), 422, "invalid-input",
                                  "not an OpenQASM program"),
    "gate definitions 13 deep": (sampler_job(nested_gates(13)), 422, "limit-exceeded",
                                 "GATEWAY_MAX_GATE_DEPTH"),
    "bit[1000000]": (sampler_job(HEADER + "qubit[1] q; bit[1000000] c; c[0] = measure q[0];"),
                     422, "limit-exceeded", "GATEWAY_MAX_CLBITS"),
    "qubit[1000000]": (sampler_job(HEADER + "qubit[1000000] q; bit[1] c; c[0] = measure q[0];"),
                       422, "limit-exceeded", "GATEWAY_MAX_QUBITS"),
    "for loop of 2^31": (sampler_job(HEADER + "qubit[1] q; bit[1] c; for int i in "
                                     "[0:2147483647] { x q[0]; } c[0] = measure q[0];"),
                         422, "limit-exceeded", "GATEWAY_MAX_OPERATIONS"),
    "while loop": (sampler_job(HEADER + "qubit[1] q; bit[1] c; while (true) { x q[0]; } "
                               "c[0] = measure q[0];"), 422, "invalid-input", "'while'"),
    "10,000 x 2,000 broadcast": (
        estimator(ONE_PARAMETER, parameter_values={"a": [[[0.1 * i]] for i in range(10_000)]},
                  observables=["Z"] * 2_000), 422, "limit-exceeded", "GATEWAY_MAX_BROADCAST"),
    "2 x 10,000 x 100,000 shots": (
        {"program_id": "sampler", "backend": "aer_simulator",
         "pubs": [{"circuit": ONE_PARAMETER, "shots": 100_000,
                   "parameter_values": {"a": [0.1 * i for i in range(10_000)]}}] * 2},
        422, "limit-exceeded", "GATEWAY_MAX_TOTAL_SHOTS"),
    "28 qubits state vector": (sampler_job(WIDE), 422, "limit-exceeded",
                               "GATEWAY_WORKER_MEMORY_BYTES"),
    "deep observables": (estimator(BELL_QASM3, observables=json.loads("[" * 40 + '"ZZ"'
                                                                     + "]" * 40)),
                         422, "limit-exceeded", "GATEWAY_MAX_JSON_DEPTH"),
}
RAW_BODIES = {
    "deep JSON": ("[" * 100_000 + "]" * 100_000, 422, "limit-exceeded",
                  "GATEWAY_MAX_JSON_DEPTH"),
    "NaN": ('{"program_id": "sampler", "backend": "aer_simulator", "pubs": [{"circuit": '
            + json.dumps(ONE_PARAMETER) + ', "parameter_values": {"a": [NaN]}}]}',
            400, "bad-request", "NaN"),
    "Infinity": ('{"program_id": "sampler", "backend": "aer_simulator", "pubs": [{"circuit": '
                 + json.dumps(BELL_QASM3) + '}], "tags": [Infinity]}', 400, "bad-request",
                 "Infinity"),
    "1e400": ('{"program_id": "estimator", "backend": "aer_simulator", "pubs": [{"circuit": '
              + json.dumps(BELL_QASM3) + ', "observables": "ZZ", "precision": 1e400}]}',
              400, "bad-request", "too large"),
    "lone surrogate in a tag": (json.dumps(sampler_job())[:-1] + ', "tags": ["\\ud800"]}',
                                400, "bad-request", "surrogate"),
    "lone surrogate in session_id": (json.dumps(sampler_job())[:-1]
                                     + ', "session_id": "a\\udfff"}', 400, "bad-request",
                                     "surrogate"),
}


@contextmanager
def reader(http: httpx.Client, job_id: str) -> Iterator[list[float]]:
    """Another tenant reading its job over and over; yields the latencies seen meanwhile."""
    latencies: list[float] = []
    stop = threading.Event()

    def read() -> None:
        while not stop.is_set():
            started = time.monotonic()
            assert http.get(f"/v1/jobs/{job_id}").status_code == 200
            latencies.append(time.monotonic() - started)

    thread = threading.Thread(target=read, daemon=True)
    thread.start()
    try:
        yield latencies
    finally:
        stop.set()
        thread.join(10)


@pytest.fixture(scope="module", autouse=True)
def warm(server: str, keys: KeyStore) -> None:
    """What every API process loads on its first submission (the backend catalog, the parse
    processes), loaded before anything is timed: connections at once reach both processes."""
    with new_tenant(keys, server) as http:
        hostile(lambda: http.post("/v1/jobs", json=sampler_job("OPENQASM 3.0;")), copies=8)


@pytest.fixture
def bystander(
        other_client: httpx.Client) -> Iterator[Callable[[], AbstractContextManager[list[float]]]]:
    job = submit(other_client, sampler_job())
    result_of(other_client, job["id"])
    yield lambda: reader(other_client, job["id"])


def hostile(send: Callable[[], httpx.Response], copies: int = 4) -> list[tuple[httpx.Response,
                                                                              float]]:
    """`copies` at once, on their own connections (so both API processes get some)."""
    def timed() -> tuple[httpx.Response, float]:
        started = time.monotonic()
        return send(), time.monotonic() - started

    with ThreadPoolExecutor(copies) as pool:
        return list(pool.map(lambda _: timed(), range(copies)))


def assert_problem(answer: httpx.Response | TestResponse, status: int, kind: str,
                   words: str) -> None:
    assert answer.status_code == status, answer.text[:500]
    assert answer.headers["content-type"] == "application/problem+json"
    assert json.loads(answer.text)["type"].endswith("/" + kind), answer.text[:500]
    assert words in answer.text, answer.text[:500]


def assert_served(latencies: list[float]) -> None:
    assert latencies, "the other tenant's reads never returned"
    assert max(latencies) < READ_BOUND_SECONDS, (max(latencies), statistics.median(latencies))


@pytest.mark.parametrize("kind", PROGRAMS)
def test_a_hostile_submission_is_refused_fast_and_others_are_served(
        client: httpx.Client, server: str, bystander: Callable, kind: str) -> None:
    body, status, problem_type, words = PROGRAMS[kind]
    with bystander() as latencies:
        answers = hostile(lambda: httpx.post(f"{server}/v1/jobs", json=body,
                                             headers=client.headers, timeout=30))
    for answer, seconds in answers:
        assert_problem(answer, status, problem_type, words)
        assert seconds < ANSWER_SECONDS, (kind, seconds)
    assert_served(latencies)


# refused by the program's shape alone (the others need its parse, or are not about the program)
SHORT = ["header regex backtracking", "gate definitions 13 deep", "bit[1000000]",
         "qubit[1000000]", "for loop of 2^31", "while loop"]


@pytest.mark.parametrize("kind", SHORT)
def test_a_short_hostile_program_is_refused_without_a_parse_process(
        app: Flask, app_client: FlaskClient, kind: str) -> None:
    body, status, problem_type, words = PROGRAMS[kind]
    assert len(body["pubs"][0]["circuit"]) <= INLINE_CHECK_CHARS
    parsers = app.extensions["gateway"].parsers
    with mock.patch.object(parsers, "run", side_effect=AssertionError("a parse process ran")):
        assert_problem(app_client.post("/v1/jobs", json=body), status, problem_type, words)


@pytest.mark.parametrize("kind", RAW_BODIES)
def test_malformed_json_is_400_problem(client: httpx.Client, bystander: Callable,
                                       kind: str) -> None:
    text, status, problem_type, words = RAW_BODIES[kind]
    with bystander() as latencies:
        answers = hostile(lambda: client.post("/v1/jobs", content=text.encode(), headers={
            "Content-Type": "application/json"}), copies=2)
    for answer, seconds in answers:
        assert_problem(answer, status, problem_type, words)
        assert seconds < ANSWER_SECONDS
    assert_served(latencies)


def test_a_lone_surrogate_in_new_tags_is_400(client: httpx.Client) -> None:
    job = submit(client, sampler_job())
    answer = client.put(f"/v1/jobs/{job['id']}/tags", content=b'{"tags": ["\\ud83d"]}',
                        headers={"Content-Type": "application/json"})
    assert_problem(answer, 400, "bad-request", "surrogate")


def raw_request(server: str, head: str) -> tuple[int, dict, bytes]:
    """Send a request as bytes (httpx would refuse some of these itself); status, headers, body."""
    address = urlsplit(server)
    with socket.create_connection((address.hostname, address.port), timeout=10) as sock:
        sock.sendall(head.encode("latin-1"))
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    top, _, body = data.partition(b"\r\n\r\n")
    lines = top.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines[1:])
    return int(lines[0].split()[1]), headers, body


@pytest.mark.parametrize(("head", "status"), [
    ("GET /v1/jobs?x=" + "a" * 10_000 + " HTTP/1.1\r\nHost: x\r\n\r\n", 414),
    ("GET /v1/jobs HTTP/1.1\r\nHost: x\r\nX-Big: " + "b" * 10_000 + "\r\n\r\n", 431),
    ("GET /v1/jobs HTTP/1.1\r\nHost: x\r\n" + "".join(f"X-H{i}: v\r\n" for i in range(150))
     + "\r\n", 431),
    ("GET /v1/jobs HTTP/1.1\r\nHost: x\r\nBad Header: v\r\n\r\n", 400),
])
def test_gunicorns_own_refusals_are_problem_json(server: str, head: str, status: int) -> None:
    answered, headers, body = raw_request(server, head)
    assert answered == status, body[:300]
    assert headers["Content-Type"] == "application/problem+json"
    problem = json.loads(body)
    assert problem["status"] == status and problem["type"].startswith("https://")


def test_a_job_may_ask_for_a_shorter_time_limit(client: httpx.Client) -> None:
    too_long = client.post("/v1/jobs", json={**sampler_job(), "options": {
        "max_execution_time": 10_000}})
    assert_problem(too_long, 422, "limit-exceeded", "GATEWAY_JOB_TIME_LIMIT_SECONDS")
    job = submit(client, {**sampler_job(slow_circuit(20, 50), shots=10),
                          "options": {"max_execution_time": 1}})
    final = client.get(f"/v1/jobs/{job['id']}/wait", params={"timeout": 30}).json()
    assert final["status"] == "ERROR" and "time limit of 1 s" in final["error_message"]
    assert result_of(client, submit(client, sampler_job())["id"])["pub_results"]


def test_a_backend_reports_the_limits_that_apply(client: httpx.Client) -> None:
    ideal = client.get("/v1/backends/aer_simulator").json()["limits"]
    assert ideal["max_statevector_qubits"] == 27  # 2 GiB per worker in the tests
    assert ideal["worker_memory_bytes"] == 2 * 2**30 and ideal["max_operations"] > 0
    assert client.get("/v1/backends/fake_manila").json()["limits"]["max_qubits"] == 5


def qft(qubits: int) -> str:
    lines = [HEADER, f"qubit[{qubits}] q; bit[{qubits}] c;", "x q[0];"]
    for j in range(qubits):
        lines.append(f"h q[{j}];")
        lines += [f"cp(pi/{2 ** (k - j)}) q[{k}], q[{j}];" for k in range(j + 1, qubits)]
    lines += [f"swap q[{j}], q[{qubits - 1 - j}];" for j in range(qubits // 2)]
    return "\n".join([*lines, "c = measure q;"])


def ghz(qubits: int) -> str:
    return (HEADER + f"qubit[{qubits}] q; bit[{qubits}] c; h q[0]; "
            + "".join(f"cx q[{i}], q[{i + 1}];" for i in range(qubits - 1)) + "c = measure q;")


def sweep_of(sets: int, **fields: object) -> dict:
    """A sampler job over `sets` parameter sets (8,000 make a body over SCREEN_BYTES)."""
    pub = {"circuit": ONE_PARAMETER, "shots": 10,
           "parameter_values": {"a": [i / sets for i in range(sets)]}}
    return {"program_id": "sampler", "backend": "aer_simulator", "pubs": [pub], **fields}


def over_max_shots(body: dict) -> dict:
    return {**body, "pubs": [{**body["pubs"][0], "shots": 10**9}]}


# a fault -> the body with it (bytes); a big body is screened in a parse process before the API
# process decodes it, and must be answered exactly as a small one
FAULTS: dict[str, Callable[[dict], bytes]] = {
    "NaN": lambda body: json.dumps(body).replace('"shots": 10', '"shots": NaN').encode(),
    "not UTF-8": lambda body: json.dumps(body).encode().replace(b"sampler", b"s\xffmpler"),
    "unknown field": lambda body: json.dumps({**body, "colour": "red"}).encode(),
    "shots over GATEWAY_MAX_SHOTS": lambda body: json.dumps(over_max_shots(body)).encode(),
}


@pytest.mark.parametrize("fault", FAULTS)
def test_a_big_body_is_answered_as_a_small_one(client: httpx.Client, fault: str) -> None:
    answers = []
    for sets in (10, 8_000):
        body = FAULTS[fault](sweep_of(sets))
        assert (len(body) > SCREEN_BYTES) == (sets > 10)
        answer = client.post("/v1/jobs", content=body,
                             headers={"Content-Type": "application/json"})
        assert 400 <= answer.status_code < 500, answer.text[:300]
        answers.append({k: v for k, v in answer.json().items() if k != "request_id"})
    assert answers[0] == answers[1]


def test_a_big_body_within_the_limits_runs(client: httpx.Client) -> None:
    body = sweep_of(8_000)
    assert len(json.dumps(body)) > SCREEN_BYTES
    job = submit(client, body)
    assert result_of(client, job["id"])["pub_results"][0]["data"]["c"]["num_shots"] == 10
    refused = client.post("/v1/jobs", json=sweep_of(8_000, tags=["x"] * 33))
    assert_problem(refused, 422, "invalid-input", "tags")


SWEEP = (HEADER + "input float a; qubit[5] q; bit[5] c; "
         + "".join(f"rx(a) q[{i}];" for i in range(5))
         + "".join(f"cx q[{i}], q[{i + 1}];" for i in range(4)) + "c = measure q;")
LEGITIMATE = {
    "20-qubit QFT": sampler_job(qft(20), shots=100),
    "Bell pair on a 127-qubit device": sampler_job(backend="fake_sherbrooke", shots=100),
    "5-qubit noisy sweep of 1,000 parameter sets": sampler_job(
        SWEEP, backend="fake_manila", shots=16,
        parameter_values={"a": [i / 1000 for i in range(1000)]}),
    "50-qubit Clifford circuit": sampler_job(ghz(50), shots=100),
    "estimator with 100 observables": estimator(
        ghz(5), observables=["".join("IXYZ"[(i >> (2 * b)) % 4] for b in range(5))
                             for i in range(1, 101)]),
}


def test_what_real_users_send_runs(client: httpx.Client) -> None:
    jobs = {kind: submit(client, body) for kind, body in LEGITIMATE.items()}
    for kind, job in jobs.items():
        final = client.get(f"/v1/jobs/{job['id']}/wait", params={"timeout": 60}).json()
        assert final["status"] == "DONE", (kind, final.get("error_message"))
    clifford = result_of(client, jobs["50-qubit Clifford circuit"]["id"])["pub_results"][0]
    [counts] = clifford["data"]["c"]["counts"]
    assert set(counts) <= {"0" * 50, "1" * 50}
    sweep = result_of(client, jobs["5-qubit noisy sweep of 1,000 parameter sets"]["id"])
    register = sweep["pub_results"][0]["data"]["c"]
    assert register["num_shots"] == 16 and len(register["counts"]) == 1000


@pytest.mark.parametrize("aer_told", [True, False], ids=["aer-refuses", "allocation-fails"])
def test_a_simulation_out_of_memory_fails_its_job_and_the_executor_goes_on(
        aer_told: bool) -> None:
    """The executor under a 256 MiB limit: a 26-qubit state vector (1 GiB) ends in an error
    saying so, with the numbers, whether Aer is told the limit or meets it allocating. Run in
    a process of its own, as a worker is: this one may have run Aer in an earlier test (the
    official client's preparation does), and OpenMP's threads do not survive the executor's
    fork (a parallel simulation would wait on them for ever)."""
    spawn = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(1, mp_context=spawn) as pool:
        last = pool.submit(out_of_memory_then_bell, aer_told).result(timeout=300)
    (kind, error), (then, _) = last
    assert (kind, then) == ("error", "result"), last
    error = error["message"]
    assert error.startswith("out of memory") and "0.25 GiB" in error
    assert "GATEWAY_WORKER_MEMORY_BYTES" in error


def out_of_memory_then_bell(aer_told: bool) -> list:
    """What an executor under 256 MiB says last of a 26-qubit job, then of a Bell job."""
    from workers.executor import Executor, Outcome
    from workers.runtimes.local import LocalRuntime

    limit = 256 * 2**20
    executor = Executor(LocalRuntime(limit if aer_told else None), memory_bytes=limit)
    last = []
    try:
        for circuit in (slow_circuit(26, 1), BELL_QASM3):  # too big, then a small one
            job = {"id": "oom", "program_id": "sampler", "backend": "aer_simulator"}
            executor.submit(job, {"pubs": [{"circuit": circuit, "shots": 10}]}, 60)
            said: list = []
            outcome, _ = executor.follow(said.extend, lambda: True)
            assert outcome == Outcome.FINISHED
            last.append(said[-1])
    finally:
        executor.stop()
    return last
