"""Figure 1: `GET /v1/jobs/{id}` under load, against two floors (`bench/floor.py`).

Each comparison runs under gunicorn with the gateway's settings, and both sides read the same
finished job's hash from the same Redis:
- the gevent floor: the floor app with the gateway's own gunicorn settings (2 gevent processes),
  against the gateway as it runs;
- the sync floor: the floor app in one gunicorn process of threads (`gthread`, a thread per
  connection, keep-alive: a plain sync Flask service), against one gateway process (gevent, as
  it runs).
They take turns in short rounds (which goes first alternates), and each figure is the median of
its rounds' ratios: on a shared machine, the load of the moment moves both runs of a round
together, and the median drops the rounds it moved apart.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass

from bench.load import Load, run_load
from bench.report import Row, verdict

GOAL = 0.6
SYNC_GOAL = 0.8
SYNC_THREADS = 32  # one per connection of the load
WARM_UP_SECONDS = 1.0
Target = tuple[str, dict[str, str]]


@dataclass(frozen=True)
class Servers:
    """Base URLs: the gateway and the gevent floor as the stack runs them, and one process of
    the gateway and of the sync floor."""

    gateway: str
    floor: str
    single_gateway: str
    sync_floor: str


def measure(servers: Servers, key: str, job_id: str, rounds: int,
            seconds: float) -> tuple[list[Row], str]:
    auth = {"Authorization": f"Bearer {key}"}
    pairs: list[tuple[Target, Target]] = [((f"{servers.gateway}/v1/jobs/{job_id}", auth),
              (f"{servers.floor}/floor/jobs/{job_id}", {})),
             ((f"{servers.single_gateway}/v1/jobs/{job_id}", auth),
              (f"{servers.sync_floor}/floor/jobs/{job_id}", {}))]
    for target, bare in pairs:
        for url, headers in (target, bare):
            run_load(url, WARM_UP_SECONDS, headers)  # first requests import lazily and connect
    runs: list[tuple[list[Load], list[Load]]] = [([], []) for _ in pairs]
    for round_ in range(rounds):
        for (gateway_runs, floor_runs), (target, bare) in zip(runs, pairs, strict=True):
            turns = [(gateway_runs, target), (floor_runs, bare)]
            for found, (url, headers) in turns[::-1] if round_ % 2 else turns:
                found.append(run_load(url, seconds, headers))
    errors = sum(run.errors for pair in runs for side in pair for run in side)
    if errors:
        raise RuntimeError(f"figure 1: {errors} failed requests under load")
    rows = [_row(*runs[0], "floor (2 gevent processes)", GOAL),
            _row(*runs[1], "sync floor (1 process each, gthread)", SYNC_GOAL)]
    note = (f"**1 status reads.** {rounds} rounds of {seconds:g} s for each side of each "
            "comparison (taking turns to go first), 32 keep-alive connections; the ratio is the "
            "median of the rounds' ratios, req/s and latencies are medians over the rounds. "
            "The floor is a bare Flask view returning one `HGETALL` (no key, no schema): under "
            "the gateway's gunicorn settings (2 gevent processes, against the gateway as it "
            f"runs), and in one gunicorn `gthread` process of {SYNC_THREADS} threads (sync code, "
            "keep-alive; against one gateway process). The gateway also checks the key "
            "(remembered by each process), counts the request against the key's rate in the "
            "same round trip as the read, and answers the job's JSON as stored beside its hash "
            "(no schema on a read), with an ETag. Rounds, gateway/floor req/s: gevent "
            f"{_per_round(*runs[0])}; sync {_per_round(*runs[1])}.")
    return rows, note


def _row(gateway_runs: list[Load], floor_runs: list[Load], floor: str, goal: float) -> Row:
    g, f = _median(gateway_runs), _median(floor_runs)
    ratio = statistics.median(a.requests_per_second / b.requests_per_second
                              for a, b in zip(gateway_runs, floor_runs, strict=True))
    return Row("1 status reads", f"`GET /v1/jobs/{{id}}` req/s (p50 / p99), against the {floor}",
               f"{g.requests_per_second:.0f} req/s ({g.p50_ms:.1f} / {g.p99_ms:.1f} ms)",
               f"{f.requests_per_second:.0f} req/s ({f.p50_ms:.1f} / {f.p99_ms:.1f} ms) floor",
               f"{ratio:.2f}", f"≥ {goal}", verdict(ratio >= goal))


def _per_round(gateway_runs: list[Load], floor_runs: list[Load]) -> str:
    return ", ".join(f"{a.requests_per_second:.0f}/{b.requests_per_second:.0f}"
                     for a, b in zip(gateway_runs, floor_runs, strict=True))


def _median(runs: list[Load]) -> Load:
    return Load(
        statistics.median(run.requests_per_second for run in runs),
        statistics.median(run.p50_ms for run in runs),
        statistics.median(run.p99_ms for run in runs),
        sum(run.errors for run in runs),
    )
