"""Noisy local jobs give what `AerSimulator.from_backend(device)` gives, for the same seed.

The gateway hands Aer a program's share of the device noise, prepared once (workers/runtimes/
noise.py), instead of the device's whole noise model. Each job here runs through
`LocalRuntime.run` as in a worker, and the same transpiled program runs on the primitives of
the very `from_backend` simulator the runtime holds, with its whole noise model; the normalised
results must be equal: counts, and estimator values to the last bit. Exact equality is what
Aer's seeding allows here (the simulation method, and where random numbers are drawn, stay the
same); enough shots that a missing or wrong error (a readout error, a gate's relaxation, a
delay's) moves some of them.

Every device of the catalog gets a Bell pair (one qubit on armonk): all 68, every gate set. The
53-156 qubit ones take most of the time (~3-8 s of CPU each, `from_backend` building their
noise model, once: the reference simulator shares it).
Other programs (GHZ on density matrix and on state vector, a parameter sweep, mid-circuit
measurement with feed-forward and reset, a delay, circuits with no noisy gate, the estimator)
run on a few devices each.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
from qiskit import QuantumCircuit
from qiskit.primitives.containers.sampler_pub import SamplerPub
from qiskit_aer import AerSimulator
from qiskit_aer.noise import NoiseModel, ReadoutError, amplitude_damping_error, depolarizing_error
from qiskit_aer.primitives import EstimatorV2, SamplerV2

from core import catalog
from core.circuits import build_pubs, parse_circuit
from core.results import normalise_pub
from workers.runtimes import local, sampling
from workers.runtimes.local import UNLIMITED, LocalRuntime
from workers.runtimes.noise import DeviceNoise

HEAD = 'OPENQASM 3.0; include "stdgates.inc"; '
BELL = HEAD + "qubit[2] q; bit[2] c; h q[0]; cx q[0], q[1]; c = measure q;"
ONE_QUBIT = HEAD + "qubit[1] q; bit[1] c; h q[0]; c = measure q;"
GHZ_5 = HEAD + ("qubit[5] q; bit[5] c; h q[0]; cx q[0], q[1]; cx q[1], q[2]; cx q[2], q[3]; "
                "cx q[3], q[4]; c = measure q;")
SWEEP = HEAD + ("input float theta; input float phi; qubit[2] q; bit[2] c; ry(theta) q[0]; "
                "cx q[0], q[1]; rz(phi) q[1]; sx q[1]; c = measure q;")
MID_CIRCUIT = HEAD + ("qubit[3] q; bit[3] c; h q[0]; c[0] = measure q[0]; "
                      "if (c[0]) { x q[1]; } reset q[0]; h q[0]; cx q[0], q[2]; "
                      "c[1] = measure q[1]; c[2] = measure q[2];")
MID_CIRCUIT_PLAIN = HEAD + ("qubit[2] q; bit[3] c; h q[0]; c[0] = measure q[0]; reset q[0]; "
                            "h q[0]; cx q[0], q[1]; c[1] = measure q[0]; c[2] = measure q[1];")
DELAY = HEAD + "qubit[2] q; bit[2] c; x q[0]; delay[8us] q[0]; h q[1]; c = measure q;"
TWO_REGISTERS = HEAD + ("qubit[3] q; bit[1] a; bit[2] b; h q[0]; cx q[0], q[1]; x q[2]; "
                        "a[0] = measure q[0]; b[0] = measure q[1]; b[1] = measure q[2];")
NO_NOISY_GATE = HEAD + "qubit[2] q; bit[2] c; c = measure q;"
ONLY_VIRTUAL = HEAD + "qubit[1] q; bit[1] c; rz(0.3) q[0]; c[0] = measure q[0];"
SEED = 11
SHOTS = 20_000  # on the density matrix, more shots cost almost nothing

DEVICES = [name for name in catalog.local_backends() if name != catalog.IDEAL]


@pytest.fixture(scope="module")
def runtime() -> Iterator[LocalRuntime]:
    runtime = LocalRuntime()
    yield runtime
    _forget(runtime)


def _forget(runtime: LocalRuntime) -> None:
    """Drop the simulators (a large device's noise model holds tens of MB)."""
    runtime._simulators.clear()
    runtime._noise.clear()
    runtime._compiled.clear()
    runtime._compiled_operations = 0
    LocalRuntime.primitive.cache_clear()
    LocalRuntime.pass_manager.cache_clear()


def gateway(runtime: LocalRuntime, program: str, backend: str, pubs: list[dict[str, Any]],
            seed: int = SEED) -> list[dict[str, Any]]:
    """The normalised PUB results of a job run as a worker runs it."""
    said: list[tuple[str, Any]] = []
    report: Any = lambda kind, data: said.append((kind, data))  # noqa: E731
    report.flush = lambda: None
    job = {"program_id": program, "backend": backend}
    runtime.run(job, {"pubs": pubs, "options": {"seed": seed}}, report)
    results = [data for kind, data in said if kind == "result"]
    assert results, said
    return list(results[0]["result"]["pub_results"])


def library(runtime: LocalRuntime, program: str, backend: str, pubs: list[dict[str, Any]],
            seed: int = SEED) -> list[dict[str, Any]]:
    """The same, with the primitives of `AerSimulator.from_backend(device)` as a user makes it
    (its whole noise model, its default options), PUB by PUB as the gateway runs them (Aer
    seeds the n-th circuit of one run with seed + n). The noise model is the one `from_backend`
    made for the runtime: making it again costs seconds on the large devices."""
    model = runtime.simulator(backend).options.noise_model
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        simulator = AerSimulator.from_backend(catalog.fake_backend(backend), noise_model=model)
    assert simulator.options.noise_model is not None
    if program == "sampler":
        primitive: Any = SamplerV2.from_backend(simulator, seed=seed)
    else:
        primitive = EstimatorV2.from_backend(
            simulator, options={"run_options": {"seed_simulator": seed}})
    built = build_pubs(program, pubs, UNLIMITED.max_qubits, UNLIMITED)
    manager = runtime.pass_manager(backend, local.DEFAULT_OPTIMIZATION_LEVEL, seed)
    like = [local._retarget(program, pub, manager.run(pub.circuit)) for pub in built]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return [normalise_pub(primitive.run([pub]).result()[0]) for pub in like]


def assert_same(runtime: LocalRuntime, program: str, backend: str,
                pubs: list[dict[str, Any]], seed: int = SEED) -> None:
    assert gateway(runtime, program, backend, pubs, seed) == library(runtime, program, backend,
                                                                     pubs, seed)


@pytest.mark.parametrize("backend", DEVICES)
def test_every_device_counts_as_from_backend(runtime: LocalRuntime, backend: str) -> None:
    circuit = ONE_QUBIT if catalog.backend_summary(backend)["num_qubits"] == 1 else BELL
    try:
        assert_same(runtime, "sampler", backend, [{"circuit": circuit, "shots": SHOTS}])
    finally:
        _forget(runtime)


@pytest.mark.parametrize(("backend", "circuit", "shots"), [
    pytest.param("fake_manila", GHZ_5, SHOTS, id="ghz5-density-matrix"),
    # shots ≤ 2^5: state vector, noise drawn shot by shot
    pytest.param("fake_kolkata", GHZ_5, 32, id="ghz5-state-vector"),
    # no sampling from the end state: shot by shot too
    pytest.param("fake_manila", MID_CIRCUIT, 1000, id="mid-circuit-if-reset"),
    pytest.param("fake_guadalupe", MID_CIRCUIT_PLAIN, 1000, id="mid-circuit-reset"),
    pytest.param("fake_manila", DELAY, SHOTS, id="delay-manila"),
    pytest.param("fake_nairobi", DELAY, SHOTS, id="delay-nairobi"),
    pytest.param("fake_manila", TWO_REGISTERS, SHOTS, id="two-registers"),
    pytest.param("fake_manila", NO_NOISY_GATE, SHOTS, id="measure-only"),
    pytest.param("fake_lagos", ONLY_VIRTUAL, SHOTS, id="rz-only"),
])
def test_programs_count_as_from_backend(runtime: LocalRuntime, backend: str, circuit: str,
                                        shots: int) -> None:
    assert_same(runtime, "sampler", backend, [{"circuit": circuit, "shots": shots}])


def test_a_parameter_sweep_counts_as_from_backend(runtime: LocalRuntime) -> None:
    values = {"theta": [0.4 * i for i in range(6)], "phi": [0.9 * i for i in range(6)]}
    pubs = [{"circuit": SWEEP, "shots": 2000, "parameter_values": values},
            {"circuit": SWEEP, "shots": 2000, "parameter_values": {"theta": [2.0], "phi": [1]}}]
    assert_same(runtime, "sampler", "fake_manila", pubs)


@pytest.mark.parametrize(("backend", "precision"), [("fake_manila", 0.0), ("fake_kolkata", 0.0)])
def test_the_estimator_values_are_from_backends(runtime: LocalRuntime, backend: str,
                                               precision: float) -> None:
    """Exact values (precision 0) are the one estimator job a replica runs on Aer's estimator;
    any other is sampled as the executor primitives do it (tests/test_mitigation.py)."""
    unmeasured = BELL.replace(" c = measure q;", "")
    pubs = [{"circuit": unmeasured, "observables": ["ZZ", "XX", "IZ", {"ZI": 0.5, "YY": -1}],
             "precision": precision},
            {"circuit": SWEEP.replace(" c = measure q;", ""), "observables": "ZZ",
             "precision": precision,
             "parameter_values": {"theta": [0.0, 1.0, 2.0], "phi": [0.5, 0.5, 0.5]}}]
    assert_same(runtime, "estimator", backend, pubs)


def test_a_run_does_not_serialise_the_whole_device_noise(runtime: LocalRuntime,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    whole = runtime.simulator("fake_manila").options.noise_model

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("the whole noise model was serialised for a run")

    monkeypatch.setattr(whole, "to_dict", refuse)
    for circuit in (BELL, DELAY):
        gateway(runtime, "sampler", "fake_manila", [{"circuit": circuit, "shots": 100}])
    compiled = runtime._compiled[(BELL, "fake_manila", local.DEFAULT_OPTIMIZATION_LEVEL, SEED)]
    assert compiled.noise is not None and len(compiled.noise.errors) < 10


def test_a_programs_own_noise_counts_in_the_cache_bound(runtime: LocalRuntime) -> None:
    gateway(runtime, "sampler", "fake_manila", [{"circuit": DELAY, "shots": 10}], seed=5)
    compiled = runtime._compiled[(DELAY, "fake_manila", local.DEFAULT_OPTIMIZATION_LEVEL, 5)]
    assert compiled.noise is not None
    assert compiled.weight >= compiled.metrics["size"] + local.OWN_ERROR_OPERATIONS


def test_the_shots_come_in_an_order_of_their_own_seeded(runtime: LocalRuntime) -> None:
    """Rebuilt from counts, the shots are shuffled: not grouped by outcome, the same per seed."""
    pub = SamplerPub.coerce((parse_circuit(BELL, "circuit"), None, 4000))
    simulator = runtime.simulator(catalog.IDEAL)

    def shots(seed: int) -> np.ndarray:
        return sampling.run_sampler_pub(simulator, pub, seed, None).data.c.array[:, 0]

    first = shots(5)
    assert np.array_equal(first, shots(5)) and not np.array_equal(first, shots(6))
    assert set(first[:2000].tolist()) == {0, 3}
    assert np.count_nonzero(first[1:] != first[:-1]) > 1500  # ~2000 for independent shots


def test_witnesses_keep_the_method_the_whole_model_chooses() -> None:
    """A Clifford circuit whose own errors are all Pauli, measured mid-circuit (so not on the
    density matrix): alone they would let Aer take the stabilizer method; the device's
    amplitude damping elsewhere rules it out."""
    model = NoiseModel()
    model.add_quantum_error(depolarizing_error(0.05, 1), "sx", [0])
    model.add_quantum_error(amplitude_damping_error(0.05), "sx", [1])
    model.add_readout_error(ReadoutError([[0.97, 0.03], [0.05, 0.95]]), [0])
    circuit = QuantumCircuit(2, 2)
    circuit.sx(0)
    circuit.measure(0, 0)
    circuit.sx(0)
    circuit.measure(0, 1)
    simulator = AerSimulator(noise_model=model)
    prepared = DeviceNoise(model).prepare(circuit)
    whole = simulator.run(circuit, shots=4000, seed_simulator=3).result()
    mine = simulator.run(prepared.circuit, shots=4000, seed_simulator=3,
                         noise_model=prepared.noise).result()
    assert mine.results[0].metadata["method"] == whole.results[0].metadata["method"]
    assert mine.get_counts() == whole.get_counts()
