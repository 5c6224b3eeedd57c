"""How long jobs take on the local simulators: a job's run time from the cost model's inspection
(`core/admission.py`), and the arithmetic of queue estimates.

`run_seconds` adds up what a worker does with a job, each term a count the inspection knows
times a constant measured on the simulators (`python -m bench.estimates` measures them again
and prints the model beside them):

    per job            JOB_SECONDS: handing the job to the simulation process, storing results
    per PUB            operations x TRANSPILE_SECONDS (x NOISY_OPERATIONS on a noisy replica,
                       whose basis gates and device noise multiply the operations);
                       an estimator's: ESTIMATOR_SECONDS more
    per parameter set  SET_SECONDS
                       + runs x operations x (OPERATION_SECONDS + size x AMPLITUDE_SECONDS)
                       + shots x (SHOT_SECONDS + bits x BIT_SECONDS): sampling, counting and
                       storing them

`size` is the length of the state Aer simulates, as the memory model picks its method
(`simulation_memory`; Aer never picks a density matrix for a circuit it runs shot by shot):
2^n amplitudes for a state vector, 4^n for a density matrix. `runs` is 1 when every shot is
sampled from one simulation, else the shots: control flow, a reset or an operation after a
measurement (`simulated_per_shot`), or device noise on a state vector (one trajectory per shot).
Aer runs an estimator PUB with ESTIMATOR_EXECUTIONS shots. The stabilizer method costs
shots x n^2 x STABILIZER_SECONDS instead. The model is meant to get the order of magnitude
right and to rank jobs; it knows nothing of the host's load.
"""

from __future__ import annotations

import heapq
from dataclasses import replace

from core.admission import Inspection, PubCost, simulation_memory
from core.circuits import ESTIMATOR_EXECUTIONS

JOB_SECONDS = 0.005
TRANSPILE_SECONDS = 25e-6  # per operation
NOISY_OPERATIONS = 4
SET_SECONDS = 2e-3
OPERATION_SECONDS = 1e-6  # per operation and run, whatever the state's size
AMPLITUDE_SECONDS = 1.5e-9  # per operation, run and amplitude
SHOT_SECONDS = 0.3e-6
BIT_SECONDS = 0.15e-6  # per shot and classical bit
STABILIZER_SECONDS = 12e-9  # per shot and squared qubit
ESTIMATOR_SECONDS = 0.1  # per estimator PUB: observables laid out, expectation values

OVERRUN_SHARE = 0.25  # a job past its estimate: expected to run this share of its time again
MARGIN_SECONDS = 1.0  # the soonest a running job is expected to end


def run_seconds(inspection: Inspection, noisy: bool, memory_bytes: int) -> float:
    """The seconds a worker is expected to spend on the job (see the module's docstring)."""
    total = JOB_SECONDS + sum(_pub_seconds(pub, noisy, memory_bytes) for pub in inspection.pubs)
    return round(total, 3)


def _pub_seconds(pub: PubCost, noisy: bool, memory_bytes: int) -> float:
    operations = pub.operations * (NOISY_OPERATIONS if noisy else 1)
    shots = pub.shots or ESTIMATOR_EXECUTIONS
    n = pub.active_qubits
    method = _method(replace(pub, shots=shots), noisy, memory_bytes)
    if method == "stabilizer":
        simulation = shots * n * n * STABILIZER_SECONDS
    else:
        size = 4.0 ** n if method == "density matrix" else 2.0 ** n
        runs = shots if pub.per_shot or (noisy and method == "state vector") else 1
        simulation = runs * operations * (OPERATION_SECONDS + size * AMPLITUDE_SECONDS)
    sampling = pub.shots * (SHOT_SECONDS + pub.clbits * BIT_SECONDS)
    estimator = 0.0 if pub.shots else ESTIMATOR_SECONDS
    return (operations * TRANSPILE_SECONDS + estimator
            + pub.parameter_sets * (SET_SECONDS + simulation + sampling))


def _method(pub: PubCost, noisy: bool, memory_bytes: int) -> str:
    _, method = simulation_memory(pub, noisy, memory_bytes)
    return "state vector" if method == "density matrix" and pub.per_shot else method


def remaining_seconds(estimate: float, elapsed: float, time_limit: float) -> float:
    """What a running job has left: its estimate less the time it ran; once past its estimate,
    OVERRUN_SHARE of the time it ran (the longer it overran, the less the estimate says).
    Never past its time limit, and never less than MARGIN_SECONDS: a job that runs is never
    expected to have ended already."""
    left = estimate - elapsed if elapsed < estimate else elapsed * OVERRUN_SHARE
    return max(MARGIN_SECONDS, min(left, time_limit - elapsed))


def first_free(busy: list[float], slots: int, ahead: list[float]) -> float:
    """Seconds until one of `slots` slots is free for the next job, when the jobs now running
    end in `busy` seconds (more of them than slots: a slot frees when fewer run than there are
    slots) and the jobs `ahead` (their run times, in order) each take the first free slot."""
    slots = max(slots, 1)
    ends = sorted(busy)[-slots:] if len(busy) >= slots else [0.0] * (slots - len(busy)) + busy
    heapq.heapify(ends)
    for seconds in ahead:
        heapq.heapreplace(ends, ends[0] + seconds)
    return ends[0]
