"""Error mitigation, twirling and dynamical decoupling on the noisy replicas, as IBM runs them.

qiskit-ibm-runtime's client-side primitives (`executor_estimator.Estimator`,
`executor_sampler.Sampler`) do all of it on the client: their `prepare` turns PUBs into a quantum
program (twirled, folded for ZNE, padded for DD, with a TREX calibration item), the device runs
the program, and their decoder turns its raw bits into a primitive result (TREX rescaling, ZNE
extrapolation, twirling undone). In local mode the library runs that program on
`AerSimulator.from_backend(device)`, built anew for every job, the whole noise model handed to
Aer on every run, from a thread (`fake_provider/executor/run_quantum_program.py`).

Here the library's own `prepare` and decoder run unchanged, and the program in between runs as
`run_quantum_program` runs it (the same samples of each twirl, drawn from a generator seeded with
`simulator.seed_simulator`; angles rounded to Clifford ones the same way; one Aer run per item,
seeded likewise) on the runtime's cached simulator, each item handed only its share of the device
noise (`noise.py`). For one seed, the numbers are the library's own. The preparation is given
each program's active qubits only (`narrowing.py`).

What such a result adds to the API's form (`core/results.py`), JSON-plain:
- `metadata.mitigation`: `resilience_level` (null for the sampler), `twirling` (the finalized
  twirling options, null when off), `measure_mitigation` (TREX), `zne`, `pec`,
  `dynamical_decoupling` (their options, null when off), `executions` (circuit executions run:
  randomizations x measurement bases x parameter sets x noise factors, plus TREX's calibration),
  `shots_per_execution`, `shots` (their product).
- per estimator PUB with ZNE: `data.evs_noise_factors`, `stds_noise_factors`,
  `ensemble_stds_noise_factors` (C order over the PUB's shape, then the noise factors),
  `evs_extrapolated`, `stds_extrapolated` (shape, then extrapolators, then extrapolated noise
  factors); `metadata.resilience.zne.extrapolators` (the one chosen for each value).
- per twirled sampler PUB: `metadata.num_randomizations`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from functools import reduce
from typing import Any

import numpy as np
from qiskit.primitives import PrimitiveResult
from qiskit.primitives.containers.bindings_array import BindingsArray

from core import catalog
from core import options as core_options
from core.jsonable import plain
from core.results import finite_floats, normalise_pub
from workers.runtimes import narrowing
from workers.runtimes.noise import DeviceNoise, PreparedNoise

# what runs one sampler PUB (circuit, parameter values, shots) with a noise model, seeded
PubRunner = Callable[[tuple[Any, ...], PreparedNoise | None, int | None], Any]


def library_options(program: str, options: dict[str, Any]) -> Any:
    """The executor primitive's options for the job's `options` (`core.options`); the gateway's
    `seed` seeds the simulator unless `simulator.seed_simulator` does."""
    chosen = core_options.library_options(program, options)
    if chosen.simulator.seed_simulator is None and options.get("seed") is not None:
        chosen.simulator.seed_simulator = options["seed"]
    return chosen


def wanted(program: str, backend: str, options: dict[str, Any], pubs: list[Any]) -> bool:
    """Whether a job runs the executor primitive's way. Never on the ideal simulator. On a noisy
    replica, a sampler with twirling or DD; an estimator always, at every resilience level (its
    default, 1, is TREX): Aer's own estimator computes a value of the noisy state that no
    device measures (without readout errors), so even level 0 is sampled, as on the device.
    Except exact values (precision 0 on every PUB, no default precision or shots), which only a
    simulator gives and the library refuses: they stay Aer's, unless mitigation is asked for."""
    if backend == catalog.IDEAL:
        return False
    if program == "sampler":
        if not {"twirling", "dynamical_decoupling"} & options.keys():
            return False  # the fast path, without building the options
        finalized = core_options.finalize(program, library_options(program, options))
        return bool(finalized.twirling.enable_gates or finalized.twirling.enable_measure
                    or finalized.dynamical_decoupling.enable)
    exact = (options.get("default_precision") is None and options.get("default_shots") is None
             and all(pub.precision == 0 for pub in pubs))
    asked = (bool(options.get("resilience_level")) or
             bool({"resilience", "twirling", "dynamical_decoupling"} & options.keys()))
    return not exact or asked


def _summary(finalized: Any) -> dict[str, Any]:
    """Which mitigation the finalized options run, JSON-plain."""
    twirling = finalized.twirling
    resilience: Any = getattr(finalized, "resilience", None)
    dd = finalized.dynamical_decoupling
    return plain({
        "resilience_level": getattr(finalized, "resilience_level", None),
        "twirling": twirling.model_dump() if twirling.enable_gates or twirling.enable_measure
        else None,
        "measure_mitigation": bool(resilience and resilience.measure_mitigation),
        "zne": resilience.zne.model_dump() if resilience and resilience.zne_mitigation
        else None,
        "pec": resilience.pec.model_dump() if resilience and resilience.pec_mitigation
        else None,
        "dynamical_decoupling": dd.model_dump() if dd.enable else None,
    })


@dataclasses.dataclass(frozen=True)
class Device:
    """What a run on one replica needs: its fake backend (DD reads its timing), its noise."""
    backend: Any
    noise: DeviceNoise | None


