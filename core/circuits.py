"""Turn submitted PUBs (OpenQASM text, parameter values, observables) into qiskit objects.

Used by the web side to refuse bad input at submit time (422 with the parser's line and column)
and by the workers to build what they run, so both agree on what a valid job is.
"""

from __future__ import annotations

import math
import re
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import numpy as np
from qiskit import QuantumCircuit, qasm2, qasm3
from qiskit.exceptions import QiskitError
from qiskit.primitives.containers.bindings_array import BindingsArray
from qiskit.primitives.containers.estimator_pub import EstimatorPub
from qiskit.primitives.containers.sampler_pub import SamplerPub
from qiskit.quantum_info import SparsePauliOp

from core.errors import InvalidJobInput, LimitExceeded
from core.parse_errors import describe_parse_error
from core.qasm_guard import ProgramRefused, program_version

SECONDS_PER_EXECUTION = 250e-6  # repetition delay of IBM devices, for quantum-seconds estimates
ESTIMATOR_EXECUTIONS = 1024  # shots an estimator PUB is reckoned to cost
PARSED_CACHE_SIZE = 256  # programs remembered per process
PARSED_CACHE_BYTES = 32 * 1024 * 1024  # and at most this much memory among them (an estimate)
PARSED_CACHE_MAX_CHARS = 64 * 1024  # longer ones are parsed every time: they would fill memory
BYTES_PER_OPERATION = 400  # a CircuitInstruction with its qubits and parameters, roughly


@dataclass(frozen=True)
class Limits:
    max_pubs: int
    max_shots: int
    max_qubits: int
    max_parameter_sets: int
    default_shots: int
    max_broadcast: int = 10**12  # parameter sets x observables of an estimator PUB


def parse_circuit(text: str, field: str) -> QuantumCircuit:
    """Parse OpenQASM 2 or 3 (the header says which); InvalidJobInput with line and column.

    A program is parsed once per process and copied after: clients send the same text again and
    again (parameter sweeps, repeated runs), and parsing OpenQASM 3 costs more than simulating
    a small circuit. Refused programs are not remembered."""
    try:
        if len(text) > PARSED_CACHE_MAX_CHARS:
            return _parse(text)
        return _PARSED.get(text).copy()
    except _Unparsable as exc:
        _refuse(field, *exc.args)
        raise AssertionError("unreachable") from None


class _Unparsable(Exception):
    """(message, line, column) of a program the parsers refuse; the caller names the field."""


def _parse(text: str) -> QuantumCircuit:
    try:
        version = program_version(text)  # linear: no pattern that backtracks on client text
    except ProgramRefused as exc:
        raise _Unparsable(*exc.args) from None
    try:
        if version.startswith("2"):
            return qasm2.loads(text, custom_instructions=qasm2.LEGACY_CUSTOM_INSTRUCTIONS)
        if version.startswith("3"):
            return qasm3.loads(text)
    except Exception as exc:  # the parsers raise several unrelated types
        include = "qelib1.inc" if version.startswith("2") else "stdgates.inc"
        raise _Unparsable(*describe_parse_error(exc, include)) from None
    raise _Unparsable(f"unsupported OpenQASM version {version}")


def load_parsers() -> None:
    """Import what the parsers import on first use (the OpenQASM 3 grammar is slow to load)."""
    qasm2.loads('OPENQASM 2.0; qreg q[1];')
    qasm3.loads('OPENQASM 3.0; qubit[1] q;')


class _ParsedCache:
    """Parsed programs by text, least recently used first out, bounded by count and by an
    estimate of their bytes (a short text can declare a wide circuit)."""

    def __init__(self, size: int, max_bytes: int) -> None:
        self.size, self.max_bytes, self.bytes = size, max_bytes, 0
        self.entries: OrderedDict[str, tuple[QuantumCircuit, int]] = OrderedDict()

    def get(self, text: str) -> QuantumCircuit:
        found = self.entries.get(text)
        if found is not None:
            self.entries.move_to_end(text)
            return found[0]
        circuit = _parse(text)
        cost = len(text) + BYTES_PER_OPERATION * (
            len(circuit.data) + circuit.num_qubits + circuit.num_clbits)
        if cost <= self.max_bytes // 4:
            self.entries[text] = (circuit, cost)
            self.bytes += cost
        while len(self.entries) > self.size or self.bytes > self.max_bytes:
            self.bytes -= self.entries.popitem(last=False)[1][1]
        return circuit


_PARSED = _ParsedCache(PARSED_CACHE_SIZE, PARSED_CACHE_BYTES)


def _refuse(field: str, message: str, line: int | None = None, column: int | None = None) -> None:
    where = f" (line {line}, column {column})" if line is not None else ""
    position = {"line": line, "column": column} if line is not None else {}
    raise InvalidJobInput(f"{field}: {message}{where}", errors={field: [message + where]},
                          **position)


