"""Figure 11: dedicated sessions. Tenant B's variational loop (sequential Bell jobs) while
tenant A floods with FLOOD medium jobs and may use every worker (`max_running` = workers), with
a dedicated session and without one, against B's time on the idle gateway (medians).

Without a session B waits for one of A's jobs to end before each of its own (fair dispatch
serves B next, but every worker is A's). With one, B's first job waits so, and holds a worker:
the loop's next jobs start as soon as they are sent.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

import httpx

from bench.end_to_end import BELL_QASM3, SHOTS
from bench.fairness import _wait_running, a_job, client
from bench.report import Row, verdict
from bench.stack import Stack
from core.store.connection import Connection
from core.store.quotas import Quotas

GOAL = 1.5
FLOOD = 30
RUNS = 10
WORKERS = 2


def measure(stack: Stack, gateway: str, runs: int = RUNS) -> tuple[list[Row], str]:
    workers = stack.start_workers(WORKERS)
    quotas = Quotas(Connection.open(stack.config.REDIS_URL, stack.config.REDIS_PREFIX))
    quotas.set("bench-session-flooder", "max_running", WORKERS)
    a = client(gateway, stack.new_key("bench-session-flooder"))
    b = client(gateway, stack.new_key("bench-session-loop"))
    plain = loop_runner(b)
    plain()  # warm
    idle = statistics.median(plain() for _ in range(runs))
    measured = []
    for label in ("without a session", "in a dedicated session"):
        session_id = None if label == "without a session" else b.post(
            "/v1/sessions", json={"backend": "aer_simulator", "mode": "dedicated"},
        ).raise_for_status().json()["id"]
        time.sleep(stack.config.KEY_CACHE_SECONDS)
        flood = [a.post("/v1/jobs", json=a_job()).raise_for_status().json()["id"]
                 for _ in range(FLOOD)]
        _wait_running(a, flood[0])
        run = loop_runner(b, session_id)
        times = [run() for _ in range(runs)]
        measured.append((label, statistics.median(times)))
        for job_id in flood:
            a.post(f"/v1/jobs/{job_id}/cancel")
        if session_id:
            b.post(f"/v1/sessions/{session_id}/close")
    stack.stop(workers)
    rows = [Row("11 sessions", f"B's loop of Bell jobs while A floods {FLOOD} jobs on every "
                f"worker; {label}", f"{flooded * 1000:.0f} ms", f"{idle * 1000:.0f} ms idle",
                f"{flooded / idle:.2f}", f"≤ {GOAL}" if "session" in label and "without"
                not in label else "(for scale)",
                verdict(flooded / idle <= GOAL) if "without" not in label else "info")
            for label, flooded in measured]
    note = (f"**11 sessions.** Two workers; tenant A may use both (max_running 2) and submits "
            f"{FLOOD} jobs (fairness's 18-qubit circuit); tenant B then runs {runs} Bell jobs "
            "in a row (submit, wait for the result), median per job against B alone on the "
            "idle gateway. In a dedicated session B's first job waits for a worker; then one "
            "worker is kept for the session while its jobs arrive within interactive_ttl, so "
            "the next ones start at once, ahead of A's backlog.")
    return rows, note


def loop_runner(http: httpx.Client, session_id: str | None = None) -> Callable[[], float]:
    body = {"program_id": "sampler", "backend": "aer_simulator",
            "pubs": [{"circuit": BELL_QASM3, "shots": SHOTS}], "session_id": session_id}

    def run() -> float:
        tic = time.perf_counter()
        submitted = http.post("/v1/jobs", json=body).raise_for_status()
        http.get(f"/v1/jobs/{submitted.json()['id']}/result",
                 params={"wait": 60}).raise_for_status()
        return time.perf_counter() - tic

    return run
