"""Turn a gateway job into an IBM Quantum job: transpile against the device, run the primitive.

The primitives are the client-side `Sampler` and `Estimator` that qiskit-ibm-runtime 0.50+
recommends over the deprecated `SamplerV2`/`EstimatorV2`: they send an `executor` program.
"""

from __future__ import annotations

from typing import Any

from qiskit.transpiler.preset_passmanagers import generate_preset_pass_manager

from workers.circuits import build_pubs
from workers.errors import InvalidJobInput
from workers.ibm.account import Account
from workers.local import UNLIMITED
from workers.local import _retarget as retarget

TAG_PREFIX = "gateway-job:"


def gateway_tag(job_id: str) -> str:
    """The tag that marks an upstream job as this gateway job (IBM has no idempotency key)."""
    return f"{TAG_PREFIX}{job_id}"


def tagged_job_id(tags: list[str]) -> str | None:
    """The gateway job id an upstream job is tagged with, if any."""
    return next((tag.removeprefix(TAG_PREFIX) for tag in tags if tag.startswith(TAG_PREFIX)), None)


def check_uniform(program_id: str, pubs: list[dict[str, Any]]) -> None:
    """IBM's primitives run every PUB of a job with the same shots (sampler) or precision."""
    field = "shots" if program_id == "sampler" else "precision"
    for index, pub in enumerate(pubs[1:], start=1):
        if pub.get(field) != pubs[0].get(field):
            message = f"IBM Quantum runs all PUBs of a job with the same {field}; split the job"
            raise InvalidJobInput(message, errors={f"pubs.{index}.{field}": [message]})


def send(account: Account, record: dict[str, Any], inputs: dict[str, Any]) -> Any:
    """Transpile the PUBs for the device and submit them; the upstream job (a RuntimeJobV2)."""
    backend = account.backend(record["backend"])
    program = record["program_id"]
    options = inputs.get("options") or {}
    pubs = build_pubs(program, inputs["pubs"], backend.num_qubits, UNLIMITED)
    manager = generate_preset_pass_manager(
        optimization_level=options.get("optimization_level", 1), target=backend.target,
        seed_transpiler=options.get("seed"))
    isa = [retarget(program, pub, manager.run(pub.circuit)) for pub in pubs]
    primitive = _primitive(program, backend, [*record.get("tags", []), gateway_tag(record["id"])])
    job = account.call(f"submitting to {backend.name}", primitive.run, isa)
    account.remember_job(job)
    return job


def _primitive(program: str, backend: Any, tags: list[str]) -> Any:
    if program == "sampler":
        from qiskit_ibm_runtime.executor_sampler import Sampler

        return Sampler(mode=backend, options={"environment": {"job_tags": tags}})
    from qiskit_ibm_runtime.executor_estimator import Estimator

    return Estimator(mode=backend, options={"environment": {"job_tags": tags}})

