"""What a client's program becomes: the gateway's own PUBs (OpenQASM 3, parameter values by
name, observables as {pauli: coefficient}), so that a facade job runs on the same path as a job
submitted to /v1/jobs and gives the same numbers.

The client sends `sampler`/`estimator` programs (SamplerV2/EstimatorV2: RuntimeEncoder JSON,
circuits as QPY) and `executor` programs (the client-side Sampler/Estimator: the quantum
program converters' model, circuits as QPY). Both are client text that expands: QPY and its zlib
are decoded here only in a parse process (`core/parse_pool.py`, under its memory and time
limits), after counts and lengths are checked on the JSON, and each circuit's size is checked
again before it is written out as OpenQASM."""

from __future__ import annotations

import json
import re
import string
from dataclasses import dataclass
from typing import Any

import numpy as np

from core.errors import InvalidJobInput, LimitExceeded

PARAMETER_PREFIX = "fp_"  # the client's parameters, renamed: any Qiskit name is not OpenQASM's
# what RuntimeEncoder writes for a PUB's members: circuits, arrays, parameters, observables
PUB_TYPES = {"QuantumCircuit", "ndarray", "complex", "Parameter", "ObservablesArray",
             "BindingsArray", "settings"}
QASM2_IDENTIFIER = re.compile(r"[a-z][a-zA-Z0-9_]*")


@dataclass(frozen=True)
class Caps:
    """What a program may hold before and after decoding (the gateway's own limits)."""

    max_pubs: int
    max_encoded_chars: int  # one circuit's base64 QPY
    max_qubits: int
    max_operations: int
    max_parameter_sets: int = 10_000  # one samplex item may sample (GATEWAY_MAX_PARAMETER_SETS)
    # elements of a program's samplex outputs besides parameter values (twirling's measurement
    # flips, kept with the job for its result; GATEWAY_FACADE_MAX_SAMPLEX_OUTPUTS)
    max_samplex_outputs: int = 100_000


@dataclass
class Converted:
    pubs: list[dict[str, Any]]
    program_id: str  # the gateway's: sampler or estimator
    options: dict[str, Any]  # the client's own options (issue 24's nested dict)
    meta: dict[str, Any]  # what the result needs back (executor: role, passthrough data)


def convert_body(data: bytes, max_depth: int, caps: Caps) -> tuple[dict[str, Any], Converted]:
    """In a parse process: POST /jobs's body (its fields but `params`) and its program."""
    from app.json_guard import load_json

    body = load_json(data or b"{}", max_depth)
    if not isinstance(body, dict):
        raise InvalidJobInput("the body must be an object with program_id, backend and params",
                              errors={"_schema": ["not an object"]})
    converted = convert(str(body.get("program_id")), body.pop("params", None), caps)
    return body, converted


def convert(program_id: str, params: Any, caps: Caps) -> Converted:
    """In a parse process: the client's program as the gateway's PUBs (InvalidJobInput or
    LimitExceeded when it cannot be)."""
    if not isinstance(params, dict):
        raise InvalidJobInput("params must be an object", errors={"params": ["not an object"]})
    if program_id == "executor":
        return _executor(params, caps)
    if program_id in ("sampler", "estimator"):
        return _primitive(program_id, params, caps)
    raise InvalidJobInput(f"program {program_id!r} is not run here: only sampler, estimator "
                          "and executor", errors={"program_id": ["unsupported program"]})


def _primitive(program_id: str, params: dict[str, Any], caps: Caps) -> Converted:
    from qiskit_ibm_runtime.utils.json import RuntimeDecoder

    pubs = params.get("pubs")
    if not isinstance(pubs, list) or not pubs:
        raise InvalidJobInput("params.pubs must be a non-empty list",
                              errors={"params.pubs": ["required"]})
    _check_count(len(pubs), caps)
    for pub in pubs:
        encoded = pub[0] if isinstance(pub, list) and pub else pub
        _check_encoded(encoded, caps)
    _check_types(pubs)
    decoded = json.loads(json.dumps(pubs), cls=RuntimeDecoder)
    options = params.get("options") or {}
    if "resilience_level" in params:
        options = {**options, "resilience_level": params["resilience_level"]}
    made = [_sampler_pub(pub, caps) if program_id == "sampler"
            else _estimator_pub(pub, caps, options) for pub in decoded]
    return Converted(made, program_id, options,
                     {"program": program_id, "registers": _renamed(decoded)})


def _sampler_pub(pub: Any, caps: Caps) -> dict[str, Any]:
    circuit, values, shots = [*pub, None, None][:3]
    made = {**_circuit_fields(circuit, values, caps)}
    if shots is not None:
        made["shots"] = int(shots)
    return made


def _estimator_pub(pub: Any, caps: Caps, options: dict[str, Any]) -> dict[str, Any]:
    circuit, observables, values, precision = [*pub, None, None, None][:4]
    made = {**_circuit_fields(circuit, values, caps), "observables": _observables(observables)}
    precision = precision if precision is not None else options.get("default_precision")
    if precision is not None:
        made["precision"] = float(precision)
    return made


