"""The account's devices as the gateway lists them: a summary like a local backend's, plus the
configuration and properties IBM sent, ready to be cached in Redis as JSON."""

from __future__ import annotations

from typing import Any

from core.ibm.account import Account
from core.jsonable import plain


def describe_all(account: Account) -> list[dict[str, Any]]:
    return [describe(account, backend) for backend in account.devices()]


def describe(account: Account, backend: Any) -> dict[str, Any]:
    conf = backend.configuration()
    status = account.call(f"reading the status of {backend.name}", backend.status,
                          operation="backend_status")
    properties = backend.properties()
    summary = {
        "name": backend.name, "provider": "ibm_quantum", "num_qubits": conf.n_qubits,
        "basis_gates": list(conf.basis_gates), "simulated": bool(conf.simulator),
        "noisy": not conf.simulator, "description": getattr(conf, "description", "") or "",
        "version": str(conf.backend_version),
        "processor_type": getattr(conf, "processor_type", None),
        "operational": bool(status.operational), "status_msg": status.status_msg,
        "pending_jobs": status.pending_jobs,
    }
    return {"summary": plain(summary), "configuration": plain(conf.to_dict()),
            "properties": plain(properties.to_dict()) if properties is not None else None}
