"""Figure 2: programs through the gateway vs the same programs with the library, warm.

Gateway: `POST /v1/jobs` then `GET /v1/jobs/{id}/result?wait=30`, wall time as a client sees it.
Library: what a Python user writes in a warm process: the sampler (or simulator), backend and
pass manager made once, then per run: build the circuit, transpile, run. On the ideal simulator
with qiskit-ibm-runtime; on noisy devices (`bench/noisy.py`) both with qiskit-ibm-runtime's local
mode and with `AerSimulator.from_backend`. They alternate, so that whatever else the machine does
falls on all alike; medians.
"""

from __future__ import annotations

import statistics
import time
import uuid
import warnings
from collections.abc import Callable
from typing import Any

import httpx

from bench import noisy
from bench.noisy import BELL_QASM3, SHOTS
from bench.report import Row, verdict

WARM_UP = 3
AER_OVERHEAD_GOAL_MS = 15.0
LOCAL_MODE_GOAL = 0.15  # of the Bell pair, against qiskit-ibm-runtime's local mode
FROM_BACKEND_GOAL = 0.6  # of every noisy row, against AerSimulator.from_backend in a warm process


def gateway_runner(http: httpx.Client, backend: str, new_text: bool = False,
                   pub: dict[str, Any] | None = None) -> Callable[[], float]:
    """Submit `pub` (a Bell pair by default) and wait; with `new_text`, the program differs (by
    a comment) from every earlier one, so that no process can have parsed it before."""
    pub = dict(pub or {"circuit": BELL_QASM3, "shots": SHOTS})
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


def library_runner(shots: int = SHOTS) -> Callable[[], float]:
    """The Bell pair with qiskit-ibm-runtime on the ideal simulator."""
    from qiskit import QuantumCircuit
    from qiskit.transpiler.preset_passmanagers import generate_preset_pass_manager
    from qiskit_aer import AerSimulator
    from qiskit_ibm_runtime import SamplerV2

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        device = AerSimulator()
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


def alternate(runners: list[Callable[[], float]], repeats: int) -> list[list[float]]:
    """Time each runner `repeats` times, in turn, after a few unrecorded warm-up rounds."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for _ in range(WARM_UP):
            for runner in runners:
                runner()
        times: list[list[float]] = [[] for _ in runners]
        for _ in range(repeats):
            for runner, kept in zip(runners, times, strict=True):
                kept.append(runner())
    return times


def measure(http: httpx.Client, repeats: int) -> tuple[list[Row], str]:
    rows, details = [], []
    for case in noisy.CASES:
        case_rows, detail = _noisy_rows(http, case, repeats)
        rows += case_rows
        details.append(detail)
    for new_text in (False, True):
        gateway, library = alternate([gateway_runner(http, "aer_simulator", new_text),
                                      library_runner()], repeats)
        g, lib = statistics.median(gateway) * 1000, statistics.median(library) * 1000
        if not new_text:
            rows.append(Row("2 end to end", "Bell 1024 shots, aer_simulator: median wall time",
                            f"{g:.1f} ms (+{g - lib:.1f} ms)", f"{lib:.1f} ms (library)",
                            f"{g / lib:.2f}", f"+ < {AER_OVERHEAD_GOAL_MS:g} ms",
                            verdict(g - lib < AER_OVERHEAD_GOAL_MS)))
        else:
            rows.append(Row("2 end to end", "the same, program text new to the gateway each run",
                            f"{g:.1f} ms (+{g - lib:.1f} ms)", f"{lib:.1f} ms (library)",
                            f"{g / lib:.2f}", "(no parse cache hit)", "info"))
        details.append(f"aer_simulator{' (new text)' if new_text else ''}: gateway "
                       f"{_spread(gateway)}, library {_spread(library)}")
    note = ("**2 end to end.** Gateway: submit + `result?wait=30` over HTTP (keep-alive), one "
            "worker. Noisy rows: the same program in a warm process with qiskit-ibm-runtime's "
            "local mode (`SamplerV2(mode=FakeManilaV2())`) and with `AerSimulator.from_backend("
            "device).run` (`bench/noisy.py`); the ideal rows: `SamplerV2(mode=AerSimulator())`. "
            "Library samplers, simulators and pass managers (optimization level 1, the gateway's "
            "default) are made once; each run builds the circuit, transpiles and runs it. "
            "The gateway remembers the programs it parsed (API and worker); the last row sends "
            "a program text it has never seen, so it parses twice (~2 ms each for OpenQASM 3). "
            "The library runs with OMP_WAIT_POLICY=PASSIVE like the workers (the bench imports "
            "`workers`, which sets it): on a shared machine that is its faster setting too. "
            f"They alternate, {repeats} runs each after {WARM_UP} warm-up runs; "
            f"quartiles (ms): {'; '.join(details)}.")
    return rows, note


def _noisy_rows(http: httpx.Client, case: noisy.Case, repeats: int) -> tuple[list[Row], str]:
    """Two rows: the gateway against the local mode, and against warm `from_backend`."""
    gateway, local, direct = alternate([gateway_runner(http, case.backend, pub=case.pub()),
                                        noisy.local_mode_runner(case),
                                        noisy.from_backend_runner(case)], repeats)
    g, lm, fb = (statistics.median(times) * 1000 for times in (gateway, local, direct))
    what = f"{case.name} {SHOTS} shots, {case.backend}: median wall time"
    bell = case.name == "Bell"
    rows = [Row("2 end to end", what, f"{g:.1f} ms", f"{lm:.1f} ms (local mode)", f"{g / lm:.2f}",
                f"≤ {LOCAL_MODE_GOAL:g}" if bell else "(for scale)",
                verdict(g / lm <= LOCAL_MODE_GOAL) if bell else "info"),
            Row("2 end to end", "the same", f"{g:.1f} ms", f"{fb:.1f} ms (warm from_backend)",
                f"{g / fb:.2f}", f"≤ {FROM_BACKEND_GOAL:g}", verdict(g / fb <= FROM_BACKEND_GOAL))]
    detail = (f"{case.name} on {case.backend}: gateway {_spread(gateway)}, local mode "
              f"{_spread(local)}, from_backend {_spread(direct)}")
    return rows, detail


def _spread(seconds: list[float]) -> str:
    q1, q2, q3 = statistics.quantiles([s * 1000 for s in seconds], n=4)
    return f"{q1:.1f}/{q2:.1f}/{q3:.1f}"
