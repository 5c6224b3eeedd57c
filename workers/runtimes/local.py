"""The local runtime: runs sampler and estimator jobs on Aer, PUB by PUB.

`LocalRuntime.run` is called inside the executor process (see `executor.py`); it reports through
`report(kind, data)`: `log` lines, one `interim` per finished PUB, then one `result`, and calls
`report.flush()` before work that may take long, so that what it said so far is seen meanwhile.
Simulators are built once per backend and kept: building a noisy one costs ~0.2 s, a run ~0.05 s.
So are transpiled programs, per backend and options: a client that sends the same program again
(new parameter values, more shots, another run) gets the same layout, without transpiling again.
With each one goes the device noise that program can meet, prepared once (see `noise.py`): the
simulator is handed that, not the device's whole noise model, on every run.
On a noisy replica, a job whose options ask for what IBM's executor primitives do (an
estimator's resilience level, 1 by default; twirling; dynamical decoupling) runs their
preparation and post-processing around this runtime's simulator instead (`mitigation.py`).
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import math
import time
import warnings
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from qiskit import QuantumCircuit
from qiskit.circuit import (
    BreakLoopOp,
    ContinueLoopOp,
    ForLoopOp,
    IfElseOp,
    SwitchCaseOp,
    WhileLoopOp,
)
from qiskit.circuit.library.standard_gates import get_standard_gate_name_mapping
from qiskit.primitives import PrimitiveResult
from qiskit.primitives.containers.estimator_pub import EstimatorPub
from qiskit.primitives.containers.sampler_pub import SamplerPub
from qiskit.transpiler import Target
from qiskit.transpiler.preset_passmanagers import generate_preset_pass_manager
from qiskit_aer import AerSimulator
from qiskit_aer.primitives import EstimatorV2, SamplerV2

from core import catalog
from core.circuits import PARSED_CACHE_MAX_CHARS, Limits, build_pubs, estimate_quantum_seconds
from core.results import RESULT_METADATA, normalise_pub, packed_samples, runtime_json
from workers.runtimes import mitigation, sampling
from workers.runtimes.noise import DeviceNoise, PreparedNoise


class Reporter(Protocol):
    def __call__(self, kind: str, data: Any) -> None: ...

    def flush(self) -> None: ...


# submissions were validated against the configured limits already; the worker re-parses freely
UNLIMITED = Limits(10**9, 10**12, 10**6, 10**12, 1024)
SECONDS_PER_SHOT = 250e-6
DEFAULT_SHOTS = 1024  # repetition delay of IBM devices, for the quantum-seconds estimate
DEFAULT_OPTIMIZATION_LEVEL = 1
COMPILED_CACHE_SIZE = 256  # transpiled programs remembered per executor process, and at most
COMPILED_CACHE_OPERATIONS = 1_000_000  # operations among them all (~60 bytes each)
OWN_ERROR_OPERATIONS = 20  # what a program's own noise error (a delay's relaxation) weighs


class LocalRuntime:
    def __init__(self, memory_bytes: int | None = None, timed: bool = False,
                 threads: int | None = None) -> None:
        self.timed = timed  # report the `transpile` and `simulate` spans (when tracing)
        # the parameter sets of a sweep run side by side, one thread each, rather than one
        # after another with every thread on each: a small circuit's state is too small to
        # share out (the counts are the same either way)
        self._aer_options: dict[str, Any] = {"max_parallel_experiments": 0}
        # Aer refuses, with the numbers, a simulation that needs more (rather than failing to
        # allocate under the executor's RLIMIT_AS)
        if memory_bytes:
            self._aer_options["max_memory_mb"] = memory_bytes // 2**20
        if threads:  # the worker's share of the host's cores (GATEWAY_WORKER_THREADS)
            self._aer_options["max_parallel_threads"] = threads
        self._simulators: dict[str, AerSimulator] = {}
        self._noise: dict[str, DeviceNoise] = {}  # of the noisy backends' simulators
        self._compiled: OrderedDict[tuple[str, str, int, int | None], Compiled] = OrderedDict()
        self._compiled_operations = 0

    def simulator(self, backend: str) -> AerSimulator:
        if backend not in self._simulators:
            catalog.backend_summary(backend)
            if backend == catalog.IDEAL:
                self._simulators[backend] = AerSimulator(**self._aer_options)
            else:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    device = catalog.fake_backend(backend)
                    simulator = AerSimulator.from_backend(device, **self._aer_options)
                self._simulators[backend] = simulator
                if simulator.options.noise_model is not None:
                    self._noise[backend] = DeviceNoise(simulator.options.noise_model)
        return self._simulators[backend]

    def prewarm(self, backend: str) -> None:
        """Build what a job on `backend` with default options needs, before the first job: in
        the worker, so that every executor process it forks starts with it."""
        self.pass_manager(backend, DEFAULT_OPTIMIZATION_LEVEL, None)

    @functools.lru_cache(maxsize=128)  # noqa: B019 (one runtime per process, kept for its life)
    def primitive(self, program: str, backend: str, seed: int | None) -> Any:
        """The sampler or estimator on `backend`'s simulator (they keep no state between runs)."""
        simulator = self.simulator(backend)
        if program == "sampler":
            return SamplerV2.from_backend(simulator, seed=seed)
        run_options = {"seed_simulator": seed} if seed is not None else {}
        return EstimatorV2.from_backend(simulator, options={"run_options": run_options})

    @functools.lru_cache(maxsize=128)  # noqa: B019 (one runtime per process, kept for its life)
    def pass_manager(self, backend: str, level: int, seed: int | None) -> Any:
        """Built once per backend and options: AerSimulator builds a new Target per access."""
        target = self.simulator(backend).target
        if backend == catalog.IDEAL:
            target = _any_width(target)
        return generate_preset_pass_manager(optimization_level=level, target=target,
                                            seed_transpiler=seed)

    def compiled(self, text: str, circuit: QuantumCircuit, backend: str, level: int,
                 seed: int | None, before_work: Callable[[], None] = lambda: None) -> Compiled:
        """`circuit` (the parsed `text`) transpiled for `backend`, once per program and options:
        clients send the same program again and again, with new parameter values or not.
        `before_work` is called when it has to transpile."""
        key = (text, backend, level, seed)
        found = self._compiled.get(key)
        if found is not None:
            self._compiled.move_to_end(key)
            return found
        before_work()
        transpiled = self.pass_manager(backend, level, seed).run(circuit)
        metrics = {"width": circuit.num_qubits, "depth": circuit.depth(),
                   "transpiled_depth": transpiled.depth(), "size": transpiled.size()}
        device_noise = self._noise.get(backend)
        if device_noise is None:
            found = Compiled(transpiled, metrics, None, metrics["size"], transpiled)
        else:
            prepared = device_noise.prepare(transpiled)
            weight = (metrics["size"] + len(prepared.noise.errors)
                      + prepared.own_errors * OWN_ERROR_OPERATIONS)
            if prepared.circuit is not transpiled:  # delays relaxed: a second circuit is kept
                weight += metrics["size"]
            found = Compiled(prepared.circuit, metrics, prepared.noise, weight, transpiled)
        if len(text) <= PARSED_CACHE_MAX_CHARS:
            self._remember(key, found)
        return found

    def _remember(self, key: tuple[str, str, int, int | None], compiled: Compiled) -> None:
        """Keep `compiled`, forgetting the least recently used beyond the cache's bounds."""
        if compiled.weight > COMPILED_CACHE_OPERATIONS:
            return
        self._compiled[key] = compiled
        self._compiled_operations += compiled.weight
        while (len(self._compiled) > COMPILED_CACHE_SIZE
               or self._compiled_operations > COMPILED_CACHE_OPERATIONS):
            _, dropped = self._compiled.popitem(last=False)
            self._compiled_operations -= dropped.weight

    def run(self, job: dict[str, Any], inputs: dict[str, Any], report: Reporter) -> None:
        program, backend = job["program_id"], job["backend"]
        options = inputs.get("options") or {}
        started = time.monotonic()
        limits = dataclasses.replace(UNLIMITED, default_shots=options.get("default_shots")
                                     or UNLIMITED.default_shots)
        pubs = build_pubs(program, inputs["pubs"], UNLIMITED.max_qubits, limits)
        report("log", f"parsed {len(pubs)} PUB(s) for the {program} on {backend}")
        if mitigation.wanted(program, backend, options, pubs):
            result, normalised, circuits, metadata = self._run_mitigated(
                program, backend, pubs, inputs, options, report)
        else:
            pub_results, normalised, circuits = self._run_plain(program, backend, pubs, inputs,
                                                                options, report)
            metadata = dict(RESULT_METADATA)
            result = PrimitiveResult(pub_results, metadata=dict(RESULT_METADATA))
        seconds = time.monotonic() - started
        report("result", {
            "result": {"pub_results": normalised, "metadata": metadata},
            "runtime": runtime_json(result),
            "samples": packed_samples(result) if program == "sampler" else None,
            "metrics": {"circuits": circuits, "usage": {"seconds": round(seconds, 6),
                        "quantum_seconds": estimate_quantum_seconds(pubs)}},
        })

    def _run_plain(self, program: str, backend: str, pubs: list[Any], inputs: dict[str, Any],
                   options: dict[str, Any], report: Reporter
                   ) -> tuple[list[Any], list[dict[str, Any]], list[dict[str, int]]]:
        """PUB by PUB on the primitives of the backend's simulator, each reported when done."""
        primitive = self.primitive(program, backend, _simulator_seed(options))
        precision = _default_precision(options)
        pub_results, normalised, circuits = [], [], []
        for index, pub in enumerate(pubs):
            compiled = self._compile(backend, pubs, index, inputs, options, report)
            circuits.append(compiled.metrics)
            tic = time.monotonic()
            with self._span(report, "simulate", index):
                retargeted = _retarget(program, pub, compiled.circuit.copy(), precision)
                pub_result = _run_now(primitive, program, retargeted, compiled.noise)
            report("log", f"PUB {index}: ran in {time.monotonic() - tic:.3f} s")
            pub_results.append(pub_result)
            normalised.append(normalise_pub(pub_result))
            report("interim", {"pub_index": index, "result": normalised[-1]})
        return pub_results, normalised, circuits

    def _run_mitigated(self, program: str, backend: str, pubs: list[Any],
                       inputs: dict[str, Any], options: dict[str, Any], report: Reporter
                       ) -> tuple[Any, list[dict[str, Any]], list[dict[str, int]],
                                  dict[str, Any]]:
        """All PUBs at once through the executor primitive's preparation and post-processing
        (TREX calibrates on one item for them all), run on this runtime's simulator."""
        compiled = [self._compile(backend, pubs, index, inputs, options, report)
                    for index in range(len(pubs))]
        isa = [_retarget(program, pub, c.transpiled, None) for pub, c in zip(pubs, compiled,
                                                                             strict=True)]
        device = mitigation.Device(catalog.fake_backend(backend), self._noise.get(backend))

        def run_pub(pub_like: tuple[Any, ...], noise: PreparedNoise | None,
                    seed: int | None) -> Any:
            return _run_now(self.primitive("sampler", backend, seed), "sampler", pub_like, noise)

        tic = time.monotonic()
        with self._span(report, "simulate", 0):
            result, ran = mitigation.run(program, isa, options, device, run_pub)
        report("log", f"mitigation ran {ran['executions']} circuit execution(s), "
                      f"{ran['shots']} shots, in {time.monotonic() - tic:.3f} s")
        normalised = mitigation.normalised(result)
        for index, pub in enumerate(normalised):
            report("interim", {"pub_index": index, "result": pub})
        return result, normalised, [c.metrics for c in compiled], {**RESULT_METADATA,
                                                                   "mitigation": ran}

    def _compile(self, backend: str, pubs: list[Any], index: int, inputs: dict[str, Any],
                 options: dict[str, Any], report: Reporter) -> Compiled:
        level = options.get("optimization_level", DEFAULT_OPTIMIZATION_LEVEL)
        with self._span(report, "transpile", index):
            compiled = self.compiled(inputs["pubs"][index]["circuit"], pubs[index].circuit,
                                     backend, level, options.get("seed"), report.flush)
        report("log", f"PUB {index}: transpiled to depth {compiled.metrics['transpiled_depth']}"
                    f", {compiled.metrics['size']} operations")
        report.flush()
        return compiled

    def _span(self, report: Reporter, name: str, pub: int) -> contextlib.AbstractContextManager:
        return Timed(report, name, pub) if self.timed else contextlib.nullcontext()