def bind_parameters(circuit: QuantumCircuit, values: dict[str, Any] | None,
                    field: str) -> tuple[dict[str, np.ndarray], tuple[int, ...]]:
    """Check parameter names against the circuit: every one given, none unknown; each one's
    values numbers, in a rectangular nest of lists, all of one shape. The arrays by name, and
    that shape (as qiskit reads it: a last axis of 1 is the parameter's own)."""
    values = values or {}
    names = {p.name for p in circuit.parameters}
    unknown = sorted(set(values) - names)
    missing = sorted(names - set(values))
    if unknown:
        has = f"parameters {', '.join(sorted(names))}" if names else "no parameters"
        _refuse(field, f"unknown parameter(s) {', '.join(unknown)}; the circuit has {has}")
    if missing:
        _refuse(field, f"no values for parameter(s) {', '.join(missing)}")
    arrays = {}
    for name, value in values.items():
        try:
            array = np.asarray(value)
        except ValueError:  # a ragged nest of lists
            array = np.asarray(None)
        if array.dtype.kind not in "iuf":
            _refuse(f"{field}.{name}", "must be a number or (nested, rectangular) lists of "
                                       "numbers")
        arrays[name] = array.astype(float)
    shapes = {name: BindingsArray.coerce({name: array}).shape for name, array in arrays.items()}
    if len(set(shapes.values())) > 1:
        said = ", ".join(f"{name} {list(shape)}" for name, shape in shapes.items())
        _refuse(field, f"every parameter needs values of one shape; their shapes are {said}")
    return arrays, next(iter(shapes.values()), ())


PAULI = re.compile(r"[+-]?[IXYZ]+")
NOT_AN_OBSERVABLE = "an observable is a Pauli string, a {pauli: coefficient} object or a list"


def coerce_observables(raw: Any, field: str) -> Any:
    """A Pauli string, a {pauli: coefficient} object, or nested lists of these."""
    if isinstance(raw, list):
        if not raw:
            _refuse(field, "observables must not be empty")
        return [coerce_observables(item, f"{field}.{i}") for i, item in enumerate(raw)]
    terms = {raw: 1.0} if isinstance(raw, str) else raw if isinstance(raw, dict) else {}
    if not terms:
        _refuse(field, NOT_AN_OBSERVABLE)
    for pauli, coefficient in terms.items():
        if not PAULI.fullmatch(pauli):
            _refuse(field, f"'{pauli}' is not a Pauli string: one letter I, X, Y or Z per qubit, "
                           'the rightmost for qubit 0 (e.g. "ZZ")')
        if isinstance(coefficient, bool) or not isinstance(coefficient, int | float):
            _refuse(field, f"the coefficient of '{pauli}' must be a number")
    if len({len(pauli.lstrip("+-")) for pauli in terms}) > 1:
        _refuse(field, "the Pauli strings of one observable must have the same length (one "
                       "letter per qubit)")
    return SparsePauliOp.from_list([(pauli, float(c)) for pauli, c in terms.items()])


def check_observables_width(observables: Any, num_qubits: int, field: str) -> None:
    """Each observable acts on as many qubits as the circuit has (one Pauli letter each)."""
    if isinstance(observables, list):
        for i, item in enumerate(observables):
            check_observables_width(item, num_qubits, f"{field}.{i}")
    elif observables.num_qubits != num_qubits:
        _refuse(field, f"the observable acts on {observables.num_qubits} qubits and the circuit "
                       f"has {num_qubits}: give one Pauli letter per qubit of the circuit")


def build_pubs(
    program_id: str, pubs: list[dict[str, Any]], num_qubits: int, limits: Limits
) -> list:
    """SamplerPub/EstimatorPub objects for the PUBs, or InvalidJobInput naming the field."""
    if not pubs:
        _refuse("pubs", "a job needs at least one PUB")
    if len(pubs) > limits.max_pubs:
        raise LimitExceeded.of("pubs", f"the job has {len(pubs)} PUBs", "pubs", len(pubs),
                               limits.max_pubs, "GATEWAY_MAX_PUBS")
    return [_build_pub(program_id, pub, f"pubs.{i}", num_qubits, limits)
            for i, pub in enumerate(pubs)]


