"""What a job will cost, known before it is queued.

`inspect_pubs` reads each program's structure (`core/qasm_guard.py`), then parses and builds the
PUBs; the API runs it in a parse process (`core/parse_pool.py`), never in its own. `check_costs`
is the cost model, plain arithmetic on what the inspection found: total shots, broadcast size,
and the memory the simulation needs against what one worker may use. Every refusal is a
`LimitExceeded` naming the limit, the value, the maximum and the setting.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from qiskit.primitives.containers.sampler_pub import SamplerPub

from core.circuits import (
    Limits,
    build_pubs,
    check_broadcast,
    count_shots,
    estimate_quantum_seconds,
    values_shape,
)
from core.errors import LimitExceeded, UnreadableProgram
from core.qasm_guard import (
    ProgramLimits,
    ProgramOverLimit,
    ProgramRefused,
    ProgramShape,
    check_program,
)

if TYPE_CHECKING:
    from core.mitigation_cost import Mitigation

# what Aer's stabilizer method runs (ideal circuits made only of these are simulated that way)
CLIFFORD = frozenset({"h", "s", "sdg", "x", "y", "z", "cx", "cy", "cz", "swap", "id", "sx",
                      "sxdg", "ecr", "measure", "reset", "barrier", "delay"})
BYTES_PER_AMPLITUDE = 16  # complex128
CONTROL_FLOW = frozenset({"if_else", "for_loop", "while_loop", "switch_case"})


@dataclass(frozen=True)
class PubCost:
    qubits: int  # declared
    active_qubits: int  # touched by an operation: Aer drops the idle ones
    clbits: int
    operations: int  # the static estimate, loops and gate definitions expanded
    parameter_sets: int
    observables: int  # estimator: observables; sampler: 1
    broadcast: int  # the PUB's shape: parameter sets and observables broadcast together
    shots: int  # sampler: per parameter set; estimator: 0
    clifford: bool
    per_shot: bool  # Aer simulates each shot apart: see `simulated_per_shot`


@dataclass(frozen=True)
class Inspection:
    pubs: list[PubCost]
    num_shots: int
    quantum_seconds: float
    # what the runtime options make run (`core/mitigation_cost.py`); None: not counted
    mitigation: Mitigation | None = None


@dataclass(frozen=True)
class CostLimits:
    max_total_shots: int
    max_broadcast: int
    worker_memory_bytes: int


def inspect_pubs(program_id: str, pubs: list[dict[str, Any]], backend_qubits: int,
                 limits: Limits, program_limits: ProgramLimits) -> Inspection:
    """Each program's shape first (linear), then the parsers; InvalidJobInput on any fault."""
    shapes = check_programs(pubs, program_limits)
    built = build_pubs(program_id, pubs, backend_qubits, limits)
    costs = [_cost(pub, shape.operations) for pub, shape in zip(built, shapes, strict=True)]
    return Inspection(costs, count_shots(built), estimate_quantum_seconds(built))


def check_programs(pubs: list[dict[str, Any]], limits: ProgramLimits) -> list[ProgramShape]:
    """Each program's shape, read in linear time (`core/qasm_guard.py`), or the refusal."""
    shapes = []
    for i, pub in enumerate(pubs):
        try:
            shapes.append(check_program(pub["circuit"], limits))
        except ProgramOverLimit as exc:
            raise over(f"pubs.{i}.circuit", exc.args[0], exc.limit, exc.value, exc.maximum,
                       exc.setting) from None
        except ProgramRefused as exc:
            field = f"pubs.{i}.circuit"
            raise UnreadableProgram(f"{field}: {exc.args[0]}", errors={field: [exc.args[0]]}) \
                from None
    return shapes


def _cost(pub: Any, operations: int) -> PubCost:
    circuit = pub.circuit
    active = {qubit for item in circuit.data if item.operation.name != "barrier"
              for qubit in item.qubits}
    names = {item.operation.name for item in circuit.data}
    sampler = isinstance(pub, SamplerPub)
    return PubCost(
        qubits=circuit.num_qubits, active_qubits=len(active), clbits=circuit.num_clbits,
        operations=operations, parameter_sets=int(np.prod(pub.parameter_values.shape)),
        observables=1 if sampler else int(np.prod(pub.observables.shape)),
        broadcast=int(np.prod(pub.shape)),
        shots=pub.shots if sampler else 0, clifford=names <= CLIFFORD,
        per_shot=simulated_per_shot(circuit, estimator=not sampler))


