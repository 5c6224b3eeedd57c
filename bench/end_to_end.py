"""Figure 2: a Bell circuit through the gateway vs the same circuit with the library, warm.

Gateway: `POST /v1/jobs` then `GET /v1/jobs/{id}/result?wait=30`, wall time as a client sees it.
Library: what a Python user writes in a warm process with qiskit-ibm-runtime's local mode: the
sampler, backend and pass manager made once, then per run: build the circuit, transpile, run.
The two alternate, so that whatever else the machine does falls on both alike; medians.
"""

from __future__ import annotations

import statistics
import time
import uuid
import warnings
from collections.abc import Callable
from typing import Any

import httpx

from bench.report import Row, verdict

BELL_QASM3 = ('OPENQASM 3.0; include "stdgates.inc"; qubit[2] q; bit[2] c; '
              "h q[0]; cx q[0], q[1]; c = measure q;")
SHOTS = 1024
WARM_UP = 3
AER_OVERHEAD_GOAL_MS = 15.0


def gateway_runner(http: httpx.Client, backend: str, new_text: bool = False) -> Callable[[], float]:
    """Submit and wait; with `new_text`, the program differs (by a comment) from every earlier
    one, so that no process can have parsed it before."""
    pub: dict[str, Any] = {"circuit": BELL_QASM3, "shots": SHOTS}
    body = {"program_id": "sampler", "backend": backend, "pubs": [pub]}

    def run() -> float:
        if new_text:
            pub["circuit"] = f"{BELL_QASM3}\n// {uuid.uuid4().hex}"
        tic = time.perf_counter()
        submitted = http.post("/v1/jobs", json=body)
        submitted.raise_for_status()
        result = http.get(f"/v1/jobs/{submitted.json()['id']}/result", params={"wait": 30})
        result.raise_for_status()
        return time.perf_counter() - tic

    return run


def library_runner(backend: str, shots: int = SHOTS) -> Callable[[], float]:
    from qiskit import QuantumCircuit
    from qiskit.transpiler.preset_passmanagers import generate_preset_pass_manager
    from qiskit_aer import AerSimulator
    from qiskit_ibm_runtime import SamplerV2
    from qiskit_ibm_runtime.fake_provider import FakeManilaV2

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        device = FakeManilaV2() if backend == "fake_manila" else AerSimulator()
        sampler = SamplerV2(mode=device)
    manager = generate_preset_pass_manager(optimization_level=1, backend=device)

    def run() -> float:
        tic = time.perf_counter()
        circuit = QuantumCircuit(2, 2)
        circuit.h(0)
        circuit.cx(0, 1)
        circuit.measure([0, 1], [0, 1])
        sampler.run([manager.run(circuit)], shots=shots).result()
        return time.perf_counter() - tic

    return run


def alternate(first: Callable[[], float], second: Callable[[], float],
              repeats: int) -> tuple[list[float], list[float]]:
    """Time both `repeats` times, one after the other, after a few unrecorded warm-up runs."""
    for _ in range(WARM_UP):
        first(), second()
    a, b = [], []
    for _ in range(repeats):
        a.append(first())
        b.append(second())
    return a, b


def measure(http: httpx.Client, repeats: int) -> tuple[list[Row], str]:
    rows, details = [], []
    cases = (("fake_manila", False), ("aer_simulator", False), ("aer_simulator", True))
    for backend, new_text in cases:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            gateway, library = alternate(gateway_runner(http, backend, new_text),
                                         library_runner(backend), repeats)
        g, lib = statistics.median(gateway) * 1000, statistics.median(library) * 1000
        if backend == "fake_manila":
            rows.append(Row("2 end to end", "Bell 1024 shots, fake_manila: median wall time",
                            f"{g:.1f} ms", f"{lib:.1f} ms (library local mode)",
                            f"{g / lib:.2f}", "≤ 1.0", verdict(g / lib <= 1.0)))
        elif not new_text:
            rows.append(Row("2 end to end", "Bell 1024 shots, aer_simulator: median wall time",
                            f"{g:.1f} ms (+{g - lib:.1f} ms)", f"{lib:.1f} ms (library)",
                            f"{g / lib:.2f}", f"+ < {AER_OVERHEAD_GOAL_MS:g} ms",
                            verdict(g - lib < AER_OVERHEAD_GOAL_MS)))
        else:
            rows.append(Row("2 end to end", "the same, program text new to the gateway each run",
                            f"{g:.1f} ms (+{g - lib:.1f} ms)", f"{lib:.1f} ms (library)",
                            f"{g / lib:.2f}", "(no parse cache hit)", "info"))
        details.append(f"{backend}{' (new text)' if new_text else ''}: gateway "
                       f"{_spread(gateway)}, library {_spread(library)}")
    note = ("**2 end to end.** Gateway: submit + `result?wait=30` over HTTP (keep-alive), one "
            "worker. Library: `SamplerV2(mode=FakeManilaV2())` / `SamplerV2(mode=AerSimulator())` "
            "of qiskit-ibm-runtime, with sampler and pass manager (optimization level 1, the "
            "gateway's default) made once; each run builds the circuit, transpiles and samples. "
            "The gateway remembers the programs it parsed (API and worker); the last row sends "
            "a program text it has never seen, so it parses twice (~2 ms each for OpenQASM 3). "
            "The library runs with OMP_WAIT_POLICY=PASSIVE like the workers (the bench imports "
            "`workers`, which sets it): on a shared machine that is its faster setting too. "
            f"The two alternate, {repeats} runs each after {WARM_UP} warm-up runs; "
            f"quartiles (ms): {'; '.join(details)}.")
    return rows, note


def _spread(seconds: list[float]) -> str:
    q1, q2, q3 = statistics.quantiles([s * 1000 for s in seconds], n=4)
    return f"{q1:.1f}/{q2:.1f}/{q3:.1f}"
