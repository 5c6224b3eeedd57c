"""Connecting the official client to the gateway's facade, and recording the routes it calls."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from unittest import mock
from urllib.parse import urlparse

from qiskit import QuantumCircuit
from qiskit_ibm_runtime import QiskitRuntimeService

CRN = "crn:v1:bluemix:public:quantum-computing:us-east:a/gateway:facade-tests::"
CALLED: set[tuple[str, str]] = set()  # (method, path) of every request the client made


def environment(server: str) -> dict[str, str]:
    """What the README's form sets: IAM_URL (read at every token refresh, so it stays set), and
    QISKIT_FUNCTIONS_EXPERIMENTAL, which keeps the client from asking IBM Cloud's global
    search for the instance's CRN."""
    return {"IAM_URL": f"{server}/ibm", "QISKIT_FUNCTIONS_EXPERIMENTAL": "1"}


def connect(server: str, key: str) -> QiskitRuntimeService:
    """The README's form: the runtime URL points at the gateway; any CRN; nothing else.
    `environment(server)` must be set in os.environ."""
    assert os.environ.get("IAM_URL") == environment(server)["IAM_URL"]
    return QiskitRuntimeService(channel="ibm_quantum_platform", token=key, instance=CRN,
                                url=f"{server}/ibm/api/v1", url_resolver=lambda url, *args: url)


def bell() -> QuantumCircuit:
    circuit = QuantumCircuit(2)
    circuit.h(0)
    circuit.cx(0, 1)
    circuit.measure_all()
    return circuit


@contextmanager
def recording(server: str) -> Iterator[set[tuple[str, str]]]:
    """Every request any `requests` session sends to `server`, as (method, path)."""
    import requests

    original = requests.Session.request

    def request(self: requests.Session, method: str, url: str, *args: object,
                **kwargs: object) -> requests.Response:
        if url.startswith(server):
            CALLED.add((method.upper(), urlparse(url).path))
        return original(self, method, url, *args, **kwargs)  # type: ignore[arg-type]

    with mock.patch.object(requests.Session, "request", request):
        yield CALLED