def simulated_per_shot(circuit: Any, estimator: bool) -> bool:
    """Aer samples every shot from one simulation only when nothing depends on a measurement:
    no control flow, no reset, no operation on a qubit once it is measured (an estimator reads
    its expectation values after the last operation, so any measurement counts). Otherwise it
    runs the circuit once per shot."""
    measured: set[Any] = set()
    for item in circuit.data:
        name = item.operation.name
        if name in CONTROL_FLOW or name == "reset" or (estimator and name == "measure"):
            return True
        if name == "measure":
            measured.update(item.qubits)
        elif name != "barrier" and measured.intersection(item.qubits):
            return True
    return False


def check_costs(inspection: Inspection, noisy: bool, limits: CostLimits) -> None:
    """The cost model: LimitExceeded for the first limit the job is over."""
    _check_total_shots(sum(pub.parameter_sets * pub.shots for pub in inspection.pubs), limits)
    for i, pub in enumerate(inspection.pubs):
        if pub.broadcast > limits.max_broadcast:
            raise over(f"pubs.{i}", f"{pub.parameter_sets} parameter sets and "
                       f"{pub.observables} observables broadcast to {pub.broadcast} results",
                       "broadcast", pub.broadcast, limits.max_broadcast, "GATEWAY_MAX_BROADCAST")
        needed, method = simulation_memory(pub, noisy, limits.worker_memory_bytes)
        available = limits.worker_memory_bytes
        if needed > available:
            raise over(f"pubs.{i}.circuit", f"simulating its {pub.active_qubits} active qubits "
                       f"({method}) needs {needed} bytes ({_gib(needed)}); at most {available} "
                       f"bytes ({_gib(available)}, GATEWAY_WORKER_MEMORY_BYTES)",
                       "simulation_memory_bytes", needed, available,
                       "GATEWAY_WORKER_MEMORY_BYTES")


def check_sizes(program_id: str, pubs: list[dict[str, Any]], limits: Limits,
                costs: CostLimits, local: bool) -> None:
    """The size limits (parameter sets, broadcast; on a local simulator, shots in all) from the
    shapes of the values and observables alone, no circuit parsed. A PUB whose values are not
    rectangular numbers passes here; building it says what is wrong."""
    total = 0
    for i, pub in enumerate(pubs):
        shape = values_shape(pub.get("parameter_values"))
        if shape is None:
            return
        if math.prod(shape) > limits.max_parameter_sets:
            raise over(f"pubs.{i}.parameter_values", f"{math.prod(shape)} parameter sets",
                       "parameter_sets", math.prod(shape), limits.max_parameter_sets,
                       "GATEWAY_MAX_PARAMETER_SETS")
        if program_id == "sampler":
            total += math.prod(shape) * (pub.get("shots") or limits.default_shots)
        else:
            check_broadcast(shape, pub.get("observables"), f"pubs.{i}", costs.max_broadcast)
    if local:
        _check_total_shots(total, costs)


def _check_total_shots(total: int, limits: CostLimits) -> None:
    if total > limits.max_total_shots:
        raise over("pubs", f"the job asks for {total} shots in all (shots x parameter sets, "
                   "over every PUB)", "total_shots", total, limits.max_total_shots,
                   "GATEWAY_MAX_TOTAL_SHOTS")


def simulation_memory(pub: PubCost, noisy: bool, available: int) -> tuple[int, str]:
    """(bytes, method) as Aer's automatic method picks it: the stabilizer for an ideal Clifford
    circuit; with noise, a density matrix when shots exceed 2^n and it fits; else a state
    vector."""
    n = pub.active_qubits
    if pub.clifford and not noisy:
        return 2 * (2 * n + 1) ** 2, "stabilizer"
    if noisy and n < 32 and pub.shots > 2 ** n:
        density = BYTES_PER_AMPLITUDE << (2 * n)
        if density <= available:
            return density, "density matrix"
    return BYTES_PER_AMPLITUDE << n, "state vector"


def job_time_limit(options: dict[str, Any], gateway_limit: float) -> float:
    """The job's own `max_execution_time` if it asked for one (at most the gateway's)."""
    return min(float(options.get("max_execution_time") or gateway_limit), gateway_limit)


def widest_state_vector(memory_bytes: int) -> int:
    """The most qubits whose state vector fits in `memory_bytes`."""
    return max(0, int(math.log2(max(memory_bytes, 1) / BYTES_PER_AMPLITUDE)))


over = LimitExceeded.of


def _gib(size: int) -> str:
    return f"{size / 2**30:.3g} GiB"