def run(program: str, pubs: list[Any], options: dict[str, Any], device: Device,
        run_pub: PubRunner) -> tuple[PrimitiveResult, dict[str, Any]]:
    """The executor primitive's result for `pubs` (ISA circuits, observables on their layout),
    and which mitigation ran, with what it executed."""
    from qiskit_ibm_runtime.results.quantum_program import QuantumProgramResult

    chosen = library_options(program, options)
    if chosen.dynamical_decoupling.enable:  # DD times each qubit as the device's own: all kept
        narrow = narrowing.Narrowed(pubs, list(range(pubs[0][0].num_qubits)),
                                    pubs[0][0].num_qubits)
    else:
        narrow = narrowing.narrowed(program, pubs)
    quantum_program, executor_options = _prepare(program, narrow.pubs, chosen, device.backend)
    simulator_options = executor_options.simulator
    seed = simulator_options.seed_simulator
    rng = np.random.default_rng(seed)
    items = [_run_item(item, narrow, quantum_program.shots, seed, rng,
                       simulator_options.angle_decimals, device.noise, run_pub)
             for item in quantum_program.items]
    raw = QuantumProgramResult(data=items, metadata=None,
                               passthrough_data=quantum_program.passthrough_data)
    raw._semantic_role = quantum_program._semantic_role
    mitigation = _summary(core_options.finalize(program, chosen))
    mitigation["executions"] = sum(_sets(item) for item in quantum_program.items)
    mitigation["shots_per_execution"] = quantum_program.shots
    mitigation["shots"] = mitigation["executions"] * quantum_program.shots
    result = _decoded(raw)
    # the executor's metadata is a dataclass RuntimeEncoder cannot write (`?format=runtime`)
    result.metadata["executor"] = plain(result.metadata.get("executor"))
    return result, mitigation


def _prepare(program: str, pubs: list[Any], options: Any, backend: Any) -> tuple[Any, Any]:
    """The library's own preparation, tagged as in its local mode (tags place injected noise)."""
    if program == "estimator":
        from qiskit_ibm_runtime.executor_estimator.prepare import prepare
        role = "estimator_v2"
    else:
        from qiskit_ibm_runtime.executor_sampler.prepare import prepare  # type: ignore[assignment]
        role = "sampler_v2"
    quantum_program, executor_options = prepare(pubs, options, add_tags=True, backend=backend)
    quantum_program._semantic_role = role
    return quantum_program, executor_options


def _sets(item: Any) -> int:
    """The parameter sets (randomizations x sweep) one item of the program runs."""
    shape = getattr(item, "shape", None)
    if shape is not None:
        return int(np.prod(shape, dtype=np.int64))
    arguments = item.circuit_arguments
    return 1 if arguments is None else int(np.prod(arguments.shape[:-1], dtype=np.int64))


def _run_item(item: Any, narrow: narrowing.Narrowed, shots: int, seed: int | None,
              rng: np.random.Generator, decimals: int, noise: DeviceNoise | None,
              run_pub: PubRunner) -> Any:
    """One item as `run_quantum_program` runs it: a samplex item's twirls sampled first (their
    own outputs, such as measurement flips, kept beside the bits), every angle rounded to a
    multiple of π/2 where it is one to `decimals` places (Clifford circuits stay Clifford)."""
    from qiskit_ibm_runtime.fake_provider.executor.broadcast_sample import broadcast_sample
    from qiskit_ibm_runtime.results.quantum_program import QuantumProgramItemResult

    samples: dict[str, np.ndarray] = {}
    if hasattr(item, "samplex"):
        samples = broadcast_sample(item.samplex, item.samplex_arguments, item.shape, rng)
        values = samples.pop("parameter_values")
    else:
        values = item.circuit_arguments
    circuit = item.circuit
    bindings = None
    if values is not None:
        rounded = np.round(values / (np.pi / 2), decimals=decimals) * (np.pi / 2)
        bindings = BindingsArray({tuple(circuit.parameters): rounded})
    circuit = narrowing.widened(circuit, narrow)  # on the device's qubits, for its noise
    prepared = noise.prepare(circuit) if noise is not None else None
    if prepared is not None:
        circuit = prepared.circuit
    result = run_pub((circuit, bindings, shots), prepared.noise if prepared else None, seed)
    bits = {name: array.to_bool_array(order="little") for name, array in result.data.items()}
    return QuantumProgramItemResult(result={**samples, **bits}, metadata=result.metadata)


def _decoded(raw: Any) -> PrimitiveResult:
    """The library's decoders over the raw result, as its local jobs' `result()` chains them."""
    from qiskit_ibm_runtime.decoders.defaults import DEFAULT_DECODERS

    return reduce(lambda result, decoder: decoder.decode(result)
                  if decoder.is_applicable(result) else result,
                  DEFAULT_DECODERS["executor"], raw)


ZNE_DATA = ("evs_noise_factors", "stds_noise_factors", "ensemble_stds_noise_factors",
            "evs_extrapolated", "stds_extrapolated")


def normalised(result: PrimitiveResult) -> list[dict[str, Any]]:
    """Each PUB in the API's JSON form (`normalise_pub`), with what the library adds: ZNE's
    values at each noise factor and extrapolated (flat, C order over the PUB's shape then the
    factors), the extrapolator chosen for each value, the randomizations a sampler PUB ran."""
    pubs = []
    for pub_result in result:
        pub = normalise_pub(pub_result, result.metadata)
        data, metadata = pub_result.data, pub_result.metadata
        for name in ZNE_DATA:
            if name in data:
                pub["data"][name] = finite_floats(data[name])
        zne = (metadata.get("resilience") or {}).get("zne")
        if zne is not None:
            pub["metadata"]["resilience"] = {"zne": {
                "extrapolators": [str(e) for e in np.ravel(zne["extrapolators"])]}}
        if "num_randomizations" in metadata:
            pub["metadata"]["num_randomizations"] = int(metadata["num_randomizations"])
        pubs.append(pub)
    return pubs