def _build_pub(
    program_id: str, pub: dict[str, Any], field: str, num_qubits: int, limits: Limits
) -> Any:
    circuit = parse_circuit(pub["circuit"], f"{field}.circuit")
    _check_width(circuit, f"{field}.circuit", num_qubits, limits.max_qubits)
    values, shape = bind_parameters(circuit, pub.get("parameter_values"),
                                    f"{field}.parameter_values")
    sets = math.prod(shape)
    if sets > limits.max_parameter_sets:
        raise LimitExceeded.of(f"{field}.parameter_values", f"{sets} parameter sets",
                               "parameter_sets", sets, limits.max_parameter_sets,
                               "GATEWAY_MAX_PARAMETER_SETS")
    try:
        if program_id == "sampler":
            if circuit.num_clbits == 0:
                _refuse(f"{field}.circuit", "a sampler circuit must measure into classical bits")
            shots = pub.get("shots") or limits.default_shots
            return SamplerPub.coerce((circuit, values or None, shots))
        check_broadcast(shape, pub.get("observables"), field, limits.max_broadcast)
        observables = coerce_observables(pub.get("observables"), f"{field}.observables")
        check_observables_width(observables, circuit.num_qubits, f"{field}.observables")
        precision = pub.get("precision")
        return EstimatorPub.coerce((circuit, observables, values or None, precision))
    except (ValueError, TypeError, QiskitError) as exc:
        _refuse(field, _pub_refusal(exc))
        raise AssertionError("unreachable") from None


def _check_width(circuit: QuantumCircuit, field: str, backend_qubits: int, max_qubits: int) -> None:
    """Over the gateway's limit, or wider than the backend."""
    if circuit.num_qubits > max_qubits:
        raise LimitExceeded.of(field, f"the circuit has {circuit.num_qubits} qubits", "qubits",
                               circuit.num_qubits, max_qubits, "GATEWAY_MAX_QUBITS")
    if circuit.num_qubits > backend_qubits:
        _refuse(field, f"the circuit has {circuit.num_qubits} qubits; at most {backend_qubits} "
                       "on this backend (GET /v1/backends lists wider ones)")


_BROADCAST = re.compile(r"observables shape \(([\d, ]*)\) and the parameter values shape "
                        r"\(([\d, ]*)\)")


def _pub_refusal(exc: Exception) -> str:
    """What qiskit's PUB coercion refused, in our words (its own are about its classes)."""
    message = str(exc)
    found = _BROADCAST.search(message)
    if found:
        observables, values = ([int(n) for n in group.split(",") if n.strip()]
                               for group in found.groups())
        return (f"the observables (shape {observables}) and the parameter values (shape "
                f"{values}) do not broadcast together: each dimension must be equal or 1")
    if "ragged" in message:
        return "observables must be nested lists with the same length at each level"
    return ("the circuit, parameter values and observables of this PUB do not fit together "
            "(shapes or widths)")


def values_shape(raw: dict[str, Any] | None) -> tuple[int, ...] | None:
    """The shape of a PUB's parameter sets as its values claim it, from list lengths alone (no
    number read, no circuit parsed): () for none, None when the names' shapes disagree. A
    ragged list may claim more than it holds; building the PUB refuses it anyway."""
    if not raw:
        return ()
    try:
        return BindingsArray.coerce({name: np.broadcast_to(0.0, _lengths(value))
                                     for name, value in raw.items()}).shape
    except (ValueError, TypeError, QiskitError):
        return None


def _lengths(nested: Any) -> tuple[int, ...]:
    """The lengths down a nest of lists' first items: its shape, if it is rectangular."""
    shape = []
    while isinstance(nested, list):
        shape.append(len(nested))
        if not nested:
            break
        nested = nested[0]
    return tuple(shape)


def check_broadcast(parameters: tuple[int, ...], raw_observables: Any, field: str,
                    limit: int) -> None:
    """Refuse a broadcast over the limit from the shapes alone, before the observables are
    built: 10,000 parameter sets x 2,000 observables must not cost seconds."""
    try:
        size = math.prod(np.broadcast_shapes(parameters, _lengths(raw_observables)))
    except ValueError:
        return  # shapes that do not broadcast: the coercion says so
    if size > limit:
        raise LimitExceeded.of(field, f"its parameter sets and observables broadcast to {size} "
                               "results", "broadcast", size, limit, "GATEWAY_MAX_BROADCAST")


def count_shots(pubs: list[Any]) -> int:
    """Sampler shots over all PUBs and parameter sets (estimator PUBs have none)."""
    return sum(int(np.prod(pub.shape)) * pub.shots for pub in pubs if isinstance(pub, SamplerPub))


def estimate_quantum_seconds(pubs: list[Any]) -> float:
    """What the job would cost on a device: executions x repetition delay (a rough model)."""
    executions = 0
    for pub in pubs:
        per_set = pub.shots if isinstance(pub, SamplerPub) else ESTIMATOR_EXECUTIONS
        executions += int(np.prod(pub.shape)) * per_set
    return round(executions * SECONDS_PER_EXECUTION, 6)
