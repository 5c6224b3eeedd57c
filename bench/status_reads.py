"""Figure 1: `GET /v1/jobs/{id}` under load, against the floor (`bench/floor.py`).

Both run under gunicorn with the gateway's settings and read the same finished job's hash from
the same Redis. They take turns, a few rounds each, and the figure is the ratio of the medians.
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
    for _ in range(rounds):
        floor_runs.append(run_load(bare[0], seconds, bare[1]))
        gateway_runs.append(run_load(target[0], seconds, target[1]))
    errors = sum(run.errors for run in gateway_runs + floor_runs)
    if errors:
        raise RuntimeError(f"figure 1: {errors} failed requests under load")
    g, f = _median(gateway_runs), _median(floor_runs)
    ratio = g.requests_per_second / f.requests_per_second
    row = Row("1 status reads", "`GET /v1/jobs/{id}` req/s (p50 / p99)",
              f"{g.requests_per_second:.0f} req/s ({g.p50_ms:.1f} / {g.p99_ms:.1f} ms)",
              f"{f.requests_per_second:.0f} req/s ({f.p50_ms:.1f} / {f.p99_ms:.1f} ms) floor",
              f"{ratio:.2f}", f"≥ {GOAL}", verdict(ratio >= GOAL))
    runs = ", ".join(f"{a.requests_per_second:.0f}/{b.requests_per_second:.0f}"
                     for a, b in zip(gateway_runs, floor_runs, strict=True))
    note = (f"**1 status reads.** {rounds} rounds of {seconds:g} s each for the floor then the "
            f"gateway, 32 keep-alive connections, gunicorn with 2 gevent processes; medians. "
            f"The floor is a bare Flask view returning one `HGETALL` (no key, no schema); the "
            f"gateway also checks the key (one `HGET`) and dumps the job through marshmallow. "
            f"Rounds, gateway/floor req/s: {runs}.")
    return [row], note


def _median(runs: list[Load]) -> Load:
    return Load(
        statistics.median(run.requests_per_second for run in runs),
        statistics.median(run.p50_ms for run in runs),
        statistics.median(run.p99_ms for run in runs),
        sum(run.errors for run in runs),
    )
