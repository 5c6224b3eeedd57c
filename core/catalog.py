"""The backends jobs can run on: the ideal simulator and the noisy fake IBM devices.

The local catalog is read from the configuration files that ship with qiskit-ibm-runtime, once per
process (it depends only on the installed packages, so every process computes the same one).
"""

from __future__ import annotations

import warnings
from functools import cache
from typing import Any

from core.errors import BackendNotFound
from core.jsonable import plain

IDEAL = "aer_simulator"
IDEAL_BASIS = ["cx", "id", "rz", "sx", "x", "h", "measure", "reset", "delay"]


@cache
def _fake_backends() -> dict[str, Any]:
    from qiskit_ibm_runtime.fake_provider import FakeProviderForBackendV2

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return {backend.name: backend for backend in FakeProviderForBackendV2().backends()}


@cache
def local_backends() -> dict[str, dict[str, Any]]:
    """name -> summary (`provider`, `num_qubits`, `basis_gates`, `simulated`, ...), sorted."""
    from qiskit_aer import AerSimulator

    summaries = {
        IDEAL: {  # as wide as a state vector fits in this host's memory
            "name": IDEAL, "provider": "local", "num_qubits": AerSimulator().num_qubits,
            "basis_gates": IDEAL_BASIS, "simulated": True, "noisy": False,
            "description": "Ideal (noise-free) Aer simulator", "version": "",
            "processor_type": None, "operational": True,
        }
    }
    for name, backend in sorted(_fake_backends().items()):
        conf = backend.configuration()
        summaries[name] = {
            "name": name, "provider": "local", "num_qubits": conf.n_qubits,
            "basis_gates": list(conf.basis_gates), "simulated": True, "noisy": True,
            "description": f"Noisy simulator replicating IBM's {name.removeprefix('fake_')} "
            f"({getattr(conf, 'description', '') or conf.n_qubits})",
            "version": conf.backend_version,
            "processor_type": getattr(conf, "processor_type", None),
            "operational": True,
        }
    return summaries


def backend_summary(name: str) -> dict[str, Any]:
    try:
        return local_backends()[name]
    except KeyError:
        raise BackendNotFound(f"No backend named {name!r}; GET /v1/backends lists them.") from None


def fake_backend(name: str) -> Any:
    """The qiskit-ibm-runtime fake device object behind a noisy local backend."""
    return _fake_backends()[name]


def backend_properties(name: str) -> dict[str, Any] | None:
    """The device properties (calibration data) of a fake device; None for the ideal simulator."""
    backend_summary(name)
    if name == IDEAL:
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        properties = fake_backend(name).properties()
    return plain(properties.to_dict()) if properties is not None else None
