"""`python -m bench.estimates`: the cost model's run times (`core/estimates.py`) against what
jobs take on this machine, through a private gateway (one API process, one worker).

Each case is submitted alone and waited for; the table shows its `usage_estimation` and the
time it ran (its `running` to `finished` timestamps), with their ratio. A noisy device's
simulator is built by a job of its own first, as a worker builds it once. `--repeat N` runs
each case N times and keeps the shortest (other work on the host only ever adds time).
"""

from __future__ import annotations

import argparse
import statistics
from dataclasses import dataclass, field
from typing import Any

import httpx

from bench.stack import Stack
from core.clock import iso_to_micros

BELL = ('OPENQASM 3.0; include "stdgates.inc"; qubit[2] q; bit[2] c; '
        "h q[0]; cx q[0], q[1]; c = measure q;")


def layers(qubits: int, depth: int, measure: str = "end", parameter: bool = False) -> str:
    """Rotations and a CX chain, `depth` times: Aer simulates a state vector. `measure`: "end",
    "middle" (one qubit measured half way: Aer then runs it shot by shot) or "none"."""
    lines = ['OPENQASM 3.0; include "stdgates.inc";', "input float theta;" if parameter else "",
             f"qubit[{qubits}] q; bit[{qubits}] c;"]
    for layer in range(depth):
        if measure == "middle" and layer == depth // 2:
            lines.append("c[0] = measure q[0];")
        angle = "theta" if parameter else None
        lines += [f"rx({angle or f'{0.1 + 0.01 * i + 0.001 * layer:.4f}'}) q[{i}];"
                  for i in range(qubits)]
        lines += [f"cx q[{i}], q[{i + 1}];" for i in range(qubits - 1)]
    return "\n".join([*lines, "" if measure == "none" else "c = measure q;"])


def ghz(qubits: int) -> str:
    chain = " ".join(f"cx q[{i}], q[{i + 1}];" for i in range(qubits - 1))
    return (f'OPENQASM 3.0; include "stdgates.inc"; qubit[{qubits}] q; bit[{qubits}] c; '
            f"h q[0]; {chain} c = measure q;")


def loop(qubits: int, iterations: int) -> str:
    body = " ".join([f"rx(0.1) q[{i}];" for i in range(qubits)]
                    + [f"cx q[{i}], q[{i + 1}];" for i in range(qubits - 1)])
    return (f'OPENQASM 3.0; include "stdgates.inc"; qubit[{qubits}] q; bit[{qubits}] c; '
            f"for uint i in [0:{iterations - 1}] {{ {body} }} c = measure q;")


@dataclass(frozen=True)
class Case:
    name: str
    backend: str
    circuit: str
    program: str = "sampler"
    pub: dict[str, Any] = field(default_factory=dict)  # shots, parameter_values, observables

    def body(self, seed: int) -> dict[str, Any]:
        # a seed of its own per run: the worker transpiles again, as for a new program
        return {"program_id": self.program, "backend": self.backend, "options": {"seed": seed},
                "pubs": [{"circuit": self.circuit, **self.pub}]}


CASES = [
    Case("Bell, 1024 shots", "aer_simulator", BELL),
    Case("Bell, 100k shots", "aer_simulator", BELL, pub={"shots": 100_000}),
    Case("Bell on fake_manila", "fake_manila", BELL),
    Case("GHZ-50 (stabilizer), 10k shots", "aer_simulator", ghz(50), pub={"shots": 10_000}),
    Case("12 qubits x 50 layers", "aer_simulator", layers(12, 50)),
    Case("16 qubits x 50 layers", "aer_simulator", layers(16, 50)),
    Case("20 qubits x 20 layers", "aer_simulator", layers(20, 20)),
    Case("12 x 20, 100 parameter sets", "aer_simulator", layers(12, 20, parameter=True),
         pub={"parameter_values": {"theta": [0.01 * i for i in range(100)]}}),
    Case("12 x 50, mid-circuit measurement, 100 shots", "aer_simulator",
         layers(12, 50, measure="middle"), pub={"shots": 100}),
    Case("for loop, 12 qubits x 200, 20 shots", "aer_simulator", loop(12, 200),
         pub={"shots": 20}),
    Case("5 x 50 on fake_manila (density matrix)", "fake_manila", layers(5, 50)),
    Case("5 x 200 on fake_manila", "fake_manila", layers(5, 200)),
    Case("8 x 10 on fake_guadalupe, 200 shots (trajectories)", "fake_guadalupe", layers(8, 10),
         pub={"shots": 200}),
    Case("10 x 10 on fake_guadalupe (trajectories)", "fake_guadalupe", layers(10, 10)),
    Case("estimator, 16 x 20", "aer_simulator", layers(16, 20, measure="none"), "estimator",
         pub={"observables": ["Z" * 16, "X" * 16]}),
    Case("estimator on fake_manila, 5 x 10", "fake_manila", layers(5, 10, measure="none"),
         "estimator", pub={"observables": ["ZZZZZ", "XXXXX"]}),
]


def run(http: httpx.Client, case: Case, seed: int) -> tuple[float, float]:
    """(estimated, measured) seconds of one run of `case`."""
    response = http.post("/v1/jobs", json=case.body(seed))
    response.raise_for_status()
    job = response.json()
    done = http.get(f"/v1/jobs/{job['id']}/wait", params={"timeout": 60})
    if done.status_code != 200 or done.json()["status"] != "DONE":
        raise RuntimeError(f"{case.name}: {done.text}")
    stamps = http.get(f"/v1/jobs/{job['id']}/metrics").json()["timestamps"]
    ran = (iso_to_micros(stamps["finished"]) - iso_to_micros(stamps["running"])) / 1e6
    return job["usage_estimation"]["quantum_seconds"], ran


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    with Stack(web_processes=1) as stack:
        base, _ = stack.start_api()
        stack.start_workers(1)
        headers = {"Authorization": f"Bearer {stack.new_key('estimates')}"}
        with httpx.Client(base_url=base, headers=headers, timeout=90) as http:
            for backend in sorted({case.backend for case in CASES}):  # its simulator, built
                run(http, Case("warm-up", backend, BELL), 0)
            ratios = []
            print(f"{'case':52} {'estimate s':>10} {'ran s':>8} {'ratio':>6}")
            for number, case in enumerate(CASES):
                runs = [run(http, case, 1000 * number + i) for i in range(args.repeat)]
                estimate, ran = min(runs, key=lambda found: found[1])
                ratios.append(estimate / ran)
                print(f"{case.name:52} {estimate:10.3f} {ran:8.3f} {estimate / ran:6.2f}",
                      flush=True)
        print(f"estimate / ran: median {statistics.median(ratios):.2f}, "
              f"from {min(ratios):.2f} to {max(ratios):.2f}")


if __name__ == "__main__":
    main()