class Timed:
    """Times a step of the run and reports it as a span for the worker to record (the
    simulation process exports nothing itself)."""

    def __init__(self, report: Reporter, name: str, pub: int) -> None:
        self.report, self.name, self.pub, self.start = report, name, pub, 0

    def __enter__(self) -> None:
        self.start = time.time_ns()

    def __exit__(self, *_exc: object) -> None:
        self.report("span", {"name": self.name, "start": self.start, "end": time.time_ns(),
                             "attributes": {"pub": self.pub}})


CONTROL_FLOW = {"if_else": IfElseOp, "for_loop": ForLoopOp, "while_loop": WhileLoopOp,
                "switch_case": SwitchCaseOp, "break_loop": BreakLoopOp,
                "continue_loop": ContinueLoopOp}


def _any_width(target: Target) -> Target:
    """The ideal simulator's target without its width: Aer's is what a state vector fits in
    memory, but a Clifford circuit of 50 qubits runs on the stabilizer method; the gateway's
    cost model decides what fits (`core/admission.py`)."""
    standard = get_standard_gate_name_mapping()
    wide = Target.from_configuration(
        basis_gates=[name for name in target.operation_names if name in standard],
        num_qubits=None)
    for name, operation in CONTROL_FLOW.items():
        wide.add_instruction(operation, name=name)
    return wide


