"""A device's noise, prepared once per transpiled program instead of on every run.

`AerSimulator.from_backend(device)` hands its whole noise model to Aer's C++ on every run: Python
serialises every error of the device (more than a small simulation takes, and more on larger
devices), C++ parses them all and converts each to the form its method needs (superoperators for
the density matrix). A program uses a few of them. `DeviceNoise.prepare` picks, once per
transpiled program, the errors its instructions can trigger, already serialised; the run hands
that short list over.

The counts stay those of `from_backend` for the same seed: Aer's C++ applies an error where an
instruction of the circuit matches it, and draws random numbers only there, so errors nothing
matches change nothing, except through what C++ reads off the whole model to choose the
simulation method (`automatic`): whether it has quantum errors, and which kinds of operation its
errors hold. So the prepared model keeps one unused error (a "witness", on no instruction) of
every kind the device has and the program's errors lack, and a readout error likewise.
Delays get their relaxation errors from a noise pass that Aer would run, and deep-copy the whole
model for, on every run: here it runs once, and its errors are placed as Aer places them.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from qiskit import QuantumCircuit
from qiskit.circuit import Delay, Qubit
from qiskit_aer.noise import NoiseModel
from qiskit_aer.noise.errors.base_quantum_error import QuantumChannelInstruction
from qiskit_aer.noise.noise_model import AerJSONEncoder, QuantumErrorLocation

WITNESS = "gateway_witness"  # an instruction name no circuit has: its errors never apply
Key = tuple[str, tuple[int, ...]]  # an instruction's name (or label) and its qubits


class PreparedNoise(NoiseModel):
    """A noise model that is already the dictionary Aer's C++ reads; Aer asks it for nothing else
    on the way from `run` to C++ (it has no noise passes and no errors to copy in)."""

    def __init__(self, errors: list[dict[str, Any]]) -> None:
        super().__init__()
        self.errors = errors

    def to_dict(self, serializable: bool = False) -> dict[str, Any]:
        return {"errors": self.errors}


@dataclass(frozen=True)
class Prepared:
    circuit: QuantumCircuit  # the transpiled circuit, with Aer's markers where delays relax
    noise: PreparedNoise
    own_errors: int  # errors made for this program alone (the relaxation of its delays)


class DeviceNoise:
    """A device's noise model, and the dictionary of each of its errors, made when first asked."""

    def __init__(self, model: NoiseModel) -> None:
        self.model = model
        self._serialised: dict[Key, dict[str, Any]] = {}
        self._readout: dict[tuple[int, ...], dict[str, Any]] = {}
        self._kinds_by_key = _kinds_by_key(model)
        self._kinds = set().union(*self._kinds_by_key.values())
        self._witness_for = {kind: key for key, kinds in reversed(self._kinds_by_key.items())
                             for kind in kinds}

    def prepare(self, circuit: QuantumCircuit) -> Prepared:
        circuit, relaxations = self._relax_delays(circuit)
        used = set(_keys(circuit))
        errors = [dict(e.to_dict(), operations=[name])
                  for name, e in self.model._default_quantum_errors.items()]
        errors = _serialisable(errors + relaxations)
        kinds = set().union(*(_kinds(e) for e in self.model._default_quantum_errors.values()))
        for name, by_qubits in self.model._local_quantum_errors.items():
            for qubits in by_qubits:
                if (name, qubits) in used:
                    errors.append(self._error(name, qubits))
                    kinds |= self._kinds_by_key[name, qubits]
        for kind in sorted(self._kinds - kinds):  # what tells C++ the kinds the device has
            if kind not in kinds:
                key = self._witness_for[kind]
                errors.append(dict(self._error(*key), operations=[WITNESS]))
                kinds |= self._kinds_by_key[key]
        errors += self._readout_errors({qubits for name, qubits in used if name == "measure"})
        return Prepared(circuit, PreparedNoise(errors), len(relaxations))

    def _error(self, name: str, qubits: tuple[int, ...]) -> dict[str, Any]:
        found = self._serialised.get((name, qubits))
        if found is None:
            error = self.model._local_quantum_errors[name][qubits]
            found = _serialisable([dict(error.to_dict(), operations=[name],
                                        gate_qubits=[qubits])])[0]
            self._serialised[(name, qubits)] = found
        return found

    def _readout_errors(self, measured: set[tuple[int, ...]]) -> list[dict[str, Any]]:
        model, errors = self.model, []
        if model._default_readout_error is not None:
            errors.append(model._default_readout_error.to_dict())
        local = model._local_readout_errors
        kept = [qubits for qubits in local if qubits in measured]
        if not kept and local:  # a witness: an error on a qubit nothing measures
            kept = [next(qubits for qubits in local if qubits not in measured)]
        for qubits in kept:
            if qubits not in self._readout:
                self._readout[qubits] = _serialisable([dict(local[qubits].to_dict(),
                                                            gate_qubits=[qubits])])[0]
            errors.append(self._readout[qubits])
        return errors

    def _relax_delays(self, circuit: QuantumCircuit) -> tuple[QuantumCircuit, list[Any]]:
        """What Aer's `_assemble_noise_model` does to a circuit with delays on every run: the
        noise passes add relaxation errors after them, each becomes an all-qubit error named by
        its id, and a marker with that name takes its place in the circuit."""
        passes = self.model._pass_manager()
        if passes is None or not any(isinstance(i.operation, Delay) for i in circuit.data):
            return circuit, []
        data, errors, seen = [], [], set()
        for instruction in passes.run(circuit).data:
            operation = instruction.operation
            if isinstance(operation, QuantumChannelInstruction):
                error = operation._quantum_error
                operation = QuantumErrorLocation(error)
                if error.id not in seen:
                    seen.add(error.id)
                    errors.append(dict(error.to_dict(), operations=[error.id]))
            data.append(instruction.replace(operation=operation))
        prepared = circuit.copy()  # keeps the layout the estimator's observables follow
        prepared.data = data
        return prepared, errors


def _keys(circuit: QuantumCircuit, where: dict[Qubit, int] | None = None) -> Iterator[Key]:
    """(name, qubit indices) of every instruction, inside control flow too, and under its label
    where it has one (a noise model may name errors by label)."""
    where = where or {bit: i for i, bit in enumerate(circuit.qubits)}
    for instruction in circuit.data:
        operation = instruction.operation
        qubits = tuple(where[q] for q in instruction.qubits)
        for block in getattr(operation, "blocks", ()):
            yield from _keys(block, dict(zip(block.qubits, qubits, strict=True)))
        yield operation.name, qubits
        if operation.label:
            yield operation.label, qubits


def _kinds(error: Any) -> set[str]:
    """The operations an error is made of (the C++ model's `opset` reads them)."""
    return {instruction.operation.name for circuit in error.circuits
            for instruction in circuit.data}


def _kinds_by_key(model: NoiseModel) -> dict[Key, set[str]]:
    return {(name, qubits): _kinds(error)
            for name, by_qubits in model._local_quantum_errors.items()
            for qubits, error in by_qubits.items()}


def _serialisable(errors: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """As `NoiseModel.to_dict(serializable=True)` makes them (C++ reads plain JSON types)."""
    return list(json.loads(json.dumps(errors, cls=AerJSONEncoder)))
