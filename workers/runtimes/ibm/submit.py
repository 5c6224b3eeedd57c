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
from core.options import GATEWAY_OPTIONS
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
    tags = [*record.get("tags", []), gateway_tag(record["id"])]
    primitive = _primitive(program, session or backend, upstream_options(options, tags))
    job = account.call(f"submitting to {backend.name}", primitive.run, isa)
    account.remember_job(job)
    return job


def upstream_options(options: dict[str, Any], tags: list[str]) -> dict[str, Any]:
    """The job's runtime options as given, for the executor primitive: without the gateway's
    own (`seed` and `optimization_level` are its transpile options: the device's sampling has
    no seed), the job's tags and the gateway's added to `environment.job_tags`."""
    given = {name: value for name, value in options.items() if name not in GATEWAY_OPTIONS}
    environment = dict(given.get("environment") or {})
    own = environment.get("job_tags") or []
    environment["job_tags"] = [*own, *(tag for tag in tags if tag not in own)]
    return {**given, "environment": environment}


def _primitive(program: str, mode: Any, options: dict[str, Any]) -> Any:
    """The executor primitive on the device, or in the job's upstream session."""
    if program == "sampler":
        from qiskit_ibm_runtime.executor_sampler import Sampler

        return Sampler(mode=mode, options=options)
    from qiskit_ibm_runtime.executor_estimator import Estimator

    return Estimator(mode=mode, options=options)

