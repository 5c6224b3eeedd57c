"""A program's ISA circuits on the qubits they use, for the executor primitives' preparation.

A transpiled circuit is as wide as the device. The executor primitives' preparation twirls and
measures every qubit of the circuit it is given, and TREX calibrates them all: on a 27-qubit
replica, a 3-qubit GHZ state becomes a 27-qubit noisy simulation (the library's local mode
runs it for minutes). So the preparation is given the circuits on their active qubits only (those
an instruction or an observable touches; the same for all PUBs, as TREX calibrates them
together), and each prepared circuit is put back on the device's qubits before it runs: the
device's noise applies where it would, and Aer leaves the idle qubits out. The device's
noise is local to each qubit and pair (no crosstalk), so the idle qubits' twirls and readouts
change no value an observable on the active ones takes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from qiskit import QuantumCircuit
from qiskit.primitives.containers.observables_array import ObservablesArray


@dataclass(frozen=True)
class Narrowed:
    pubs: list[tuple[Any, ...]]  # PUB-likes whose circuits have only the active qubits
    active: list[int]  # the device's qubit under each of their qubits, in order
    width: int  # the device's qubits


def narrowed(program: str, pubs: list[tuple[Any, ...]]) -> Narrowed:
    """`pubs` (ISA circuits, observables on their layout) on their active qubits."""
    width = pubs[0][0].num_qubits
    active = sorted(set().union(*(_touched(pub[0]) for pub in pubs),
                                *(_observed(pub[1]) for pub in pubs if program == "estimator")))
    if len(active) == width:
        return Narrowed(pubs, active, width)
    narrow = []
    for pub in pubs:
        circuit = _on(pub[0], active)
        if program == "estimator":
            observables = ObservablesArray.coerce(_labels(pub[1].tolist(), active, width))
            narrow.append((circuit, observables, *pub[2:]))
        else:
            narrow.append((circuit, *pub[1:]))
    return Narrowed(narrow, active, width)


def widened(circuit: QuantumCircuit, narrow: Narrowed) -> QuantumCircuit:
    """A prepared circuit back on the device's qubits (its parameters and bits unchanged)."""
    if len(narrow.active) == narrow.width:
        return circuit
    return _like(circuit, narrow.width).compose(circuit, qubits=narrow.active,
                                                clbits=circuit.clbits)


def _touched(circuit: QuantumCircuit) -> set[int]:
    return {circuit.find_bit(qubit).index for instruction in circuit.data
            if instruction.operation.name != "barrier" for qubit in instruction.qubits}


def _observed(observables: ObservablesArray) -> set[int]:
    width = observables.num_qubits
    return {q for labels in _flat(observables.tolist()) for label in labels
            for q in range(width) if label[width - 1 - q] != "I"}


def _flat(nested: Any) -> list[dict[str, float]]:
    return [nested] if isinstance(nested, dict) else [d for item in nested for d in _flat(item)]


def _labels(nested: Any, active: list[int], width: int) -> Any:
    """Each Pauli string of (nested lists of) {pauli: coefficient}, on the active qubits."""
    if isinstance(nested, dict):
        return {"".join(label[width - 1 - q] for q in reversed(active)): coefficient
                for label, coefficient in nested.items()}
    return [_labels(item, active, width) for item in nested]


def _on(circuit: QuantumCircuit, active: list[int]) -> QuantumCircuit:
    """`circuit` with only the `active` qubits (a barrier keeps its active ones)."""
    where = {circuit.qubits[q]: i for i, q in enumerate(active)}
    narrow = _like(circuit, len(active))
    for instruction in circuit.data:
        qubits = [narrow.qubits[where[q]] for q in instruction.qubits if q in where]
        if instruction.operation.name == "barrier":
            if qubits:
                narrow.barrier(*qubits, label=instruction.operation.label)
            continue
        narrow.append(instruction.operation, qubits, instruction.clbits, copy=False)
    return narrow


def _like(circuit: QuantumCircuit, width: int) -> QuantumCircuit:
    """An empty circuit of `width` qubits with `circuit`'s classical bits and registers."""
    like = QuantumCircuit(width, name=circuit.name, global_phase=circuit.global_phase,
                          metadata=circuit.metadata)
    like.add_bits([bit for bit in circuit.clbits if not circuit.find_bit(bit).registers])
    for register in circuit.cregs:
        like.add_register(register)
    return like