def _observables(observables: Any) -> Any:
    """Nested lists of {pauli: coefficient} (as the client encodes an ObservablesArray)."""
    if isinstance(observables, dict):
        return {str(p): float(np.real(c)) for p, c in observables.items()}
    if isinstance(observables, str):
        return observables
    if isinstance(observables, (list, tuple)):
        return [_observables(o) for o in observables]
    if hasattr(observables, "tolist"):
        return _observables(observables.tolist())
    raise InvalidJobInput("observables: expected Pauli strings or {pauli: coefficient}",
                          errors={"params.pubs": ["unreadable observables"]})


def _executor(params: dict[str, Any], caps: Caps) -> Converted:
    from qiskit_ibm_runtime.quantum_program.params_converters import (
        QUANTUM_PROGRAM_PARAMS_CONVERTERS,
    )
    from samplomatic.quantum_program import CircuitItem

    converter = QUANTUM_PROGRAM_PARAMS_CONVERTERS.get(str(params.get("schema_version")))
    program = params.get("quantum_program")
    if converter is None or not isinstance(program, dict):
        raise InvalidJobInput("an executor program needs schema_version and quantum_program",
                              errors={"params": ["not an executor program"]})
    _check_count(len(program.get("items") or []), caps)
    _check_encoded((program.get("circuits") or {}).get("b64_data", ""), caps)
    try:
        model = converter.model.model_validate(params)
        decoded, _options = converter.decoder(model)
    except (ValueError, TypeError) as exc:  # pydantic's ValidationError is a ValueError
        raise InvalidJobInput(f"unreadable executor program: {str(exc)[:300]}",
                              errors={"params": ["unreadable executor program"]}) from None
    if decoded.meas_level != "classified":
        raise InvalidJobInput(f"meas_level {decoded.meas_level!r} is not supported: "
                              "simulators return classified bits only",
                              errors={"params": ["unsupported meas_level"]})
    passthrough = program.get("passthrough_data")
    options = ((passthrough or {}).get("post_processor") or {}).get("options") or {}
    options = options if isinstance(options, dict) else {}
    rng = np.random.default_rng(_seed(options))
    pubs, outputs = [], []
    for item in decoded.items:
        values, extra = ((item.circuit_arguments, {}) if isinstance(item, CircuitItem)
                         else _samplex_values(item, rng, caps))
        pubs.append({**_circuit_fields(item.circuit, values, caps),
                     "shots": int(decoded.shots)})
        outputs.append(extra)
    meta = {"program": "executor", "semantic_role": program.get("semantic_role"),
            "passthrough_data": passthrough,
            "registers": _renamed([[item.circuit] for item in decoded.items])}
    if any(outputs):
        meta["samplex_outputs"] = _encoded_outputs(outputs, caps.max_samplex_outputs)
    return Converted(pubs, "sampler", options, meta)


def _seed(options: dict[str, Any]) -> int | None:
    seed = (options.get("simulator") or {}).get("seed_simulator")
    return seed if isinstance(seed, int) and seed >= 0 else None


def _samplex_values(item: Any, rng: np.random.Generator, caps: Caps
                    ) -> tuple[Any, dict[str, Any]]:
    """A samplex item's parameter values and its other outputs (twirling's measurement flips,
    which the client's post-processing undoes from the result), sampled here as the library's
    local runner samples them (`broadcast_sample`, one generator for the items in turn)."""
    from qiskit_ibm_runtime.fake_provider.executor.broadcast_sample import broadcast_sample

    samples = int(np.prod(item.shape, dtype=np.int64)) if item.shape else 1
    if samples > caps.max_parameter_sets:
        raise LimitExceeded(f"a samplex item asks for {samples} parameter sets; at most "
                            f"{caps.max_parameter_sets}", limit="parameter_sets", value=samples,
                            maximum=caps.max_parameter_sets,
                            setting="GATEWAY_MAX_PARAMETER_SETS")
    item.samplex.finalize()
    outputs = broadcast_sample(item.samplex, item.samplex_arguments, item.shape, rng)
    values = outputs.pop("parameter_values", None)
    return values, outputs


def _encoded_outputs(outputs: list[dict[str, Any]], most: int) -> list[dict[str, Any]]:
    """Each item's samplex outputs as the result model's tensors (what the local runner puts
    into an item's result beside its bits), after their size is checked: they are kept with the
    job until its result is read."""
    from ibm_quantum_schemas.common.tensor import CompressedTensorModel

    size = sum(int(np.size(array)) for extra in outputs for array in extra.values())
    if size > most:
        raise LimitExceeded(f"the program's samplex outputs (twirling's flips) have {size} "
                            f"elements; at most {most}: fewer randomizations or shots",
                            limit="samplex_outputs", value=size, maximum=most,
                            setting="GATEWAY_FACADE_MAX_SAMPLEX_OUTPUTS")
    try:
        return [{name: CompressedTensorModel.from_numpy(np.asarray(array)).model_dump(mode="json")
                 for name, array in extra.items()} for extra in outputs]
    except ValueError as exc:  # a dtype the result model has no name for
        raise InvalidJobInput(f"a samplex output cannot be kept: {str(exc)[:200]}",
                              errors={"params": ["unsupported samplex output"]}) from None


