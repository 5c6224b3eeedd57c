"""Figure 5: what one job costs Redis, from submit to its result read, and what that allows.

From deltas of `INFO commandstats`, `stats`, `cpu` and `memory` around a run of sequential jobs
through the gateway; the same deltas over an idle stretch (workers' heartbeats, the scheduler)
are subtracted in proportion to the time. Commands run inside Lua scripts count too.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass

import httpx
import redis

from bench.end_to_end import BELL_QASM3
from bench.report import Row

IDLE_SECONDS = 2.0


@dataclass
class Sample:
    at: float
    calls: Counter[str]
    round_trips: int
    net_bytes: int
    cpu_seconds: float
    memory: int


def sample(client: redis.Redis) -> Sample:
    stats = client.info("commandstats")
    calls: Counter[str] = Counter({name.removeprefix("cmdstat_"): int(v["calls"])
                                   for name, v in stats.items()})
    info = client.info()
    for own in ("info", "ping"):  # the bench's own questions, not the jobs'
        calls.pop(own, None)
    return Sample(time.monotonic(), calls, info["total_reads_processed"],
                  info["total_net_input_bytes"] +
                  info["total_net_output_bytes"], info["used_cpu_user"] + info["used_cpu_sys"],
                  info["used_memory"])


@dataclass
class Cost:
    commands: Counter[str]
    round_trips: float
    net_bytes: float
    cpu_seconds: float
    memory: float


def per_job(before: Sample, after: Sample, idle: Cost, idle_seconds: float, jobs: int) -> Cost:
    scale = (after.at - before.at) / idle_seconds  # background work during the run
    commands = Counter({name: (after.calls[name] - before.calls[name]
                               - idle.commands[name] * scale) / jobs for name in after.calls})
    return Cost(
        Counter({k: v for k, v in commands.items() if v > 0.05}),
        (after.round_trips - before.round_trips - idle.round_trips * scale) / jobs,
        (after.net_bytes - before.net_bytes - idle.net_bytes * scale) / jobs,
        (after.cpu_seconds - before.cpu_seconds - idle.cpu_seconds * scale) / jobs,
        (after.memory - before.memory) / jobs,
    )


def idle_cost(client: redis.Redis) -> Cost:
    before = sample(client)
    time.sleep(IDLE_SECONDS)
    after = sample(client)
    return Cost(after.calls - before.calls, after.round_trips - before.round_trips,
                after.net_bytes - before.net_bytes,
                after.cpu_seconds - before.cpu_seconds, 0.0)


def run_jobs(http: httpx.Client, backend: str, jobs: int) -> None:
    body = {"program_id": "sampler", "backend": backend, "pubs": [{"circuit": BELL_QASM3}]}
    for _ in range(jobs):
        job = http.post("/v1/jobs", json=body).raise_for_status().json()
        http.get(f"/v1/jobs/{job['id']}/result", params={"wait": 30}).raise_for_status()


def measure(client: redis.Redis, http: httpx.Client, jobs: int) -> tuple[list[Row], str]:
    idle = idle_cost(client)
    rows, details = [], []
    for backend in ("aer_simulator", "fake_manila"):
        run_jobs(http, backend, 2)  # warm: the first job of a backend snapshots its properties
        before = sample(client)
        run_jobs(http, backend, jobs)
        cost = per_job(before, sample(client), idle, IDLE_SECONDS, jobs)
        capacity = 1 / cost.cpu_seconds if cost.cpu_seconds > 0 else float("inf")
        rows.append(Row(
            "5 Redis cost", f"per job, submit → result ({backend})",
            f"{cost.round_trips:.0f} round trips, {sum(cost.commands.values()):.0f} commands, "
            f"{cost.net_bytes / 1024:.1f} KiB "
            f"on the wire, {cost.memory / 1024:.1f} KiB kept",
            f"{cost.cpu_seconds * 1e6:.0f} µs of Redis CPU", f"≈ {capacity:,.0f} jobs/s",
            "(report)", "info"))
        top = ", ".join(f"{name} {n:.1f}" for name, n in cost.commands.most_common(12))
        details.append(f"{backend}: {top}")
    note = (f"**5 Redis cost.** {jobs} sequential jobs per backend (Bell, 1024 shots) through "
            "the API and one worker: submit, run, `result?wait`. Per job, from `INFO "
            "commandstats` and `INFO stats` deltas with the idle background subtracted; "
            "round trips are Redis's read events (a pipeline is one), and commands inside Lua "
            "scripts count as commands. The ratio column is what one Redis core carries if "
            "Redis CPU is the limit (1 / CPU per job); the memory kept is held for the "
            "retention period (`GATEWAY_JOB_RETENTION_SECONDS`). Commands per job — "
            f"{'; '.join(details)}.")
    return rows, note
