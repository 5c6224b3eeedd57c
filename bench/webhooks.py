"""Figure 8: webhooks. How long a job's `job.done` takes from the job's end (the DONE
transition's timestamp, which the event carries) to a receiver on this host, through a deliverer
process (`python -m workers.webhooks`); and what a tenant with an endpoint for every job event
costs Redis per job, deliveries included, beside figure 5's tenant without one.

The receiver is a thread of the bench: it verifies each signature with the `standardwebhooks`
library and answers 204 at once.
"""

from __future__ import annotations

import json
import statistics
import sys
import threading
import time
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
from standardwebhooks.webhooks import Webhook

from bench import redis_cost
from bench.report import Row
from bench.stack import Stack

JOB_EVENTS = ["job.queued", "job.running", "job.done"]


class Arrivals(BaseHTTPRequestHandler):
    """Each verified event's type, the latency from its timestamp (ms), and its webhook-id."""

    secret = ""
    seen: list[tuple[str, float, str]] = []

    def do_POST(self) -> None:
        arrived = time.time()
        body = self.rfile.read(int(self.headers["Content-Length"]))
        event = Webhook(self.secret).verify(body, {k.lower(): v for k, v in self.headers.items()})
        sent = datetime.fromisoformat(event["timestamp"].replace("Z", "+00:00")).timestamp()
        self.seen.append((event["type"], (arrived - sent) * 1000, self.headers["webhook-id"]))
        self.send_response(204)
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


def measure(stack: Stack, gateway: str, jobs: int, cost_jobs: int) -> tuple[list[Row], str]:
    receiver = ThreadingHTTPServer(("127.0.0.1", 0), Arrivals)
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    deliverer = stack.spawn([sys.executable, "-m", "workers.webhooks"], "deliverer")
    try:
        with httpx.Client(base_url=gateway, timeout=60, headers={
                "Authorization": f"Bearer {stack.new_key('bench-webhooks')}"}) as http:
            hook = http.post("/v1/webhooks", json={
                "url": f"http://127.0.0.1:{receiver.server_address[1]}/hooks",
                "events": JOB_EVENTS}).raise_for_status().json()
            Arrivals.secret, Arrivals.seen = hook["secret"], []
            redis_cost.run_jobs(http, "aer_simulator", 3)  # warm
            _wait(lambda: len(Arrivals.seen) >= 9)
            Arrivals.seen = []
            for done in range(1, jobs + 1):  # one at a time: the latency of one, not a queue's
                redis_cost.run_jobs(http, "aer_simulator", 1)
                _wait(lambda done=done: _done() >= done)
            latencies = sorted(ms for kind, ms, _ in Arrivals.seen if kind == "job.done")
            cost = _cost(stack, http, cost_jobs)
    finally:
        stack.stop([deliverer])
        receiver.shutdown()
    p50, p99 = statistics.median(latencies), _percentile(latencies, 0.99)
    rows = [Row("8 webhooks", "job's end → `job.done` at the receiver (p50 / p99 / max)",
                f"{p50:.1f} / {p99:.1f} / {latencies[-1]:.1f} ms", "", "",
                "p99 < 100 ms", "pass" if p99 < 100 else "**miss**"),
            Row("8 webhooks", "per job, submit → result, with an endpoint for job.queued, "
                "job.running and job.done (aer_simulator)",
                f"{cost.round_trips:.0f} round trips, {sum(cost.commands.values()):.0f} "
                "commands", f"{cost.cpu_seconds * 1e6:.0f} µs of Redis CPU", "", "(report)",
                "info")]
    top = ", ".join(f"{name} {n:.1f}" for name, n in cost.commands.most_common(12))
    note = (f"**8 webhooks.** One deliverer process (8 senders), one worker, a receiver thread "
            f"in the bench that verifies each signature with `standardwebhooks`. {jobs} Bell "
            "jobs one after another, each waited for at its `job.done` delivery; latency = "
            "arrival minus the event's `timestamp` (the DONE transition's clock, same host). The "
            f"cost row: {cost_jobs} jobs as figure 5 measures them, for a tenant with one "
            "endpoint for three events per job, the deliverer's work included (fan-out, "
            f"claim, attempt log, job notices). Commands per job: {top}.")
    return rows, note


def _cost(stack: Stack, http: httpx.Client, jobs: int) -> redis_cost.Cost:
    idle = redis_cost.idle_cost(stack.redis)
    before = redis_cost.sample(stack.redis)
    expected = len(Arrivals.seen) + 3 * jobs
    redis_cost.run_jobs(http, "aer_simulator", jobs)
    _wait(lambda: len(Arrivals.seen) >= expected)
    time.sleep(0.3)  # the last settlement's writes follow the receiver's answer
    return redis_cost.per_job(before, redis_cost.sample(stack.redis), idle,
                              redis_cost.IDLE_SECONDS, jobs)


def _done() -> int:
    return sum(kind == "job.done" for kind, _, _ in Arrivals.seen)


def _percentile(values: list[float], share: float) -> float:
    return values[min(len(values) - 1, round(share * (len(values) - 1)))]


def _wait(condition: Any, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise RuntimeError(f"webhooks did not arrive: {json.dumps(Arrivals.seen[-3:])}")
        time.sleep(0.002)
