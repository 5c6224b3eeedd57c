"""The official client, through the gateway's facade, on an IBM device: the gateway forwards
the job with its own IBM account (IBM Quantum played by `tests/ibm_standin.py`), so the client
never holds IBM's key, and the job is a gateway job of the client's tenant."""

from __future__ import annotations

import uuid
import warnings
from collections.abc import Iterator

import httpx
import pytest
from qiskit import transpile
from qiskit_ibm_runtime import QiskitRuntimeService, SamplerV2, Session
from qiskit_ibm_runtime.executor_sampler import Sampler as ExecutorSampler

from tests.facade_helpers import bell, connect, environment, recording
from tests.ibm_standin import DEVICE, Standin
from tests.test_ibm import TOKEN, Deployment, deployment, standin  # noqa: F401 (fixtures)


@pytest.fixture
def through_gateway(deployment: Deployment, monkeypatch: pytest.MonkeyPatch  # noqa: F811
                    ) -> Iterator[tuple[QiskitRuntimeService, httpx.Client]]:
    """The client of a fresh tenant on the IBM-configured gateway, and its /v1 client."""
    for name, value in environment(deployment.base).items():
        monkeypatch.setenv(name, value)
    _, key = deployment.keys.create(f"t-{uuid.uuid4().hex[:12]}")
    with recording(deployment.base), httpx.Client(
            base_url=deployment.base, headers={"Authorization": f"Bearer {key}"},
            timeout=90) as http:
        yield connect(deployment.base, key), http


def test_an_ibm_device_through_the_gateways_account(
        through_gateway: tuple[QiskitRuntimeService, httpx.Client],
        standin: Standin) -> None:  # noqa: F811
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    service, http = through_gateway
    assert DEVICE in [backend.name for backend in service.backends()]
    device = service.backend(DEVICE)
    assert device.num_qubits == 5 and device.target["cx"]  # IBM's documents, via the gateway
    isa = transpile(bell(), device)
    mark = standin.mark()
    legacy = SamplerV2(device).run([isa], shots=300)
    executor = ExecutorSampler(device).run([isa], shots=200)
    counts = legacy.result()[0].data.meas.get_counts()
    assert sum(counts.values()) == 300 and counts.get("00", 0) + counts.get("11", 0) > 240
    assert sum(executor.result()[0].data.meas.get_counts().values()) == 200
    for job in (legacy, executor):
        seen = http.get(f"/v1/jobs/{job.job_id()}").json()
        assert seen["backend"] == DEVICE and seen["status"] == "DONE"
    created = [c for c in standin.calls_since(mark)
               if (c.method, c.path) == ("POST", "/api/v1/jobs")]
    assert len(created) == 2  # both ran on IBM's side, sent by the gateway's workers
    assert standin.seen_tokens == {TOKEN}  # only the gateway's account ever reached IBM


def test_a_session_on_an_ibm_device_is_one_on_ibm_too(
        through_gateway: tuple[QiskitRuntimeService, httpx.Client],
        standin: Standin) -> None:  # noqa: F811
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    service, http = through_gateway
    device = service.backend(DEVICE)
    with Session(backend=device) as session:
        job = SamplerV2(mode=session).run([transpile(bell(), device)], shots=100)
        assert sum(job.result()[0].data.meas.get_counts().values()) == 100
        assert session.details()["state"] in ("active", "inactive")
    ours = http.get(f"/v1/sessions/{session.session_id}").json()
    assert ours["state"] == "closed" and ours["jobs"]["DONE"] == 1
    upstream = [job for job in standin.jobs.values() if job.session_id]
    assert upstream and upstream[-1].session_id in standin.sessions  # IBM's own session
