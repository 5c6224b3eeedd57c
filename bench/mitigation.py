"""Figure 10: error mitigation on a noisy replica, end to end, against the same library call.

GHZ-3 on fake_manila, ⟨ZZI⟩ (1 without noise), `default_precision` 0.01, at resilience levels 0,
1 (TREX) and 2 (TREX + ZNE by gate folding). The gateway: submit + `result?wait` over HTTP, one
worker. The library: `qiskit_ibm_runtime.executor_estimator.Estimator(mode=FakeManilaV2())` in
this warm process, as a user's loop runs it: build the circuit, transpile it (pass manager made
once), run, wait for the result. They alternate.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any

import httpx

from bench.end_to_end import alternate
from bench.report import Row, verdict

GHZ_3 = ('OPENQASM 3.0; include "stdgates.inc"; qubit[3] q; h q[0]; cx q[0], q[1]; '
         "cx q[1], q[2];")
OBSERVABLE = "ZZI"
BACKEND = "fake_manila"
PRECISION = 0.01
LEVELS = (0, 1, 2)
GOAL = 0.5  # the gateway's time over the library's


def gateway_runner(http: httpx.Client, level: int, values: list[float]) -> Callable[[], float]:
    body = {"program_id": "estimator", "backend": BACKEND,
            "pubs": [{"circuit": GHZ_3, "observables": [OBSERVABLE]}],
            "options": {"resilience_level": level, "default_precision": PRECISION}}

    def run() -> float:
        tic = time.perf_counter()
        submitted = http.post("/v1/jobs", json=body).raise_for_status()
        result = http.get(f"/v1/jobs/{submitted.json()['id']}/result",
                          params={"wait": 60}).raise_for_status()
        seconds = time.perf_counter() - tic
        values.append(result.json()["pub_results"][0]["data"]["evs"][0])
        return seconds

    return run


def library_runner(level: int, values: list[float]) -> Callable[[], float]:
    from qiskit import QuantumCircuit
    from qiskit.quantum_info import SparsePauliOp
    from qiskit.transpiler.preset_passmanagers import generate_preset_pass_manager
    from qiskit_ibm_runtime.executor_estimator import Estimator

    from core import catalog

    device = catalog.fake_backend(BACKEND)
    estimator = Estimator(mode=device, options={"resilience_level": level,
                                                "default_precision": PRECISION})
    manager = generate_preset_pass_manager(optimization_level=1, backend=device)

    def run() -> float:
        tic = time.perf_counter()
        circuit = QuantumCircuit(3)
        circuit.h(0)
        circuit.cx(0, 1)
        circuit.cx(1, 2)
        transpiled = manager.run(circuit)
        observable = SparsePauliOp(OBSERVABLE).apply_layout(transpiled.layout)
        result: Any = estimator.run([(transpiled, observable)]).result()
        seconds = time.perf_counter() - tic
        values.append(float(result[0].data.evs))
        return seconds

    return run


def measure(http: httpx.Client, repeats: int) -> tuple[list[Row], str]:
    rows, details = [], []
    for level in LEVELS:
        ours: list[float] = []
        theirs: list[float] = []
        gateway, library = alternate([gateway_runner(http, level, ours),
                                      library_runner(level, theirs)], repeats)
        g, lib = statistics.median(gateway) * 1000, statistics.median(library) * 1000
        rows.append(Row("10 mitigation", f"GHZ-3 ⟨{OBSERVABLE}⟩ on {BACKEND}, "
                        f"resilience_level {level}, precision {PRECISION}: submit → result",
                        f"{g:.0f} ms", f"{lib:.0f} ms (executor Estimator, local mode)",
                        f"{g / lib:.2f}", f"≤ {GOAL}", verdict(g / lib <= GOAL)))
        details.append(f"level {level}: gateway {_spread(gateway)}, library {_spread(library)}; "
                       f"⟨{OBSERVABLE}⟩ median gateway {statistics.median(ours):.3f}, "
                       f"library {statistics.median(theirs):.3f}")
    note = (f"**10 mitigation.** {__doc__.split(chr(10), 2)[2].strip()} {repeats} runs each "
            "after 3 warm-up runs; quartiles (ms) and the values each side gave: "
            + "; ".join(details) + ".")
    return rows, note


def _spread(seconds: list[float]) -> str:
    q1, q2, q3 = statistics.quantiles([s * 1000 for s in seconds], n=4)
    return f"{q1:.0f}/{q2:.0f}/{q3:.0f}"
