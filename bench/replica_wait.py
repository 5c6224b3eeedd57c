"""Figure 8: what waiting for a replica costs a job (`WAIT` after its creation and final state).

The same Bell job, submit then `result?wait`, through two gateways on one primary that has one
replica: one finds the primary through a sentinel and waits for the replica (the default with
sentinels), the other reaches the primary by its URL and waits for nothing. Each has its own API
process, worker, key prefix and queues; their runs alternate; medians. Redis round trips and
commands per job on the primary are counted as in figure 5, one gateway at a time.
"""

from __future__ import annotations

import secrets
import statistics
import sys

import httpx
import redis

from bench import redis_cost
from bench.end_to_end import alternate, gateway_runner
from bench.report import Row, verdict
from bench.stack import GATEWAY_APP, ROOT, Stack
from scripts.local_http import wait_for_http
from scripts.local_redis import free_port
from scripts.local_sentinels import ReplicatedRedis

# ms per job: two replica acknowledgements and one more round trip to the primary, each well
# under a millisecond on loopback; the cost is per write, whatever the job's size
GOAL_MS = 2.0


def measure(stack: Stack, repeats: int, cost_jobs: int) -> tuple[list[Row], str]:
    replicated = ReplicatedRedis(stack.dir / "replicated", sentinels=1)
    try:
        replicated.watch()
        primary = redis.Redis(port=replicated.primary_port(), decode_responses=True)
        url = f"redis://127.0.0.1:{replicated.primary_port()}/0"
        with _Gateway(stack, "waiting", replicated.settings()) as waiting, \
                _Gateway(stack, "plain", {"REDIS_URL": url}) as plain:
            with_wait, without = alternate([gateway_runner(waiting.http, "aer_simulator"),
                                            gateway_runner(plain.http, "aer_simulator")], repeats)
            costs = [_cost(primary, gateway.http, cost_jobs) for gateway in (waiting, plain)]
    finally:
        replicated.stop()
    w, p = statistics.median(with_wait) * 1000, statistics.median(without) * 1000
    (rw, cw, waits), (rp, cp, _) = costs
    rows = [Row("9 replica wait", "Bell 1024 shots, aer_simulator: submit → result, waiting for "
                "1 replica (sentinels)", f"{w:.1f} ms ({w - p:+.2f} ms)",
                f"{p:.1f} ms (no wait, same Redis)", f"{w / p:.3f}", f"+ < {GOAL_MS:g} ms",
                verdict(w - p < GOAL_MS)),
            Row("9 replica wait", "Redis per job, submit → result, waiting for 1 replica",
                f"{rw:.1f} round trips, {cw:.0f} commands ({waits:.1f} WAIT)",
                f"{rp:.1f} round trips, {cp:.0f} commands (no wait)", f"+{rw - rp:.1f}",
                "(report)", "info")]
    note = ("**9 replica wait.** Two gateways (one API process and one worker each, own prefix "
            "and queues) on one primary with one replica: one through a sentinel, waiting for "
            "the replica after each job's creation and final state (`WAIT 1 250`), the other "
            f"by URL, not waiting. Bell jobs, submit + `result?wait`, alternating, {repeats} "
            f"each after 3 warm-up runs; quartiles (ms): waiting {_spread(with_wait)}, not "
            f"{_spread(without)}. Round trips and commands: {cost_jobs} sequential jobs per "
            "gateway, counted on the primary as in figure 5: a WAIT makes the replica "
            "acknowledge at once, and the primary counts that acknowledgement as a read (the "
            "replica's and the sentinel's own rhythm is in the idle background subtracted).")
    return rows, note


class _Gateway:
    """One API process and one worker with their own prefix, queues and key."""

    def __init__(self, stack: Stack, name: str, env: dict[str, str]) -> None:
        key = f"bench-{secrets.token_hex(16)}"
        port = free_port()
        self.stack, self.base = stack, f"http://127.0.0.1:{port}"
        settings = {**env, "GATEWAY_REDIS_PREFIX": name, "GATEWAY_QUEUE": f"{name}-jobs",
                    "GATEWAY_IBM_QUEUE": f"{name}-ibm", "GATEWAY_API_KEYS": f"bench:{key}",
                    "GATEWAY_WORKER_PREWARM": "aer_simulator"}
        self.processes = [
            stack.spawn([sys.executable, "-m", "workers"], f"{name}-worker", **settings),
            stack.spawn([sys.executable, "-m", "gunicorn", "-c", str(ROOT / "gunicorn.conf.py"),
                         "--bind", f"127.0.0.1:{port}", GATEWAY_APP], f"{name}-api",
                        PORT=str(port), GATEWAY_WEB_PROCESSES="1", **settings)]
        self.http = httpx.Client(base_url=self.base, timeout=60,
                                 headers={"Authorization": f"Bearer {key}"})

    def __enter__(self) -> _Gateway:
        wait_for_http(f"{self.base}/readyz", self.processes[1], 180)  # a worker is alive too
        return self

    def __exit__(self, *_exc: object) -> None:
        self.http.close()
        self.stack.stop(self.processes)


def _cost(primary: redis.Redis, http: httpx.Client, jobs: int) -> tuple[float, float, float]:
    """(round trips, commands, WAITs) per job on the primary, the background subtracted."""
    redis_cost.run_jobs(http, "aer_simulator", 2)
    idle = redis_cost.idle_cost(primary)
    before = redis_cost.sample(primary)
    redis_cost.run_jobs(http, "aer_simulator", jobs)
    cost = redis_cost.per_job(before, redis_cost.sample(primary), idle,
                              redis_cost.IDLE_SECONDS, jobs)
    return cost.round_trips, sum(cost.commands.values()), cost.commands.get("wait", 0.0)


def _spread(seconds: list[float]) -> str:
    q1, q2, q3 = statistics.quantiles([s * 1000 for s in seconds], n=4)
    return f"{q1:.1f}/{q2:.1f}/{q3:.1f}"
