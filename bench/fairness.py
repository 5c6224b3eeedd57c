"""Figure 7: fair dispatch. Tenant B's submit-to-result time for a Bell job while tenant A
floods the queue, against B's time on an idle gateway (two workers, medians).

A submits FLOOD jobs of a circuit that takes a worker about A_JOB_SECONDS; B then runs its job
B_RUNS times in a row. Measured twice: with the default running cap (the workers less one, so A
holds one worker and B finds the other free) and with A allowed every worker (a single-tenant
setting: B then waits for one of A's jobs to end, never behind A's backlog).
"""

from __future__ import annotations

import statistics
import time

import httpx

from bench.end_to_end import gateway_runner
from bench.report import Row, verdict
from bench.stack import Stack
from core.store.connection import Connection
from core.store.quotas import Quotas

GOAL = 2.0
FLOOD = 150
B_RUNS = 10
WORKERS = 2
A_CIRCUIT = "\n".join(['OPENQASM 3.0; include "stdgates.inc"; qubit[18] q; bit[18] c;',
                       *[f"rx({0.1 + 0.01 * i + 0.001 * layer:.4f}) q[{i}]; "
                         + (f"cx q[{i}], q[{i + 1}];" if i < 17 else "")
                         for layer in range(20) for i in range(18)],
                       "c = measure q;"])


def measure(stack: Stack, gateway: str, runs: int = B_RUNS) -> tuple[list[Row], str]:
    workers = stack.start_workers(WORKERS)
    quotas = Quotas(Connection.open(stack.config.REDIS_URL, stack.config.REDIS_PREFIX))
    a = client(gateway, stack.new_key("bench-flooder"))
    b = client(gateway, stack.new_key("bench-single"))
    b_run = gateway_runner(b, "aer_simulator")
    b_run()  # warm
    idle = statistics.median(b_run() for _ in range(runs))
    measured, job_seconds = [], []
    for label, cap in (("default cap (1 of 2 workers)", None), ("A may use both workers", 2)):
        quotas.set("bench-flooder", "max_running", cap)
        time.sleep(stack.config.KEY_CACHE_SECONDS)  # every process sees the new cap
        flood = [a.post("/v1/jobs", json=a_job()).raise_for_status().json()["id"]
                 for _ in range(FLOOD)]
        _wait_running(a, flood[0])
        flooded = statistics.median(b_run() for _ in range(runs))
        job_seconds += _job_seconds(a, flood)
        for job_id in flood:
            a.post(f"/v1/jobs/{job_id}/cancel")
        measured.append((label, cap, flooded))
    stack.stop(workers)
    a_len = statistics.median(job_seconds) if job_seconds else float("nan")
    rows = [Row("7 fairness", f"B's Bell job while A floods {FLOOD} jobs of {a_len:.2f} s; "
                f"{label}", f"{flooded * 1000:.0f} ms", f"{idle * 1000:.0f} ms idle",
                f"{flooded / idle:.2f}", f"≤ {GOAL}" if cap is None else "(for scale)",
                verdict(flooded / idle <= GOAL) if cap is None else "info")
            for label, cap, flooded in measured]
    note = (f"**6 fairness.** Two workers. Tenant A submits {FLOOD} jobs (an 18-qubit, 20-layer "
            f"circuit: median {a_len:.2f} s of simulation each); tenant B then submits a Bell "
            f"job (1024 shots) and waits for its result, {runs} times in a row; medians, "
            "against B alone on the idle gateway. Fair dispatch serves the tenants in turn; "
            "with the default cap A holds one worker and B finds the other free. When A may "
            "use both workers, B waits for one of A's jobs to end (about half an A job on "
            "average), not for A's backlog: the price of a single-tenant setting.")
    return rows, note


def client(base: str, key: str) -> httpx.Client:
    return httpx.Client(base_url=base, headers={"Authorization": f"Bearer {key}"}, timeout=60)


def a_job() -> dict:
    return {"program_id": "sampler", "backend": "aer_simulator",
            "pubs": [{"circuit": A_CIRCUIT, "shots": 10}]}


def _wait_running(http: httpx.Client, job_id: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while http.get(f"/v1/jobs/{job_id}/status").json()["status"] == "QUEUED":
        if time.monotonic() > deadline:
            raise RuntimeError("the flood never started")
        time.sleep(0.05)


def _job_seconds(http: httpx.Client, flood: list[str]) -> list[float]:
    """Simulation seconds of A's jobs that finished (their own metrics)."""
    found = []
    for job_id in flood[:20]:
        usage = http.get(f"/v1/jobs/{job_id}/metrics").json()["usage"]
        if usage.get("seconds"):
            found.append(float(usage["seconds"]))
    return found



