"""With the pinned client version, every (method, route) the official client called through
the facade during the tests is one the facade serves: a newer client that starts calling a
route the facade lacks fails here, naming the route. The routes are recorded on the client side
(`tests/facade_helpers.py`), by every facade test in the session and by the scenario below."""

from __future__ import annotations

import warnings

import pytest
import qiskit_ibm_runtime
from flask import Flask
from qiskit import transpile
from qiskit_ibm_runtime import Batch, QiskitRuntimeService, SamplerV2, Session
from qiskit_ibm_runtime.executor_sampler import Sampler as ExecutorSampler
from werkzeug.exceptions import MethodNotAllowed, NotFound

from tests.facade_helpers import CALLED, bell

PINNED = "0.51.0"
# what the whole RuntimeJobV2 surface, Session and Batch called with 0.51
EXPECTED = {
    ("POST", "/ibm/identity/token"), ("GET", "/ibm/api/v1/backends"),
    ("GET", "/ibm/api/v1/backends/{}/configuration"), ("GET", "/ibm/api/v1/backends/{}/status"),
    ("GET", "/ibm/api/v1/instances/usage"), ("POST", "/ibm/api/v1/jobs"),
    ("GET", "/ibm/api/v1/jobs/{}"), ("GET", "/ibm/api/v1/jobs/{}/results"),
    ("GET", "/ibm/api/v1/jobs/{}/logs"), ("GET", "/ibm/api/v1/jobs/{}/metrics"),
    ("PUT", "/ibm/api/v1/jobs/{}/tags"), ("GET", "/ibm/api/v1/jobs"),
    ("DELETE", "/ibm/api/v1/jobs/{}"), ("POST", "/ibm/api/v1/sessions"),
    ("GET", "/ibm/api/v1/sessions/{}"), ("PATCH", "/ibm/api/v1/sessions/{}"),
    ("DELETE", "/ibm/api/v1/sessions/{}/close"),
}


def test_the_client_is_the_pinned_version() -> None:
    assert qiskit_ibm_runtime.__version__ == PINNED, (
        f"qiskit-ibm-runtime is {qiskit_ibm_runtime.__version__}, the facade was checked "
        f"against {PINNED}: run the facade tests, then update PINNED and EXPECTED")


def test_every_route_the_client_calls_is_served(ibm_service: QiskitRuntimeService,
                                                 app: Flask) -> None:
    backend = ibm_service.backend("fake_manila")
    backend.target  # noqa: B018 (reads the properties)
    job = SamplerV2(backend).run([transpile(bell(), backend)], shots=10)
    job.result(), job.logs(), job.metrics(), job.update_tags(["routes"])
    executor = ExecutorSampler(backend).run([transpile(bell(), backend)], shots=10)
    executor.result()
    ibm_service.jobs(limit=2), ibm_service.usage()
    with Session(backend=backend) as session:
        SamplerV2(mode=session).run([transpile(bell(), backend)], shots=10).result()
        session.details()
    Batch(backend=backend).cancel()
    ibm_service.delete_job(job.job_id())
    lacking = lacking_routes(app, CALLED)
    assert not lacking, f"the client calls routes the facade lacks: {lacking}"
    shapes = {(method, _shape(path)) for method, path in CALLED}
    missing = EXPECTED - shapes
    assert not missing, f"the client no longer calls {missing}: update EXPECTED"


def test_the_check_names_a_route_the_facade_lacks(app: Flask) -> None:
    called = {("GET", "/ibm/api/v1/workloads"), ("GET", "/ibm/api/v1/backends"),
              ("POST", "/ibm/api/v1/jobs/x/logs")}
    assert lacking_routes(app, called) == ["GET /ibm/api/v1/workloads",
                                           "POST /ibm/api/v1/jobs/x/logs"]


def lacking_routes(app: Flask, called: set[tuple[str, str]]) -> list[str]:
    """The (method, path) pairs no route of the app serves, as "METHOD path"."""
    routes = app.url_map.bind("localhost")
    lacking = []
    for method, path in sorted(called):
        try:
            routes.match(path, method=method)
        except (NotFound, MethodNotAllowed):
            lacking.append(f"{method} {path}")
    return lacking


def _shape(path: str) -> str:
    """A path with its job id or backend name as `{}`."""
    parts = path.split("/")
    if len(parts) > 5 and parts[4] in ("jobs", "backends", "sessions"):
        parts[5] = "{}"
    return "/".join(parts)


@pytest.fixture(autouse=True)
def _quiet() -> None:
    warnings.filterwarnings("ignore", category=DeprecationWarning)
