"""The local runtime: runs sampler and estimator jobs on Aer, PUB by PUB.

`LocalRuntime.run` is called inside the executor process (see `executor.py`); it reports through
`emit(kind, data)`: `log` lines, one `interim` per finished PUB, then one `result`.
Simulators are built once per backend and kept: building a noisy one costs ~0.2 s, a run ~0.05 s.
"""

from __future__ import annotations

import functools
import json
import time
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
from qiskit.primitives import PrimitiveResult
from qiskit.transpiler.preset_passmanagers import generate_preset_pass_manager
from qiskit_aer import AerSimulator
from qiskit_aer.primitives import EstimatorV2, SamplerV2

from workers import catalog
from workers.circuits import Limits, build_pubs, estimate_quantum_seconds

Emit = Callable[[str, Any], None]
# submissions were validated against the configured limits already; the worker re-parses freely
UNLIMITED = Limits(10**9, 10**12, 10**6, 10**12, 1024)
SECONDS_PER_SHOT = 250e-6
DEFAULT_SHOTS = 1024  # repetition delay of IBM devices, for the quantum-seconds estimate
DEFAULT_OPTIMIZATION_LEVEL = 1


class LocalRuntime:
    def __init__(self) -> None:
        self._simulators: dict[str, AerSimulator] = {}

    def simulator(self, backend: str) -> AerSimulator:
        if backend not in self._simulators:
            catalog.backend_summary(backend)
            if backend == catalog.IDEAL:
                self._simulators[backend] = AerSimulator()
            else:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    device = catalog.fake_backend(backend)
                    self._simulators[backend] = AerSimulator.from_backend(device)
        return self._simulators[backend]

    def prewarm(self, backend: str) -> None:
        """Build what a job on `backend` with default options needs, before the first job: in
        the worker, so that every executor process it forks starts with it."""
        self.pass_manager(backend, DEFAULT_OPTIMIZATION_LEVEL, None)

    @functools.lru_cache(maxsize=128)  # noqa: B019 (one runtime per process, kept for its life)
    def pass_manager(self, backend: str, level: int, seed: int | None) -> Any:
        """Built once per backend and options: AerSimulator builds a new Target per access."""
        target = self.simulator(backend).target
        return generate_preset_pass_manager(optimization_level=level, target=target,
                                            seed_transpiler=seed)

    def run(self, job: dict[str, Any], inputs: dict[str, Any], emit: Emit) -> None:
        program, backend = job["program_id"], job["backend"]
        options = inputs.get("options") or {}
        started = time.monotonic()
        simulator = self.simulator(backend)
        pubs = build_pubs(program, inputs["pubs"], UNLIMITED.max_qubits, UNLIMITED)
        emit("log", f"parsed {len(pubs)} PUB(s) for the {program} on {backend}")
        manager = self.pass_manager(
            backend, options.get("optimization_level", DEFAULT_OPTIMIZATION_LEVEL),
            options.get("seed"))
        primitive = _primitive(program, simulator, options.get("seed"))
        pub_results, normalised, circuits = [], [], []
        for index, pub in enumerate(pubs):
            transpiled = manager.run(pub.circuit)
            circuits.append({"width": pub.circuit.num_qubits, "depth": pub.circuit.depth(),
                             "transpiled_depth": transpiled.depth(), "size": transpiled.size()})
            emit("log", f"PUB {index}: transpiled to depth {transpiled.depth()}, "
                        f"{transpiled.size()} operations")
            tic = time.monotonic()
            pub_result = primitive.run([_retarget(program, pub, transpiled)]).result()[0]
            emit("log", f"PUB {index}: ran in {time.monotonic() - tic:.3f} s")
            pub_results.append(pub_result)
            normalised.append(normalise_pub(pub_result))
            emit("interim", {"pub_index": index, "result": normalised[-1]})
        result = PrimitiveResult(pub_results, metadata={"version": 2})
        seconds = time.monotonic() - started
        emit("result", {
            "result": {"pub_results": normalised, "metadata": jsonable(result.metadata)},
            "runtime": _runtime_json(result),
            "metrics": {"circuits": circuits, "usage": {"seconds": round(seconds, 6),
                        "quantum_seconds": estimate_quantum_seconds(pubs)}},
        })


def _primitive(program: str, simulator: AerSimulator, seed: int | None) -> Any:
    if program == "sampler":
        return SamplerV2.from_backend(simulator, seed=seed)
    run_options = {"seed_simulator": seed} if seed is not None else {}
    return EstimatorV2.from_backend(simulator, options={"run_options": run_options})


def _retarget(program: str, pub: Any, transpiled: Any) -> Any:
    """The PUB with its circuit replaced by the transpiled one (observables follow the layout)."""
    if program == "sampler":
        return (transpiled, pub.parameter_values, pub.shots)
    observables = pub.observables.apply_layout(transpiled.layout)
    return (transpiled, observables, pub.parameter_values, pub.precision)


def normalise(result: PrimitiveResult) -> dict[str, Any]:
    """The API's JSON form of a primitive result (for results not built PUB by PUB)."""
    return {"pub_results": [normalise_pub(p) for p in result],
            "metadata": jsonable(result.metadata)}


def normalise_pub(pub_result: Any) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for name, value in pub_result.data.items():
        if hasattr(value, "get_counts"):  # BitArray: counts per parameter set
            shape = list(value.shape)
            counts = value.get_counts() if not shape else _counts_array(value, shape)
            data[name] = {"counts": counts, "num_shots": value.num_shots,
                          "num_bits": value.num_bits}
            if shape:
                data[name]["shape"] = shape
        else:
            data[name] = jsonable(value)
    metadata = {k: v for k, v in pub_result.metadata.items() if k != "simulator_metadata"}
    return {"data": data, "metadata": jsonable(metadata)}


def _counts_array(bits: Any, shape: list[int]) -> Any:
    flat = [bits.get_counts(loc=index) for index in np.ndindex(*shape)]
    return np.array(flat, dtype=object).reshape(shape).tolist()


def jsonable(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    return value


def _runtime_json(result: PrimitiveResult) -> str:
    from qiskit_ibm_runtime.utils.json import RuntimeEncoder

    return json.dumps(result, cls=RuntimeEncoder)
