"""`python -m bench.facade [--repeats N]`: a job through the IBM-compatible facade against the
same job submitted natively: a Bell sampler (1024 shots) on aer_simulator, submit to result,
median of N alternated runs on one private stack (its own Redis, API, one worker).

Three ways, each timed from submission to the decoded result:
- native: POST /v1/jobs, then GET /v1/jobs/{id}/result?wait=30 (one long poll);
- facade, raw HTTP: the client's own request body (SamplerV2's RuntimeEncoder JSON, encoded
  once beforehand), POST /ibm/api/v1/jobs, GET the job every 5 ms until it is final, GET its
  results and decode them with RuntimeDecoder (what the client does, without its waits);
- official client: SamplerV2(backend).run([bell]).result() through the facade, as a user runs
  it (the client polls at its own pace, which dominates).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
import warnings
from collections.abc import Callable

import httpx

from bench.end_to_end import BELL_QASM3
from bench.stack import Stack

SHOTS = 1024
POLL_SECONDS = 0.005  # short, so that the figure is the facade's cost, not the poll's pace


def native(http: httpx.Client) -> None:
    body = {"program_id": "sampler", "backend": "aer_simulator",
            "pubs": [{"circuit": BELL_QASM3, "shots": SHOTS}]}
    job = http.post("/v1/jobs", json=body).json()
    answer = http.get(f"/v1/jobs/{job['id']}/result", params={"wait": 30})
    assert answer.status_code == 200, answer.text


def facade_raw(http: httpx.Client, body: str, token: str) -> None:
    from qiskit_ibm_runtime.utils.json import RuntimeDecoder

    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    job = http.post("/ibm/api/v1/jobs", content=body, headers=headers).json()
    while http.get(f"/ibm/api/v1/jobs/{job['id']}", headers=headers).json()["status"] not in (
            "Completed", "Failed", "Cancelled"):
        time.sleep(POLL_SECONDS)
    answer = http.get(f"/ibm/api/v1/jobs/{job['id']}/results", headers=headers)
    assert answer.status_code == 200, answer.text
    json.loads(answer.text, cls=RuntimeDecoder)


def sampler_body() -> str:
    from qiskit import QuantumCircuit, transpile
    from qiskit_ibm_runtime import RuntimeEncoder

    circuit = QuantumCircuit(2)
    circuit.h(0)
    circuit.cx(0, 1)
    circuit.measure_all()
    isa = transpile(circuit, basis_gates=["cx", "rz", "sx", "x", "h"], optimization_level=0)
    return json.dumps({"program_id": "sampler", "backend": "aer_simulator",
                       "params": {"pubs": [[isa, None, SHOTS]], "options": {}, "version": 2,
                                  "support_qiskit": True}}, cls=RuntimeEncoder)


def official_client(base: str, key: str) -> Callable[[], None]:
    from qiskit import QuantumCircuit, transpile
    from qiskit_ibm_runtime import QiskitRuntimeService, SamplerV2

    os.environ.update({"IAM_URL": f"{base}/ibm", "QISKIT_FUNCTIONS_EXPERIMENTAL": "1"})
    service = QiskitRuntimeService(
        channel="ibm_quantum_platform", token=key, url=f"{base}/ibm/api/v1",
        instance="crn:v1:bluemix:public:quantum-computing:us-east:a/bench:bench::",
        url_resolver=lambda url, *args: url)
    backend = service.backend("aer_simulator")
    circuit = QuantumCircuit(2)
    circuit.h(0)
    circuit.cx(0, 1)
    circuit.measure_all()
    isa = transpile(circuit, backend)

    def run() -> None:
        SamplerV2(backend).run([isa], shots=SHOTS).result()

    return run


def timed(run: Callable[[], None]) -> float:
    started = time.perf_counter()
    run()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=30)
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    with Stack(web_processes=1) as stack:
        base, _ = stack.start_api()
        stack.start_workers(1)
        key = stack.new_key("bench-facade")
        with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {key}"},
                          timeout=60) as http:
            token = http.post("/ibm/identity/token", data={"apikey": key}).json()["access_token"]
            body = sampler_body()
            ways: dict[str, Callable[[], None]] = {
                "native /v1/jobs": lambda: native(http),
                "facade, raw HTTP": lambda: facade_raw(http, body, token),
                "facade, official client": official_client(base, key),
            }
            for run in ways.values():  # warm: parse caches, simulator, connections
                run()
            times: dict[str, list[float]] = {name: [] for name in ways}
            for _ in range(args.repeats):
                for name, run in ways.items():
                    times[name].append(timed(run))
        report(times, args.repeats)


def report(times: dict[str, list[float]], repeats: int) -> None:
    baseline = statistics.median(times["native /v1/jobs"])
    print(f"Bell sampler, {SHOTS} shots, aer_simulator, median of {repeats} runs each")
    print(f"{'way':<26}{'median ms':>10}{'p90 ms':>9}{'ratio':>8}")
    for name, values in times.items():
        median = statistics.median(values)
        p90 = sorted(values)[int(0.9 * (len(values) - 1))]
        print(f"{name:<26}{median * 1000:>10.1f}{p90 * 1000:>9.1f}{median / baseline:>8.2f}")


if __name__ == "__main__":
    main()
