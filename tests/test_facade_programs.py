"""What a client's program becomes (`app/facade/programs.py`), and the limits checked on its
JSON before anything is decoded, then on each decoded circuit before it is written out."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import numpy as np
import pytest
from qiskit import ClassicalRegister, QuantumCircuit, QuantumRegister
from qiskit.circuit import Parameter
from qiskit_ibm_runtime import RuntimeEncoder

from app.facade.programs import Caps, convert
from core.errors import InvalidJobInput, LimitExceeded

CAPS = Caps(max_pubs=3, max_encoded_chars=2000, max_qubits=4, max_operations=50)
NOT_QPY = {"__type__": "QuantumCircuit", "__value__": "bm90IHFweQ=="}  # never decoded here


def encoded(*pubs: Any) -> dict[str, Any]:
    """SamplerV2/EstimatorV2 params as the client encodes them."""
    return json.loads(json.dumps({"pubs": list(pubs), "options": {}, "version": 2,
                                  "support_qiskit": True}, cls=RuntimeEncoder))


def swept(qubits: int = 1) -> QuantumCircuit:
    circuit = QuantumCircuit(qubits)
    circuit.ry(Parameter("θ"), 0)
    circuit.measure_all()
    return circuit


def test_a_sweep_becomes_openqasm_with_values_by_name() -> None:
    made = convert("sampler", encoded([swept(), np.array([[0.0], [1.5]]), 100]), CAPS)
    pub = made.pubs[0]
    assert made.program_id == "sampler" and pub["shots"] == 100
    assert "input float[64] fp_0;" in pub["circuit"] and "θ" not in pub["circuit"]
    assert pub["parameter_values"] == {"fp_0": [0.0, 1.5]}


def test_a_sweeps_last_axis_of_one_is_kept() -> None:
    from core.circuits import bind_parameters

    made = convert("sampler", encoded([swept(), np.zeros((3, 1, 1)), 100]), CAPS)
    values = made.pubs[0]["parameter_values"]
    assert np.shape(values["fp_0"]) == (3, 1, 1)
    circuit = QuantumCircuit(1)
    circuit.ry(Parameter("fp_0"), 0)
    assert bind_parameters(circuit, values, "pubs.0")[1] == (3, 1)  # the gateway's shape


def test_estimator_observables_and_precision() -> None:
    circuit = QuantumCircuit(2)
    circuit.h(0)
    made = convert("estimator", encoded([circuit, [{"ZZ": 1.0}, {"XI": 0.5}], None, 0.1]),
                   CAPS)
    assert made.pubs[0]["observables"] == [{"ZZ": 1.0}, {"XI": 0.5}]
    assert made.pubs[0]["precision"] == 0.1


def test_too_many_pubs_are_refused_before_any_circuit_is_decoded() -> None:
    with pytest.raises(LimitExceeded, match="GATEWAY_MAX_PUBS"):
        convert("sampler", {"pubs": [[NOT_QPY]] * 4}, CAPS)


def test_a_long_encoded_circuit_is_refused_before_it_is_decoded() -> None:
    long = {"__type__": "QuantumCircuit", "__value__": "A" * 2001}
    with pytest.raises(LimitExceeded, match="GATEWAY_MAX_CIRCUIT_CHARS"):
        convert("sampler", {"pubs": [[long]]}, CAPS)


def test_a_decoded_circuit_over_the_qubit_limit_is_refused() -> None:
    with pytest.raises(LimitExceeded, match="GATEWAY_MAX_QUBITS"):
        convert("sampler", encoded([swept(qubits=5), np.array([0.1])]), CAPS)


def test_values_that_do_not_fit_the_parameters_are_refused() -> None:
    with pytest.raises(InvalidJobInput, match="1 parameters"):
        convert("sampler", encoded([swept(), np.array([[0.1, 0.2]])]), CAPS)


def test_other_programs_and_shapes_are_refused() -> None:
    with pytest.raises(InvalidJobInput, match="not run here"):
        convert("circuit-runner", {}, CAPS)
    with pytest.raises(InvalidJobInput, match="must be an object"):
        convert("sampler", [], CAPS)
    with pytest.raises(InvalidJobInput, match="executor program"):
        convert("executor", {"schema_version": "v9"}, CAPS)


def test_register_names_the_reader_escapes_are_kept_to_give_back() -> None:
    circuit = QuantumCircuit(QuantumRegister(1, "q"), ClassicalRegister(1, "_flags"))
    circuit.measure(0, 0)
    made = convert("sampler", encoded([circuit]), CAPS)
    assert made.meta["registers"] == {"esc__flags": "_flags"}


def stored_result() -> bytes:
    """A gateway sampler result as the store keeps it (`?format=runtime`), register escaped."""
    from qiskit.primitives import BitArray, DataBin, PrimitiveResult, SamplerPubResult

    from core.results import runtime_json

    bits = BitArray.from_counts({"1": 3, "0": 1})
    pub = SamplerPubResult(DataBin(esc__flags=bits, shape=()), {"shots": 4})
    return runtime_json(PrimitiveResult([pub], {"version": 2})).encode()


def test_results_give_the_clients_register_names_back() -> None:
    from ibm_quantum_schemas.executor.version_2_0 import QuantumProgramResultModel
    from qiskit_ibm_runtime.utils.json import RuntimeDecoder

    from app.facade.results import executor_result, renamed_result

    names = {"esc__flags": "_flags"}
    legacy = json.loads(renamed_result(stored_result(), names), cls=RuntimeDecoder)
    assert legacy[0].data["_flags"].get_counts() == {"1": 3, "0": 1}
    model = QuantumProgramResultModel.model_validate_json(
        executor_result(stored_result(), {"registers": names, "semantic_role": "sampler_v2"}))
    shots = model.data[0].results["_flags"].to_numpy()
    assert shots.shape == (4, 1) and int(shots.sum()) == 3


def test_only_a_pubs_own_types_are_decoded() -> None:
    noise = {"__type__": "NoiseModel", "__value__": {"errors": []}}
    with pytest.raises(InvalidJobInput, match="'NoiseModel'"):
        convert("sampler", {"pubs": [[NOT_QPY, noise]]}, CAPS)


def twirled_program(shots: int = 64) -> dict[str, Any]:
    """A twirled executor Sampler's params (gates and measurements), as the client encodes a
    Bell circuit for aer_simulator."""
    from qiskit import transpile
    from qiskit_aer import AerSimulator
    from qiskit_ibm_runtime.executor.executor import Executor
    from qiskit_ibm_runtime.executor_sampler import Sampler
    from qiskit_ibm_runtime.executor_sampler.prepare import prepare
    from qiskit_ibm_runtime.quantum_program.params_converters import (
        QUANTUM_PROGRAM_PARAMS_CONVERTERS,
    )

    backend = AerSimulator()
    circuit = QuantumCircuit(2)
    circuit.h(0)
    circuit.cx(0, 1)
    circuit.measure_all()
    sampler = Sampler(backend)
    sampler.options.twirling.enable_gates = True
    sampler.options.twirling.enable_measure = True
    program, options = prepare([transpile(circuit, backend)], sampler.options, shots,
                               backend=backend)
    program._semantic_role = "sampler_v2"
    converter = QUANTUM_PROGRAM_PARAMS_CONVERTERS[Executor._SCHEMA_VERSION]
    return converter.encoder(program, options).model_dump(mode="json")  # type: ignore[no-any-return]


def test_a_twirled_items_flips_are_kept_for_its_result() -> None:
    from ibm_quantum_schemas.common.tensor import CompressedTensorModel

    converted = convert("executor", twirled_program(1024), CAPS)
    (outputs,) = converted.meta["samplex_outputs"]
    (name,) = outputs
    flips = CompressedTensorModel.model_validate(outputs[name]).to_numpy()
    assert name.startswith("measurement_flips.") and flips.dtype == bool
    sets = len(converted.pubs[0]["parameter_values"]["fp_0"])
    assert flips.shape[0] == sets and flips.shape[-1] == 2  # one flip per bit per randomization


def test_samplex_outputs_over_the_limit_are_refused() -> None:
    few = dataclasses.replace(CAPS, max_samplex_outputs=10)
    with pytest.raises(LimitExceeded, match="samplex outputs") as raised:
        convert("executor", twirled_program(1024), few)  # 16 randomizations of 2 flips
    assert raised.value.extra["limit"] == "samplex_outputs"
    assert raised.value.extra["setting"] == "GATEWAY_FACADE_MAX_SAMPLEX_OUTPUTS"
    assert raised.value.extra["value"] > 10


def test_an_items_samplex_outputs_come_back_beside_its_bits() -> None:
    from ibm_quantum_schemas.common.tensor import CompressedTensorModel
    from ibm_quantum_schemas.executor.version_2_0 import QuantumProgramResultModel

    from app.facade.results import executor_result

    flips = np.array([[True], [False]])
    kept = {"measurement_flips._flags": CompressedTensorModel.from_numpy(flips).model_dump(
        mode="json")}
    model = QuantumProgramResultModel.model_validate_json(executor_result(
        stored_result(), {"registers": {"esc__flags": "_flags"}, "samplex_outputs": [kept]}))
    results = model.data[0].results
    assert list(results) == ["measurement_flips._flags", "_flags"]  # as the local runner's
    assert (results["measurement_flips._flags"].to_numpy() == flips).all()
