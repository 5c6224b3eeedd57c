"""What a job's runtime options make really run: circuits and shots, counted as the executor
primitives of qiskit-ibm-runtime 0.51 resolve them (`executor_*/prepare.py`).

Mitigation multiplies executions. Per PUB and configuration (a parameter set; for the estimator,
a parameter set and an observable: a measurement basis at most):
- twirling (gates or measurements): `num_randomizations` random circuits of
  `shots_per_randomization` shots each, "auto" resolved by the library's
  `calculate_twirling_shots` from the PUB's shots;
- ZNE: one run per noise factor, each circuit folded to about that factor times its length;
- PEC: its randomizations times the sampling overhead, `pec.max_overhead` at most (counted at
  the most; the gateway refuses PEC, which needs a learned noise model, but counts it still);
and once per job, TREX's calibration: `measure_noise_learning.num_randomizations` (auto: as
twirling's) circuits of `shots_per_randomization` shots.

An estimator PUB's shots are `1 / precision^2` (its own precision, else `default_shots`, else
`default_precision`), as the library resolves them. `count` takes the library's finalized
options (`core/options.py` `finalized_options`); `mitigated` turns an inspection into the one
of what will run, for the cost model (`core/admission.py`) and the run-time estimate
(`core/estimates.py`). The workers may call both.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any

from core.admission import Inspection, PubCost
from core.circuits import SECONDS_PER_EXECUTION
from core.errors import LimitExceeded

over = LimitExceeded.of
MOST_PRECISE = 1e-12  # finer precisions are counted as 10^24 shots (over every limit)
MOST_OPERATIONS = 10 ** 15  # folded circuits counted at most this long (over every limit)


@dataclass(frozen=True)
class PubRun:
    configurations: int  # parameter sets (x observables, estimator)
    variants: int  # circuits per configuration: randomizations x noise factors (x PEC)
    shots_per_variant: int
    folding: float = 1.0  # mean noise factor: how much longer the folded circuits are

    @property
    def shots(self) -> int:
        return self.configurations * self.variants * self.shots_per_variant


@dataclass(frozen=True)
class Mitigation:
    pubs: list[PubRun]
    calibration_circuits: int = 0  # TREX, once per job
    calibration_shots_each: int = 0
    techniques: list[str] = field(default_factory=list)  # twirling, trex, zne, pec, dd

    @property
    def calibration_shots(self) -> int:
        return self.calibration_circuits * self.calibration_shots_each

    @property
    def total_shots(self) -> int:
        return sum(pub.shots for pub in self.pubs) + self.calibration_shots

    @property
    def multiplies(self) -> bool:
        """More runs than the PUBs ask for."""
        return self.calibration_circuits > 0 or any(p.variants > 1 for p in self.pubs)


def count(program: str, options: Any, pubs: list[dict[str, Any]],
          costs: list[PubCost]) -> Mitigation:
    """What will run, for the library's finalized `options` and the job's PUBs (as submitted,
    the sampler's shots filled in) with their inspected costs."""
    from qiskit_ibm_runtime.executor.calculate_twirling_shots import calculate_twirling_shots
    from qiskit_ibm_runtime.executor_estimator.pec import calculate_pec_twirling_shots

    twirling = options.twirling
    twirled = bool(twirling.enable_gates or twirling.enable_measure)
    resilience = getattr(options, "resilience", None)
    pec = bool(resilience and resilience.pec_mitigation)
    factors = _noise_factors(resilience) if resilience and resilience.zne_mitigation else [1.0]
    runs, randomizations, per_variant = [], 1, 0
    for pub, cost in zip(pubs, costs, strict=True):
        shots = _shots(program, options, pub)
        split = calculate_pec_twirling_shots if pec else calculate_twirling_shots
        randomizations, per_variant = split(
            shots, twirling.num_randomizations, twirling.shots_per_randomization) \
            if twirled or pec else (1, shots)
        overhead = math.ceil(resilience.pec.max_overhead or 1) if pec and resilience else 1
        configurations = cost.parameter_sets if program == "sampler" else cost.broadcast
        runs.append(PubRun(configurations, randomizations * len(factors) * overhead,
                           per_variant, sum(factors) / len(factors)))
    calibration = _calibration(resilience, randomizations) if resilience else 0
    return Mitigation(runs, calibration, per_variant if calibration else 0,
                      _techniques(options, twirled, calibration > 0, len(factors) > 1, pec))


def _shots(program: str, options: Any, pub: dict[str, Any]) -> int:
    if program == "sampler":
        return int(pub["shots"])
    if pub.get("precision"):
        return _for_precision(pub["precision"])
    if options.default_shots is not None:
        return int(options.default_shots)
    return _for_precision(options.default_precision)


def _for_precision(precision: float) -> int:
    """1 / precision^2, as the library counts; a precision too fine for floats counts as
    more shots than any limit allows (the library would divide by zero)."""
    return math.ceil(1.0 / precision ** 2) if precision > MOST_PRECISE else 10 ** 24


def _folded(operations: int, folding: float) -> int:
    """Operations of a circuit folded by `folding` (past any limit: the most a count holds)."""
    return min(MOST_OPERATIONS, math.ceil(min(operations * folding, MOST_OPERATIONS)))


def _noise_factors(resilience: Any) -> list[float]:
    from qiskit_ibm_runtime.executor_estimator.utils import resolve_noise_factors

    factors, _ = resolve_noise_factors(resilience.zne)
    return [float(factor) for factor in factors]


def _calibration(resilience: Any, randomizations: int) -> int:
    """TREX's calibration circuits (0 without measurement mitigation)."""
    if not resilience.measure_mitigation:
        return 0
    asked = resilience.measure_noise_learning.num_randomizations
    return randomizations if asked == "auto" else int(asked)


def _techniques(options: Any, twirled: bool, trex: bool, zne: bool, pec: bool) -> list[str]:
    said = {"twirling": twirled, "trex": trex, "zne": zne, "pec": pec,
            "dynamical_decoupling": bool(options.dynamical_decoupling.enable)}
    return [name for name, used in said.items() if used]


def mitigated(inspection: Inspection, mitigation: Mitigation) -> Inspection:
    """The inspection of what will run: each PUB's configurations times its variants, each
    sampled with the variant's shots from a circuit folded to its mean noise factor; TREX's
    calibration as one more PUB of as many qubits as the widest."""
    pubs = [replace(cost, parameter_sets=run.configurations * run.variants, observables=1,
                    broadcast=run.configurations * run.variants,
                    operations=_folded(cost.operations, run.folding),
                    shots=run.shots_per_variant)
            for cost, run in zip(inspection.pubs, mitigation.pubs, strict=True)]
    if mitigation.calibration_circuits and pubs:
        widest = max(inspection.pubs, key=lambda pub: pub.active_qubits)
        pubs.append(replace(widest, operations=3 * widest.active_qubits,
                            parameter_sets=mitigation.calibration_circuits,
                            broadcast=mitigation.calibration_circuits, observables=1,
                            shots=mitigation.calibration_shots_each, clifford=True,
                            per_shot=False))
    total = mitigation.total_shots
    return Inspection(pubs, total, round(total * SECONDS_PER_EXECUTION, 6))


def check_mitigated(inspection: Inspection, noisy: bool, max_total_shots: int,
                    time_limit: float, memory_bytes: int) -> float:
    """The cost model's limits on what will really run: LimitExceeded when its shots exceed
    `max_total_shots`, or when mitigation multiplies the runs and the estimated run time
    exceeds the job's time limit. Returns the estimated seconds."""
    from core.estimates import run_seconds

    mitigation = inspection.mitigation
    if mitigation is None:
        return run_seconds(inspection, noisy, memory_bytes)
    running = mitigated(inspection, mitigation)
    total = mitigation.total_shots
    if total > max_total_shots:
        raise over("options", f"with its runtime options the job runs {total} shots in all "
                   f"({describe(mitigation)})", "total_shots", total, max_total_shots,
                   "GATEWAY_MAX_TOTAL_SHOTS")
    seconds = run_seconds(running, noisy, memory_bytes)
    if mitigation.multiplies and seconds > time_limit:
        raise over("options", f"with its runtime options ({describe(mitigation)}) the job is "
                   f"expected to run {seconds:.0f} s, over its time limit of {time_limit:.0f} "
                   "s (options.max_execution_time, at most GATEWAY_JOB_TIME_LIMIT_SECONDS)",
                   "execution_time", seconds, time_limit, "GATEWAY_JOB_TIME_LIMIT_SECONDS",
                   unit="s")
    return seconds


def describe(mitigation: Mitigation) -> str:
    """What runs, in words: `3 circuits x 128 shots per configuration; TREX: 32 x 128`."""
    runs = "; ".join(f"PUB {i}: {run.configurations} configurations x {run.variants} circuits "
                     f"x {run.shots_per_variant} shots" for i, run in enumerate(mitigation.pubs))
    if mitigation.calibration_circuits:
        runs += (f"; TREX calibration: {mitigation.calibration_circuits} circuits x "
                 f"{mitigation.calibration_shots_each} shots")
    return runs
