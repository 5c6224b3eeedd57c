"""`python -m bench [--quick] [--figures 1,2,...] [--tracing]` (make bench): the benchmark's
figures 1 to 11, printed as one table and written to `bench/RESULTS.md` with the machine's
description. `--tracing` sends the gateway's spans to a receiver of the bench's own
(`bench/otlp_sink.py`), to measure what tracing costs; it is never written to RESULTS.md.

Starts its own Redis, API (gunicorn, gevent) and workers on 127.0.0.1 and stops them at the end.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from bench import (
    end_to_end,
    fairness,
    hostile,
    load,
    mitigation,
    redis_cost,
    replica_wait,
    sessions,
    status_reads,
    throughput,
    webhooks,
)
from bench.end_to_end import BELL_QASM3
from bench.report import RESULTS, Report, Row, machine
from bench.stack import FLOOR_APP, ROOT, Stack

EVENTS = Path(__file__).with_name("events.py")
ALL_FIGURES = ("1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11")


@dataclass(frozen=True)
class Budget:
    """How long each figure measures; `--quick` is a smoke run, not a result."""

    e2e_repeats: int = 15
    read_rounds: int = 8
    read_seconds: float = 2.0
    throughput_window: float = 1.5
    throughput_rounds: int = 5
    cost_jobs: int = 10
    hostile_rounds: int = 6
    hostile_seconds: float = 3.0
    fairness_runs: int = 10
    replica_repeats: int = 150  # the difference is about a millisecond: many runs, cheap ones
    webhook_jobs: int = 100
    mitigation_repeats: int = 15


QUICK = Budget(e2e_repeats=4, read_rounds=2, read_seconds=1.0, throughput_window=1.0,
               throughput_rounds=1, cost_jobs=3, hostile_rounds=1, hostile_seconds=1.5,
               fairness_runs=3, replica_repeats=6, webhook_jobs=10,
               mitigation_repeats=3)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="short runs, to try the bench out")
    parser.add_argument("--figures", default=",".join(ALL_FIGURES),
                        type=lambda text: set(text.split(",")),
                        help="which figures, e.g. 2,3 (default: all)")
    parser.add_argument("--tracing", action="store_true",
                        help="export the gateway's spans (OTLP/HTTP) to a local receiver")
    args = parser.parse_args()
    budget = QUICK if args.quick else Budget()
    sink = None
    if args.tracing:
        from bench.otlp_sink import Sink

        sink = Sink()
        os.environ["OTEL_EXPORTER_OTLP_ENDPOINT"] = sink.endpoint  # the stack's processes read it
    generator = load.generator_name()
    if "fallback" in generator:
        print("wrk is not installed: using the pure-Python load generator (figure 1's ratio "
              "still holds). For wrk: `sudo apt-get install wrk` or `brew install wrk`.",
              file=sys.stderr)
    started = time.monotonic()
    report = Report()
    with Stack() as stack:
        redis_version = str(stack.redis.info("server")["redis_version"])
        measure_all(stack, budget, report, args.figures)
    if "4" in args.figures:
        add_events(report)
    report.rows.sort(key=lambda row: _number(row.figure))  # stable: a figure's rows keep order
    report.notes.sort(key=lambda note: _number(note.removeprefix("**")))
    print(report.table())
    took = f"\n{len(report.rows)} rows in {time.monotonic() - started:.0f} s"
    if sink is not None:
        print(f"tracing: {sink.spans} spans received by the bench's OTLP receiver")
    if args.quick or args.tracing or args.figures != set(ALL_FIGURES):  # not a result
        print("\n" + "\n\n".join(report.notes))  # how each figure was measured, its details
        print(f"{took}; {RESULTS.relative_to(ROOT)} is written by full runs only")
        return
    RESULTS.write_text(report.markdown(machine(redis_version), generator))
    print(f"{took}; written with the machine's description to {RESULTS.relative_to(ROOT)}")


def measure_all(stack: Stack, budget: Budget, report: Report, figures: set[str]) -> None:
    """Figures 2, 5, 10 and 8 first, with one worker; 1 reads a job they ran; 3 starts its own."""
    key = stack.new_key("bench")
    gateway, _ = stack.start_api()
    worker = stack.start_workers(1)
    with httpx.Client(base_url=gateway, headers={"Authorization": f"Bearer {key}"},
                      timeout=60) as http:
        if "2" in figures:
            _progress("2 end to end")
            add(report, end_to_end.measure(http, budget.e2e_repeats))
        if "5" in figures:
            _progress("5 Redis cost")
            add(report, redis_cost.measure(stack.redis, http, budget.cost_jobs))
        if "10" in figures:
            _progress("10 mitigation")
            add(report, mitigation.measure(http, budget.mitigation_repeats))
        job_id = finished_job(http)
    if "8" in figures:
        _progress("8 webhooks")
        add(report, webhooks.measure(stack, gateway, budget.webhook_jobs, budget.cost_jobs))
    floor = stack.start_api(FLOOR_APP)[0] if figures & {"1", "6"} else ""
    if "1" in figures:
        _progress("1 status reads")
        single = stack.start_api(processes=1)
        sync_floor = stack.start_api(FLOOR_APP, processes=1, worker_class="gthread",
                                     threads=status_reads.SYNC_THREADS)
        servers = status_reads.Servers(gateway, floor, single[0], sync_floor[0])
        add(report, status_reads.measure(servers, key, job_id, budget.read_rounds,
                                         budget.read_seconds))
        stack.stop([single[1], sync_floor[1]])
    if "6" in figures:
        _progress("6 hostile input")
        add(report, hostile.measure(gateway, floor, key, job_id, stack.web_processes,
                                    budget.hostile_rounds, budget.hostile_seconds))
    stack.stop(worker)
    if "7" in figures:
        _progress("7 fairness")
        add(report, fairness.measure(stack, gateway, budget.fairness_runs))
    if "11" in figures:
        _progress("11 sessions")
        add(report, sessions.measure(stack, gateway, budget.fairness_runs))
    if "3" in figures:
        _progress("3 throughput")
        add(report, throughput.measure(stack, budget.throughput_window,
                                       budget.throughput_rounds))
    if "9" in figures:
        _progress("9 replica wait")
        add(report, replica_wait.measure(stack, budget.replica_repeats, budget.cost_jobs))


def add(report: Report, figure: tuple[list[Row], str]) -> None:
    rows, note = figure
    report.rows += rows
    report.notes.append(note)


def finished_job(http: httpx.Client) -> str:
    """A DONE fake_manila job: the biggest record a status read returns."""
    body = {"program_id": "sampler", "backend": "fake_manila", "pubs": [{"circuit": BELL_QASM3}]}
    job = http.post("/v1/jobs", json=body).raise_for_status().json()
    http.get(f"/v1/jobs/{job['id']}/result", params={"wait": 30}).raise_for_status()
    return str(job["id"])


def add_events(report: Report) -> None:
    """Figure 4 is `python -m bench.events` (the event streams' own bench, with its own API and
    Redis): its rows join the table. A failure there does not cost the other figures."""
    if not EVENTS.exists():
        report.notes.append("**4 events.** Not measured: `bench/events.py` is not in this tree.")
        return
    _progress("4 events")
    try:
        printed = subprocess.run([sys.executable, "-m", "bench.events"], cwd=ROOT, check=True,
                                 capture_output=True, text=True, timeout=600).stdout
    except (subprocess.SubprocessError, OSError) as exc:
        report.rows.append(Row("4 events", "`python -m bench.events` failed",
                               type(exc).__name__, "", "", "", "**miss**"))
        return
    for line in printed.splitlines():
        cells = [cell.strip() for cell in line.split(" | ")]
        if len(cells) == 3 and cells[0] not in ("measure", "---"):
            report.rows.append(Row("4 events", cells[0], cells[1], "", "", cells[2], "see goal"))
    setup = next((line.removeprefix("bench.events: ") for line in printed.splitlines()
                  if line.startswith("bench.events:")), "")
    report.notes.append(f"**4 events.** From `python -m bench.events` ({setup}); its docstring "
                        "says what each row measures.")


def _number(figure: str) -> int:
    """A figure's number, from the text that starts with it ("10 mitigation" after "9 ...")."""
    digits = figure[:len(figure) - len(figure.lstrip("0123456789"))]
    return int(digits) if digits else 0


def _progress(figure: str) -> None:
    print(f"measuring figure {figure} ...", file=sys.stderr, flush=True)


if __name__ == "__main__":
    main()
