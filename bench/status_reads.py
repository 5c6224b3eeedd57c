"""Figure 1: `GET /v1/jobs/{id}` under load, against the floor (`bench/floor.py`).

Both run under gunicorn with the gateway's settings and read the same finished job's hash from
the same Redis. They take turns in short rounds (which goes first alternates), and the figure is
the median of each round's ratio: on a shared machine, the load of the moment moves both runs
of a round together, and the median drops the rounds it moved apart.
"""

from __future__ import annotations

import statistics

from bench.load import Load, run_load
from bench.report import Row, verdict

GOAL = 0.6
WARM_UP_SECONDS = 1.0


def measure(gateway: str, floor: str, key: str, job_id: str, rounds: int,
            seconds: float) -> tuple[list[Row], str]:
    target = (f"{gateway}/v1/jobs/{job_id}", {"Authorization": f"Bearer {key}"})
    bare: tuple[str, dict[str, str]] = (f"{floor}/floor/jobs/{job_id}", {})
    for url, headers in (target, bare):
        run_load(url, WARM_UP_SECONDS, headers)  # first requests import lazily and connect
    gateway_runs: list[Load] = []
    floor_runs: list[Load] = []
    for round_ in range(rounds):
        pair = [(gateway_runs, target), (floor_runs, bare)]
        for runs, (url, headers) in pair[::-1] if round_ % 2 else pair:
            runs.append(run_load(url, seconds, headers))
    errors = sum(run.errors for run in gateway_runs + floor_runs)
    if errors:
        raise RuntimeError(f"figure 1: {errors} failed requests under load")
    g, f = _median(gateway_runs), _median(floor_runs)
    ratio = statistics.median(a.requests_per_second / b.requests_per_second
                              for a, b in zip(gateway_runs, floor_runs, strict=True))
    row = Row("1 status reads", "`GET /v1/jobs/{id}` req/s (p50 / p99)",
              f"{g.requests_per_second:.0f} req/s ({g.p50_ms:.1f} / {g.p99_ms:.1f} ms)",
              f"{f.requests_per_second:.0f} req/s ({f.p50_ms:.1f} / {f.p99_ms:.1f} ms) floor",
              f"{ratio:.2f}", f"≥ {GOAL}", verdict(ratio >= GOAL))
    per_round = ", ".join(f"{a.requests_per_second:.0f}/{b.requests_per_second:.0f}"
                          for a, b in zip(gateway_runs, floor_runs, strict=True))
    note = (f"**1 status reads.** {rounds} rounds of {seconds:g} s for each of floor and gateway "
            f"(taking turns to go first), 32 keep-alive connections, gunicorn with 2 gevent "
            f"processes; the ratio is the median of the rounds' ratios, req/s and latencies are "
            f"medians over the rounds. "
            f"The floor is a bare Flask view returning one `HGETALL` (no key, no schema); the "
            f"gateway also checks the key (remembered by each process), counts the request "
            f"against the key's rate in the same round trip as the read, and dumps the job "
            f"through marshmallow. "
            f"Rounds, gateway/floor req/s: {per_round}.")
    return [row], note


def _median(runs: list[Load]) -> Load:
    return Load(
        statistics.median(run.requests_per_second for run in runs),
        statistics.median(run.p50_ms for run in runs),
        statistics.median(run.p99_ms for run in runs),
        sum(run.errors for run in runs),
    )
