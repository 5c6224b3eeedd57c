"""The cost model counts what the executor primitives really run: for the same circuit and
options, `core/mitigation_cost.py` counts the shots the library's own `prepare` lays out
(its quantum program: shots per randomization x the items' sizes, as the Estimator logs them)."""

from __future__ import annotations

import warnings
from typing import Any

import pytest
from qiskit import QuantumCircuit
from qiskit.quantum_info import SparsePauliOp
from qiskit.transpiler.preset_passmanagers import generate_preset_pass_manager

from core.admission import Inspection, PubCost
from core.mitigation_cost import count, mitigated
from core.options import finalized_options


@pytest.fixture(scope="module")
def device() -> Any:
    from qiskit_ibm_runtime.fake_provider import FakeManilaV2

    return FakeManilaV2()


def ghz(measured: bool) -> QuantumCircuit:
    circuit = QuantumCircuit(3)
    circuit.h(0)
    circuit.cx(0, 1)
    circuit.cx(1, 2)
    if measured:
        circuit.measure_all()
    return circuit


def library_shots(program: str, options: dict[str, Any], device: Any, shots: int) -> int:
    """Shots of the quantum program the library's executor primitive would submit."""
    from qiskit_ibm_runtime.executor_estimator.prepare import prepare as prepare_estimator
    from qiskit_ibm_runtime.executor_sampler.prepare import prepare as prepare_sampler
    from qiskit_ibm_runtime.options_models import EstimatorOptions, SamplerOptions

    manager = generate_preset_pass_manager(optimization_level=1, target=device.target)
    isa = manager.run(ghz(program == "sampler"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if program == "sampler":
            program_, _ = prepare_sampler([(isa, None, shots)], SamplerOptions(**options),
                                          backend=device)
        else:
            observable = SparsePauliOp("ZZI").apply_layout(isa.layout)
            program_, _ = prepare_estimator([(isa, observable)], EstimatorOptions(**options),
                                            backend=device)
    return program_.shots * sum(item.size() for item in program_.items)


def one_pub(shots: int) -> PubCost:
    return PubCost(qubits=3, active_qubits=3, clbits=3 if shots else 0, operations=4,
                   parameter_sets=1, observables=1, broadcast=1, shots=shots, clifford=True,
                   per_shot=False)


@pytest.mark.parametrize(("program", "options"), [
    ("estimator", {"resilience_level": 0}),
    ("estimator", {}),  # level 1: TREX with measurement twirling
    ("estimator", {"resilience_level": 2}),  # gate twirling, ZNE at 1, 3, 5, TREX
    ("estimator", {"resilience_level": 2, "twirling": {"num_randomizations": 8}}),
    ("estimator", {"resilience_level": 1, "default_precision": 0.05}),
    ("estimator", {"resilience_level": 2, "default_shots": 1000, "resilience": {
        "zne": {"noise_factors": [1, 2, 3, 4]},
        "measure_noise_learning": {"num_randomizations": 5}}}),
    ("sampler", {}),
    ("sampler", {"twirling": {"enable_gates": True}}),
    ("sampler", {"twirling": {"enable_measure": True, "num_randomizations": 8}}),
    ("sampler", {"twirling": {"enable_gates": True, "shots_per_randomization": 100}}),
])
def test_the_shots_counted_are_the_ones_the_library_lays_out(
        device: Any, program: str, options: dict[str, Any]) -> None:
    shots = 1000 if program == "sampler" else 0
    pubs = [{"circuit": "", "shots": shots}] if shots else [{"circuit": "", "observables": "ZZI"}]
    counted = count(program, finalized_options(program, options), pubs, [one_pub(shots)])
    assert counted.total_shots == library_shots(program, options, device, shots)


def test_what_runs_is_what_the_estimates_see() -> None:
    """Level 2 runs each configuration 3 x 32 times (noise factors x randomizations), each on a
    circuit folded to 3 times its length on average, and TREX's 32 calibration circuits."""
    options = finalized_options("estimator", {"resilience_level": 2})
    inspection = Inspection([one_pub(0)], 0, 0.0)
    counted = count("estimator", options, [{"circuit": "", "observables": "ZZI"}],
                    inspection.pubs)
    assert counted.techniques == ["twirling", "trex", "zne"]
    running = mitigated(inspection, counted)
    work, calibration = running.pubs
    assert (work.parameter_sets, work.shots, work.operations) == (96, 128, 12)
    assert (calibration.parameter_sets, calibration.shots) == (32, 128)
    assert running.num_shots == 96 * 128 + 32 * 128
