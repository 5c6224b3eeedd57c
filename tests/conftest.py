"""Real parts for every test: a private Redis, RQ workers and the API under gunicorn (gevent),
started once per session on free ports; tests talk HTTP to it like any client.

Tests that need no worker and no real HTTP server (schemas, auth, bad input, problem+json, ops)
use `app_client` instead: the factory's app in the test process, with Flask's test client, on
the same settings and the same real Redis. The server starts only when a test asks for it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from unittest import mock

import httpx
import pytest
from flask import Flask
from flask.testing import FlaskClient

from app import create_app
from core.config import Config
from core.store.api_keys import KeyStore
from core.store.connection import Connection
from scripts.local_http import start_api
from scripts.local_redis import free_port as free_port  # tests import it from here
from scripts.local_redis import start_redis

ROOT = Path(__file__).resolve().parent.parent
BELL_QASM3 = ('OPENQASM 3.0; include "stdgates.inc"; qubit[2] q; bit[2] c; '
              "h q[0]; cx q[0], q[1]; c = measure q;")
BELL_QASM2 = ('OPENQASM 2.0; include "qelib1.inc"; qreg q[2]; creg c[2]; '
              "h q[0]; cx q[0], q[1]; measure q -> c;")
CORS_ORIGIN = "http://dashboard.test"  # a browser app allowed to call the API
WORKER_MEMORY_BYTES = 2 * 2**30  # what one simulation may use in the tests (26 qubits fit)
MAX_RESULT_SAMPLES = 1000  # low, so that going over it costs a test little
WEBHOOK_SECRET_KEY = "the-tests-key-that-seals-webhook-secrets"


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
            "GATEWAY_WORKER_MEMORY_BYTES": str(WORKER_MEMORY_BYTES),
            # a tenant may use both workers, and every test comes from one address with keys
            # that fire fast: tests of the limits set them per tenant (test_tenants), or run a
            # server of their own (test_auth)
            "GATEWAY_TENANT_MAX_RUNNING": "2", "GATEWAY_KEY_REQUESTS_PER_SECOND": "100000",
            "GATEWAY_AUTH_FAILURES_PER_MINUTE": "100000",
            "GATEWAY_MAX_RESULT_SAMPLES": str(MAX_RESULT_SAMPLES),
            # webhooks to the tests' receivers on 127.0.0.1, over plain HTTP, retried and timed
            # out in seconds (tests/test_webhook_delivery.py)
            "GATEWAY_WEBHOOK_SECRET_KEY": WEBHOOK_SECRET_KEY,
            "GATEWAY_WEBHOOK_ALLOW_NETWORKS": "127.0.0.0/8", "GATEWAY_WEBHOOK_ALLOW_HTTP": "1",
            "GATEWAY_WEBHOOK_RETRY_SCHEDULE": "0.2,0.3,0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5",
            "GATEWAY_WEBHOOK_TIMEOUT_SECONDS": "1",
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
def api_server(env: dict[str, str], workers: list[subprocess.Popen]
               ) -> Iterator[tuple[str, subprocess.Popen]]:
    """The API under gunicorn with two gevent processes: (base URL, master) once it is ready."""
    base, process = start_api(env, processes=2)
    yield base, process
    stop(process)


@pytest.fixture(scope="session")
def server(api_server: tuple[str, subprocess.Popen]) -> str:
    """The base URL of the session's API server."""
    return api_server[0]


class TestConfig(Config):
    """The settings the session's server runs with (`env`), read in the test process."""

    __test__ = False  # not a test class, whatever its name

    def __init__(self, env: dict[str, str]) -> None:
        with mock.patch.dict(os.environ, env, clear=True):
            super().__init__()


@pytest.fixture(scope="session")
def app(env: dict[str, str]) -> Flask:
    """The factory's app in the test process, on the session's settings and Redis."""
    built = create_app(TestConfig(env))
    built.config["TESTING"] = True
    return built


def new_app_client(app: Flask, keys: KeyStore) -> FlaskClient:
    """Flask's test client, authenticated as a fresh tenant."""
    _, key = keys.create(f"t-{uuid.uuid4().hex[:12]}")
    http = app.test_client()
    http.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {key}"
    return http


@pytest.fixture
def app_client(app: Flask, keys: KeyStore) -> FlaskClient:
    return new_app_client(app, keys)


@pytest.fixture
def other_app_client(app: Flask, keys: KeyStore) -> FlaskClient:
    return new_app_client(app, keys)


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


def submit(http: httpx.Client | FlaskClient, body: dict, **kwargs: object) -> dict:
    """Submit a job (through the real server or Flask's test client); the job as answered."""
    response = http.post("/v1/jobs", json=body, **kwargs)  # type: ignore[arg-type]
    assert response.status_code == 202, response.text
    return json.loads(response.text)


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


@pytest.fixture
def ibm_service(keys: KeyStore, server: str, monkeypatch: pytest.MonkeyPatch
                ) -> Iterator[object]:
    """The official qiskit-ibm-runtime client, as a fresh tenant, on the gateway's /ibm facade
    (every route it calls recorded: tests/test_facade_routes.py)."""
    from tests.facade_helpers import connect, environment, recording

    for name, value in environment(server).items():
        monkeypatch.setenv(name, value)
    _, key = keys.create(f"t-{uuid.uuid4().hex[:12]}")
    with recording(server):
        service = connect(server, key)
        service._facade_key = key  # type: ignore[attr-defined]  # for the tenant's /v1 client
        yield service


@pytest.fixture
def client_of_service(ibm_service: object, server: str) -> Iterator[httpx.Client]:
    """A /v1 client of the same tenant as `ibm_service`."""
    key = ibm_service._facade_key  # type: ignore[attr-defined]
    with httpx.Client(base_url=server, headers={"Authorization": f"Bearer {key}"},
                      timeout=90) as http:
        yield http