def _circuit_fields(circuit: Any, values: Any, caps: Caps) -> dict[str, Any]:
    """A circuit as OpenQASM 3 (its parameters renamed fp_0, fp_1, ... in the circuit's order,
    the layout dropped so that qubit i stays physical qubit i at optimization level 0) and its
    parameter values by those names."""
    from qiskit import QuantumCircuit, qasm3
    from qiskit.circuit import Parameter

    if not isinstance(circuit, QuantumCircuit):
        raise InvalidJobInput("a PUB's circuit is not a QuantumCircuit",
                              errors={"params.pubs": ["unreadable circuit"]})
    _check_size(circuit, caps)
    parameters = list(circuit.parameters)
    names = [f"{PARAMETER_PREFIX}{i}" for i in range(len(parameters))]
    circuit = circuit.assign_parameters(dict(zip(parameters, map(Parameter, names),
                                                  strict=True)))
    circuit._layout = None  # the exporter would write physical qubits `$n`
    fields: dict[str, Any] = {"circuit": qasm3.dumps(circuit)}
    array = np.asarray(values if values is not None else [], dtype=float)
    if parameters:
        if array.ndim == 0 or array.shape[-1] != len(parameters):
            raise InvalidJobInput(f"the circuit has {len(parameters)} parameters; the values "
                                  f"have shape {list(array.shape)}",
                                  errors={"params.pubs": ["parameter values do not fit"]})
        # the gateway reads a last axis of 1 as the parameter's own: one that is the sets'
        # (a samplex item of shape (7, 1)) keeps an axis of 1 after it, or the shape shrinks
        keep = array.ndim > 1 and array.shape[-2] == 1
        fields["parameter_values"] = {name: (array[..., i:i + 1] if keep else array[..., i])
                                      .tolist() for i, name in enumerate(names)}
    return fields


def _renamed(pubs: list[Any]) -> dict[str, str]:
    """{the gateway's name: the client's} of every classical register whose name the gateway's
    OpenQASM 3 reader escapes (as qiskit_qasm3_import does: `_meas` comes back `esc__meas`)."""
    renamed = {}
    for pub in pubs:
        for register in getattr(pub[0], "cregs", []):
            if not QASM2_IDENTIFIER.fullmatch(register.name):
                escaped = re.sub(r"\W", "_", register.name)
                if not escaped or escaped[0] not in string.ascii_lowercase:
                    escaped = "esc_" + escaped
                renamed[escaped] = register.name
    return renamed


def _check_types(value: Any) -> None:
    """Only the encoded types a PUB holds are decoded (RuntimeDecoder also builds noise models,
    sparse matrices, and objects of classes it imports by name)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            kind = item.get("__type__")
            if kind is not None and kind not in PUB_TYPES:
                raise InvalidJobInput(f"a PUB holds an encoded {str(kind)[:40]!r}, which is no "
                                      "part of a PUB", errors={"params.pubs": ["unexpected type"]})
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


def _check_count(count: int, caps: Caps) -> None:
    if count > caps.max_pubs:
        raise LimitExceeded(f"the program has {count} PUBs or items; at most {caps.max_pubs} "
                            "(GATEWAY_MAX_PUBS)", limit="pubs", value=count,
                            maximum=caps.max_pubs, setting="GATEWAY_MAX_PUBS")


def _check_encoded(encoded: Any, caps: Caps) -> None:
    text = encoded.get("__value__", "") if isinstance(encoded, dict) else encoded
    size = len(text) if isinstance(text, str) else 0
    if size > caps.max_encoded_chars:
        raise LimitExceeded(f"an encoded circuit has {size} characters; at most "
                            f"{caps.max_encoded_chars} (GATEWAY_MAX_CIRCUIT_CHARS)",
                            limit="circuit_chars", value=size,
                            maximum=caps.max_encoded_chars, setting="GATEWAY_MAX_CIRCUIT_CHARS")


def _check_size(circuit: Any, caps: Caps) -> None:
    if circuit.num_qubits > caps.max_qubits:
        raise LimitExceeded(f"a circuit has {circuit.num_qubits} qubits; at most "
                            f"{caps.max_qubits} (GATEWAY_MAX_QUBITS)", limit="qubits",
                            value=circuit.num_qubits, maximum=caps.max_qubits,
                            setting="GATEWAY_MAX_QUBITS")
    if circuit.size() > caps.max_operations:
        raise LimitExceeded(f"a circuit has {circuit.size()} operations; at most "
                            f"{caps.max_operations} (GATEWAY_MAX_OPERATIONS)",
                            limit="operations", value=circuit.size(),
                            maximum=caps.max_operations, setting="GATEWAY_MAX_OPERATIONS")
