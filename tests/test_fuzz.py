"""Property-based fuzzing of POST /v1/jobs bodies and OpenQASM text: never a 5xx, never an
answer slower than the bound, and the static checks never raise anything but a refusal."""

from __future__ import annotations

import contextlib
import json
import time
from typing import Any

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.qasm_guard import ProgramLimits, ProgramRefused, check_program
from tests.conftest import sampler_job
from tests.test_hostile import ANSWER_SECONDS

FUZZ = settings(max_examples=80, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow])
TOKENS = ["OPENQASM", "3.0", "2.0", ";", "qubit", "bit", "qreg", "creg", "[", "]", "{", "}",
          "(", ")", "gate", "def", "for", "int", "in", "while", "if", "else", "h", "cx", "x",
          "rx", "q", "c", "a", "measure", "=", "->", "0", "1", "7", "2147483647", "/*", "*/",
          "//", "\n", ":", ",", "$", "pi", "include", '"stdgates.inc"', "ctrl", "@", "inv",
          "pow", "input", "float", "array", "-"]
qasm = (st.lists(st.sampled_from(TOKENS), max_size=80).map(" ".join)
        | st.lists(st.sampled_from(TOKENS), max_size=80).map(lambda t: "OPENQASM 3.0; "
                                                              + " ".join(t))
        | st.text(max_size=300))
scalars = (st.none() | st.booleans() | st.integers(-2**70, 2**70)
           | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=20))
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4)
                      | st.dictionaries(st.text(max_size=6), inner, max_size=4), max_leaves=16)
pubs = st.fixed_dictionaries({"circuit": qasm}, optional={
    "shots": st.integers(-5, 10**7), "parameter_values": values, "observables": values,
    "precision": st.floats(allow_nan=False, allow_infinity=False)})
bodies = st.fixed_dictionaries({
    "program_id": st.sampled_from(["sampler", "estimator", "qaoa"]),
    "backend": st.sampled_from(["aer_simulator", "fake_manila", "nowhere"]),
    "pubs": st.lists(pubs, max_size=3)}, optional={
    "options": values, "tags": values, "session_id": values}) | values


def answered_in_time(http: httpx.Client, **request: Any) -> httpx.Response:
    started = time.monotonic()
    answer = http.post("/v1/jobs", **request)
    assert time.monotonic() - started < ANSWER_SECONDS, request
    assert answer.status_code < 500, (answer.status_code, answer.text[:300])
    if answer.status_code >= 400:
        assert answer.headers["content-type"] == "application/problem+json"
    return answer


@FUZZ
@given(body=bodies)
def test_any_body_gets_an_answer_not_a_500(client: httpx.Client, body: Any) -> None:
    answered_in_time(client, json=body)


@FUZZ
@given(text=qasm)
def test_any_program_gets_an_answer_not_a_500(client: httpx.Client, text: str) -> None:
    answered_in_time(client, json=sampler_job(text))


@FUZZ
@given(raw=st.binary(max_size=200) | st.text(max_size=200).map(
    lambda text: json.dumps({"tags": [text + "\\ud800"]})[:-1].encode()))
def test_any_bytes_get_an_answer_not_a_500(client: httpx.Client, raw: bytes) -> None:
    answered_in_time(client, content=raw, headers={"Content-Type": "application/json"})


@settings(max_examples=1500, deadline=None, derandomize=True)
@given(text=qasm)
def test_the_static_checks_refuse_or_measure_never_crash(text: str) -> None:
    limits = ProgramLimits(32, 160, 1024, 10, 1_000_000)
    started = time.thread_time()
    with contextlib.suppress(ProgramRefused):
        check_program(text, limits)
    assert time.thread_time() - started < 0.1
