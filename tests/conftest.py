"""Real parts for every test: a private Redis, RQ workers and the API under gunicorn (gevent),
started once per session on free ports; tests talk HTTP to it like any client."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from core.store.api_keys import KeyStore
from core.store.connection import Connection
from scripts.local_http import wait_for_http
from scripts.local_redis import free_port, start_redis

ROOT = Path(__file__).resolve().parent.parent
BELL_QASM3 = ('OPENQASM 3.0; include "stdgates.inc"; qubit[2] q; bit[2] c; '
              "h q[0]; cx q[0], q[1]; c = measure q;")
BELL_QASM2 = ('OPENQASM 2.0; include "qelib1.inc"; qreg q[2]; creg c[2]; '
              "h q[0]; cx q[0], q[1]; measure q -> c;")
CORS_ORIGIN = "http://dashboard.test"  # a browser app allowed to call the API
MAX_RESULT_SAMPLES = 1000  # low, so that going over it costs a test little


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A throwaway Redis of the test session's own, never one the user runs."""
    process, url = start_redis(tmp_path_factory.mktemp("redis"), persist=False)
    os.environ["TEST_REDIS_URL"] = url  # for tests that look inside Redis
    yield url
    process.terminate()
    process.wait(10)


@pytest.fixture(scope="session")
def env(redis_url: str) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("GATEWAY_", "QISKIT_IBM"))}
    return {**base, "REDIS_URL": redis_url, "GATEWAY_LOG_LEVEL": "WARNING",
            "GATEWAY_WORKER_LEASE_SECONDS": "3", "GATEWAY_JOB_TIME_LIMIT_SECONDS": "60",
            "GATEWAY_SSE_HEARTBEAT_SECONDS": "1", "GATEWAY_CORS_ORIGINS": CORS_ORIGIN,
            "GATEWAY_MAX_RESULT_SAMPLES": str(MAX_RESULT_SAMPLES),
            "PYTHONPATH": str(ROOT)}


def start_worker(env: dict[str, str], **overrides: str) -> subprocess.Popen:
    """`python -m workers` in a process group of its own (with RQ's scheduler and the executor),
    so that a test can kill it the way a host dies: all of it at once."""
    return subprocess.Popen([sys.executable, "-m", "workers"], cwd=ROOT, env={**env, **overrides},
                            start_new_session=True)


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="session")
def workers(env: dict[str, str]) -> Iterator[list[subprocess.Popen]]:
    """Two RQ workers for the session (one may be busy while another test needs one)."""
    started = [start_worker(env), start_worker(env)]
    yield started
    for process in started:
        stop(process)


@pytest.fixture(scope="session")
def server(env: dict[str, str], workers: list[subprocess.Popen]) -> Iterator[str]:
    """The API under gunicorn with two gevent processes; its base URL once it is ready."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", str(ROOT / "gunicorn.conf.py"),
         "app:create_app()"],
        cwd=ROOT, env={**env, "PORT": str(port), "GATEWAY_WEB_PROCESSES": "2"})
    base = f"http://127.0.0.1:{port}"
    wait_for_http(f"{base}/readyz", process)
    yield base
    stop(process)


@pytest.fixture(scope="session")
def keys(redis_url: str) -> KeyStore:
    return KeyStore(Connection.open(redis_url))


def new_tenant(keys: KeyStore, server: str) -> httpx.Client:
    """A client authenticated as a fresh tenant (so tests do not see each other's jobs)."""
    _, key = keys.create(f"t-{uuid.uuid4().hex[:12]}")
    return httpx.Client(base_url=server, headers={"Authorization": f"Bearer {key}"}, timeout=90)


@pytest.fixture
def client(keys: KeyStore, server: str) -> Iterator[httpx.Client]:
    with new_tenant(keys, server) as http:
        yield http


@pytest.fixture
def other_client(keys: KeyStore, server: str) -> Iterator[httpx.Client]:
    with new_tenant(keys, server) as http:
        yield http


def sampler_job(circuit: str = BELL_QASM3, backend: str = "aer_simulator", **pub: object) -> dict:
    return {"program_id": "sampler", "backend": backend, "pubs": [{"circuit": circuit, **pub}]}


def submit(http: httpx.Client, body: dict, **kwargs: object) -> dict:
    response = http.post("/v1/jobs", json=body, **kwargs)  # type: ignore[arg-type]
    assert response.status_code == 202, response.text
    return response.json()


def result_of(http: httpx.Client, job_id: str, wait: float = 30) -> dict:
    response = http.get(f"/v1/jobs/{job_id}/result", params={"wait": wait})
    assert response.status_code == 200, response.text
    return response.json()


def slow_circuit(qubits: int = 20, layers: int = 50) -> str:
    """A non-Clifford circuit Aer must simulate as a state vector: ~3 s at 20 qubits, 50 layers,
    ~15 s at 22 qubits (on this project's 2-core machines)."""
    lines = ['OPENQASM 3.0; include "stdgates.inc";', f"qubit[{qubits}] q; bit[{qubits}] c;"]
    for layer in range(layers):
        lines += [f"rx({0.1 + 0.01 * i + 0.001 * layer:.4f}) q[{i}];" for i in range(qubits)]
        lines += [f"cx q[{i}], q[{i + 1}];" for i in range(qubits - 1)]
    return "\n".join([*lines, "c = measure q;"])
