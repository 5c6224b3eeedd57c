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
from core.qasm_guard import ProgramRefused, program_version

_QASM2_POSITION = re.compile(r"<input>:(\d+),(\d+):\s*(.*)", re.S)
_QASM3_POSITION = re.compile(r"^L?(\d+)[,:]C?(\d+):\s*(.*)", re.S)
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
        raise _Unparsable(*_describe_parse_error(exc)) from None
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


def _describe_parse_error(exc: Exception) -> tuple[str, int | None, int | None]:
    """Message, line and 1-based column (every parser here counts columns from 0)."""
    message = str(exc).strip().strip('"')
    for pattern in (_QASM2_POSITION, _QASM3_POSITION):
        found = pattern.match(message)
        if found:
            return found.group(3).strip(), int(found.group(1)), int(found.group(2)) + 1
    cause = exc.__cause__
    recognition = cause.args[0] if cause is not None and cause.args else None
    token = getattr(recognition, "offendingToken", None)
    if token is not None:
        text = getattr(token, "text", "")
        return f"syntax error at {text!r}", token.line, token.column + 1
    node = getattr(exc, "node", None)
    span = getattr(node, "span", None)
    if span is not None:
        return message, span.start_line, span.start_column + 1
    return message or "the program does not parse", None, None


def _refuse(field: str, message: str, line: int | None = None, column: int | None = None) -> None:
    where = f" (line {line}, column {column})" if line is not None else ""
    position = {"line": line, "column": column} if line is not None else {}
    raise InvalidJobInput(f"{field}: {message}{where}", errors={field: [message + where]},
                          **position)


def bind_parameters(circuit: QuantumCircuit, values: dict[str, Any] | None, field: str) -> dict:
    """Check parameter names against the circuit: every one given, none unknown."""
    values = values or {}
    names = {p.name for p in circuit.parameters}
    unknown = sorted(set(values) - names)
    missing = sorted(names - set(values))
    if unknown:
        _refuse(field, f"unknown parameter(s) {', '.join(unknown)}; "
                       f"the circuit has {sorted(names)}")
    if missing:
        _refuse(field, f"no values for parameter(s) {', '.join(missing)}")
    arrays = {}
    for name, value in values.items():
        try:
            arrays[name] = np.asarray(value, dtype=float)
        except (ValueError, TypeError):
            _refuse(f"{field}.{name}", "values are a number or (nested, rectangular) lists of them")
    return arrays


def coerce_observables(raw: Any, field: str) -> Any:
    """A Pauli string, a {pauli: coefficient} object, or nested lists of these."""
    if isinstance(raw, list):
        if not raw:
            _refuse(field, "observables must not be empty")
        return [coerce_observables(item, f"{field}.{i}") for i, item in enumerate(raw)]
    try:
        if isinstance(raw, str):
            return SparsePauliOp(raw)
        if isinstance(raw, dict) and raw:
            return SparsePauliOp.from_list([(str(k), complex(v)) for k, v in raw.items()])
    except (ValueError, TypeError, QiskitError) as exc:
        _refuse(field, str(exc).strip("'\""))
    _refuse(field, "an observable is a Pauli string, a {pauli: coefficient} object or a list")
    raise AssertionError("unreachable")


def build_pubs(
    program_id: str, pubs: list[dict[str, Any]], num_qubits: int, limits: Limits
) -> list:
    """SamplerPub/EstimatorPub objects for the PUBs, or InvalidJobInput naming the field."""
    if not pubs:
        _refuse("pubs", "a job needs at least one PUB")
    if len(pubs) > limits.max_pubs:
        _refuse("pubs", f"at most {limits.max_pubs} PUBs per job (GATEWAY_MAX_PUBS)")
    return [_build_pub(program_id, pub, f"pubs.{i}", num_qubits, limits)
            for i, pub in enumerate(pubs)]


def _build_pub(
    program_id: str, pub: dict[str, Any], field: str, num_qubits: int, limits: Limits
) -> Any:
    circuit = parse_circuit(pub["circuit"], f"{field}.circuit")
    cap = min(num_qubits, limits.max_qubits)
    if circuit.num_qubits > cap:
        _refuse(f"{field}.circuit",
                f"the circuit has {circuit.num_qubits} qubits; at most {cap} here")
    values = bind_parameters(circuit, pub.get("parameter_values"), f"{field}.parameter_values")
    try:
        if program_id == "sampler":
            if circuit.num_clbits == 0:
                _refuse(f"{field}.circuit", "a sampler circuit must measure into classical bits")
            shots = pub.get("shots") or limits.default_shots
            built: Any = SamplerPub.coerce((circuit, values or None, shots))
        else:
            check_broadcast(BindingsArray.coerce(values).shape if values else (),
                            pub.get("observables"), field, limits.max_broadcast)
            observables = coerce_observables(pub.get("observables"), f"{field}.observables")
            precision = pub.get("precision")
            built = EstimatorPub.coerce((circuit, observables, values or None, precision))
    except (ValueError, TypeError, QiskitError) as exc:
        _refuse(field, str(exc).strip("'\""))
    if built.parameter_values.size > limits.max_parameter_sets:
        _refuse(f"{field}.parameter_values", f"at most {limits.max_parameter_sets} parameter sets")
    return built


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