@dataclass(frozen=True)
class Compiled:
    circuit: QuantumCircuit  # transpiled (and noise markers placed): never run it as it is, copy it
    metrics: dict[str, int]  # width and depth before, depth and size after
    noise: PreparedNoise | None  # the device noise this program can meet; None: ideal
    weight: int  # what it counts for in the cache's bound on operations
    transpiled: QuantumCircuit  # as the pass manager made it (what mitigation prepares from)


def _run_now(primitive: Any, program: str, pub_like: tuple[Any, ...],
             noise: PreparedNoise | None) -> Any:
    """`primitive.run([pub_like]).result()[0]`, without the thread `run` starts only to hand back
    a job object: the executor is a process of its own, waiting for the result anyway, and that
    thread is a good part of a small job's time. `_validate_pubs` and `_run` are what `run` calls in
    qiskit-aer's V2 primitives (the version is pinned; tests run both primitives). Both pass
    their `run_options` on to the simulator's `run`, where `noise_model` stands in for the
    simulator's own for that run. A sampler PUB of up to 63 bits is sampled from counts
    (`sampling.py`)."""
    if program == "sampler":
        pub: Any = SamplerPub.coerce(pub_like, primitive.default_shots)
        if sampling.fits(pub):
            return sampling.run_sampler_pub(primitive._backend, pub, primitive.seed, noise)
    else:
        pub = EstimatorPub.coerce(pub_like, primitive.options.default_precision)
    primitive._validate_pubs([pub])
    run_options = primitive.options.run_options
    if noise is not None:
        run_options["noise_model"] = noise
    try:
        return primitive._run([pub])[0]
    finally:
        run_options.pop("noise_model", None)


def _retarget(program: str, pub: Any, transpiled: Any, precision: float | None = None) -> Any:
    """The PUB with its circuit replaced by the transpiled one (observables follow the layout),
    an estimator's without a precision of its own given `precision` if any."""
    if program == "sampler":
        return (transpiled, pub.parameter_values, pub.shots)
    observables = pub.observables.apply_layout(transpiled.layout)
    own = pub.precision if pub.precision is not None else precision
    return (transpiled, observables, pub.parameter_values, own)


def _simulator_seed(options: dict[str, Any]) -> int | None:
    """`simulator.seed_simulator` if set, else the gateway's `seed` (which seeds both)."""
    chosen = (options.get("simulator") or {}).get("seed_simulator")
    return chosen if chosen is not None else options.get("seed")


def _default_precision(options: dict[str, Any]) -> float | None:
    """The precision of estimator PUBs without one: `default_precision`, else what
    `default_shots` stands for (1/√shots), else None (exact values on a simulator)."""
    if options.get("default_precision") is not None:
        return float(options["default_precision"])
    if options.get("default_shots"):
        return 1 / math.sqrt(options["default_shots"])
    return None
