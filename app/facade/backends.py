"""Backends as IBM serves them: the list (`devices`), each one's configuration, properties and
status. The gateway's own documents are IBM's formats already (the fake devices' files, the
IBM account's cached copies); the ideal simulator, which has none, gets a configuration made
from its summary: its basis gates on every qubit, every pair coupled."""

from __future__ import annotations

from typing import Any

from app.gateway import Gateway
from app.services import backends as service
from core import catalog

SIMULATOR_MAX_SHOTS = 100_000
IDEAL_QUBITS = 20  # the ideal simulator's width for the client's transpiler: its circuits keep
#                   every qubit of the target, and Aer would simulate them all


def devices(gw: Gateway) -> dict[str, Any]:
    """Every backend as `real` (the client hides `mock` ones unless asked)."""
    return {"devices": [{"name": b["name"], "class": "real",
                         "status": {"name": "online" if b.get("operational", True)
                                    else "offline"}} for b in service.backends(gw)]}


def configuration(gw: Gateway, name: str) -> dict[str, Any]:
    document = service.backend_document(gw, name, "configuration")
    if document is None:
        return ideal_configuration(service.backend_summary(gw, name))
    return dict(document)


def properties(gw: Gateway, name: str) -> dict[str, Any]:
    """The calibration data; `{}` for the ideal simulator (the client reads: none)."""
    return dict(service.backend_document(gw, name, "properties") or {})


def status(gw: Gateway, name: str) -> dict[str, Any]:
    summary = service.backend_summary(gw, name)
    operational = bool(summary.get("operational", True))
    return {"backend_name": name, "backend_version": summary.get("version") or "0.0.0",
            "state": operational, "status": "active" if operational else "inactive",
            "message": "available" if operational else "unavailable", "length_queue": 0}


def ideal_configuration(summary: dict[str, Any]) -> dict[str, Any]:
    qubits = min(int(summary["num_qubits"]), IDEAL_QUBITS)
    gates = [g for g in summary["basis_gates"] if g not in ("measure", "reset", "delay")]
    pairs = [[a, b] for a in range(qubits) for b in range(qubits) if a != b]
    return {
        "backend_name": summary["name"], "backend_version": summary.get("version") or "0.0.0",
        "n_qubits": qubits, "basis_gates": summary["basis_gates"],
        "gates": [{"name": g, "parameters": ["theta"] if g == "rz" else [],
                   "qasm_def": "", "coupling_map": pairs if g == "cx" else None}
                  for g in gates],
        # not `simulator`: the client opens no Session or Batch on IBM's cloud simulators, and
        # every backend of the gateway takes them
        "local": False, "simulator": False, "conditional": True, "open_pulse": False,
        "memory": True, "max_shots": SIMULATOR_MAX_SHOTS, "max_experiments": 300,
        "coupling_map": pairs, "supported_instructions": [*gates, "measure", "reset", "delay"],
        "description": summary.get("description", ""), "online_date": "2024-01-01T00:00:00Z",
        "dynamic_reprate_enabled": False, "processor_type": {"family": "simulator"},
        "conditional_latency": [], "meas_map": [list(range(qubits))],
    }


IDEAL = catalog.IDEAL
