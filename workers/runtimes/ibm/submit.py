"""Turn a gateway job into an IBM Quantum job: transpile against the device, run the primitive.

The primitives are the client-side `Sampler` and `Estimator` that qiskit-ibm-runtime 0.50+
recommends over the deprecated `SamplerV2`/`EstimatorV2`: they send an `executor` program.
"""

from __future__ import annotations

from typing import Any

from qiskit.transpiler.preset_passmanagers import generate_preset_pass_manager

from core.circuits import build_pubs
from core.ibm.account import Account
from core.ibm.upstream import gateway_tag
from workers.runtimes.local import UNLIMITED
from workers.runtimes.local import _retarget as retarget


def send(account: Account, record: dict[str, Any], inputs: dict[str, Any],
         session: Any = None) -> Any:
    """Transpile the PUBs for the device and submit them; the upstream job (a RuntimeJobV2).
    With `session` (the library's Session or Batch), in it: sent with its id."""
    backend = account.backend(record["backend"])
    program = record["program_id"]
    options = inputs.get("options") or {}
    pubs = build_pubs(program, inputs["pubs"], backend.num_qubits, UNLIMITED)
    manager = generate_preset_pass_manager(
        optimization_level=options.get("optimization_level", 1), target=backend.target,
        seed_transpiler=options.get("seed"))
    isa = [retarget(program, pub, manager.run(pub.circuit)) for pub in pubs]
    primitive = _primitive(program, session or backend,
                           [*record.get("tags", []), gateway_tag(record["id"])])
    job = account.call(f"submitting to {backend.name}", primitive.run, isa)
    account.remember_job(job)
    return job


def _primitive(program: str, mode: Any, tags: list[str]) -> Any:
    if program == "sampler":
        from qiskit_ibm_runtime.executor_sampler import Sampler

        return Sampler(mode=mode, options={"environment": {"job_tags": tags}})
    from qiskit_ibm_runtime.executor_estimator import Estimator

    return Estimator(mode=mode, options={"environment": {"job_tags": tags}})

