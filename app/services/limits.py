"""The gateway's limits as they apply to one backend: what `GET /v1/backends/{name}` reports
and what a submission is checked against before its programs are parsed."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from core import catalog
from core.admission import over
from core.config import Config

if TYPE_CHECKING:
    from app.gateway import Gateway


def qubit_cap(backend: dict[str, Any], config: Config) -> int:
    """The widest circuit a backend takes. The ideal simulator's own width is what a state
    vector fits in this host's memory; the cost model judges that per circuit and method (a
    Clifford circuit of 100 qubits is cheap), so only the gateway's limit applies to it."""
    if backend["name"] == catalog.IDEAL:
        return config.MAX_QUBITS
    return min(backend["num_qubits"], config.MAX_QUBITS)


def backend_with_limits(gw: Gateway, name: str) -> dict[str, Any]:
    """A backend's summary and the gateway's limits for jobs on it."""
    provider, backend = gw.providers.find(name)
    c = gw.config
    limits = {
        "max_qubits": qubit_cap(backend, c), **provider.limits(),
        "max_clbits": c.MAX_CLBITS, "max_operations": c.MAX_OPERATIONS,
        "max_gate_depth": c.MAX_GATE_DEPTH, "max_pubs": c.MAX_PUBS, "max_shots": c.MAX_SHOTS,
        "max_total_shots": c.MAX_TOTAL_SHOTS, "max_parameter_sets": c.MAX_PARAMETER_SETS,
        "max_broadcast": c.MAX_BROADCAST, "max_circuit_chars": c.MAX_CIRCUIT_CHARS,
        "max_execution_time": c.JOB_TIME_LIMIT_SECONDS,
    }
    return {**backend, "limits": limits}


def check_time_limit(options: dict[str, Any], config: Config) -> None:
    asked = options.get("max_execution_time")
    if asked is not None and asked > config.JOB_TIME_LIMIT_SECONDS:
        raise over("options.max_execution_time", f"max_execution_time is {asked} s",
                   "max_execution_time", asked, int(config.JOB_TIME_LIMIT_SECONDS),
                   "GATEWAY_JOB_TIME_LIMIT_SECONDS", unit="s")
