"""Figure 6: another tenant's `GET /v1/jobs/{id}` while hostile submissions arrive, and the
time to refuse each hostile kind.

One reader (one connection, one request after another, as a tenant's client) reads a finished
job in rounds that cycle through these conditions: quiet; bursts of hostile submissions (every
`BURST_SECONDS`, `PER_PROCESS` per API process at once, each a kind of `tests/test_hostile.py`:
before this figure existed, one of them held an API process for seconds to hours); and, for
scale, the same bursts sent to another app on this host that answers them unread, and bursts of
the cheapest refusal (a body missing its fields). The submitters share this host's cores with
the gateway, as no real client does: they run at the lowest CPU priority (nice 19), the nearest
this host comes to clients on other machines, and the first of those rows is what their own
traffic still costs the reader. The figure is the median over rounds of the reader's p50 and
p99 in each condition (goal: p99 under hostile bursts within 2x of quiet). Then each kind is
sent alone a few times: the median time to its 4xx.
"""

from __future__ import annotations

import itertools
import json
import multiprocessing
import os
import statistics
import threading
import time
from typing import Any

import httpx

from bench.report import Row, verdict
from tests.test_hostile import HEADER, PROGRAMS

GOAL = 2.0
PER_PROCESS = 4  # hostile submissions per API process arriving at once, every BURST_SECONDS
BURST_SECONDS = 0.25
TIMINGS = 3  # submissions of each kind, alone, for its time to refuse
WIDE = (HEADER + "qubit[34] q; bit[34] c; " + "".join(f"rx(0.3) q[{i}];" for i in range(34))
        + "c = measure q;")  # 256 GiB: over any host (the tests' 28 qubits fit the bench's)
KINDS = {**{kind: body for kind, (body, *_) in PROGRAMS.items() if "28 qubits" not in kind},
         "34 qubits state vector": {"program_id": "sampler", "backend": "aer_simulator",
                                    "pubs": [{"circuit": WIDE}]}}
CHEAPEST = [{"program_id": "sampler"}]  # refused by the schema: 422, nothing parsed


def measure(gateway: str, floor: str, key: str, job_id: str, processes: int, rounds: int,
            seconds: float) -> tuple[list[Row], str]:
    """`floor`: a Flask app under the same gunicorn settings that answers these posts 404
    without reading them (`bench/floor.py`)."""
    headers = {"Authorization": f"Bearer {key}"}
    hostile = list(KINDS.values())
    bursts = {"hostile": (gateway, hostile), "elsewhere": (floor, hostile),
              "cheapest": (gateway, CHEAPEST)}
    runs: dict[str, list[tuple[float, float]]] = {"quiet": [], **{name: [] for name in bursts}}
    refused = 0
    with httpx.Client(base_url=gateway, headers=headers, timeout=60) as reader:
        _read_for(reader, job_id, 1.0)  # warm: connection, imports, parse processes
        for body in hostile:  # and each kind once, so that the parse processes exist
            _refuse(reader, body)
        for _ in range(rounds):
            runs["quiet"].append(_read_for(reader, job_id, seconds))
            for name, (target, bodies) in bursts.items():
                with _Submitters(target, headers, PER_PROCESS * processes, bodies) as burst:
                    runs[name].append(_read_for(reader, job_id, seconds))
                refused += burst.refused
    quiet = statistics.median(run[1] for run in runs["quiet"])
    rows = [_row(name, found, quiet) for name, found in runs.items()]
    rows += [Row("6 hostile input", f"time to refuse: {kind}", f"{ms:.0f} ms", "", "", "",
                 "info") for kind, ms in _refusal_times(gateway, headers).items()]
    note = (f"**6 hostile input.** One reader's `GET /v1/jobs/{{id}}`, {rounds} rounds of "
            f"{seconds:g} s in each condition: quiet; under bursts of {PER_PROCESS} hostile "
            f"submissions per API process every {BURST_SECONDS:g} s ({processes} processes; "
            "the submitters at nice 19); "
            "the same bursts sent elsewhere, to a Flask app on this host that answers them 404 "
            "unread (what the submitters' own traffic costs the reader here); and bursts of "
            f"the cheapest refusal. {refused} submissions, none accepted; medians over rounds. "
            f"Refusal times: median of {TIMINGS}, each kind alone.")
    return rows, note


CONDITIONS = {
    "quiet": "quiet",
    "hostile": "hostile submissions",
    "elsewhere": "the same bursts sent to another app on this host",
    "cheapest": "bursts of the cheapest refusal",
}


def _row(condition: str, runs: list[tuple[float, float]], quiet: float) -> Row:
    p50 = statistics.median(run[0] for run in runs)
    p99 = statistics.median(run[1] for run in runs)
    what = f"other tenant's GET p50 / p99, {CONDITIONS[condition]}"
    if condition == "quiet":
        return Row("6 hostile input", what, f"{p50:.1f} / {p99:.1f} ms", "", "", "", "info")
    ratio = p99 / quiet
    if condition != "hostile":
        return Row("6 hostile input", what, f"{p50:.1f} / {p99:.1f} ms",
                   f"{quiet:.1f} ms p99 quiet", f"{ratio:.2f}x", "(for scale)", "info")
    return Row("6 hostile input", what, f"{p50:.1f} / {p99:.1f} ms", f"{quiet:.1f} ms p99 quiet",
               f"{ratio:.2f}x", f"<= {GOAL:g}x", verdict(ratio <= GOAL))


def _read_for(http: httpx.Client, job_id: str, seconds: float) -> tuple[float, float]:
    """(p50, p99) in ms of back-to-back reads for `seconds`."""
    latencies = []
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        started = time.perf_counter()
        http.get(f"/v1/jobs/{job_id}").raise_for_status()
        latencies.append((time.perf_counter() - started) * 1000)
    cuts = statistics.quantiles(latencies, n=100)
    return cuts[49], cuts[98]


class _Submitters:
    """Hostile submitters in a process of their own (threads in the reader's process would
    slow the reader by holding the GIL, encoding bodies)."""

    def __init__(self, gateway: str, headers: dict[str, str], threads: int,
                 bodies: list[Any]) -> None:
        context = multiprocessing.get_context("spawn")
        self.stop, self.count = context.Event(), context.Value("i", 0)
        self.process = context.Process(target=_submit_in_threads, args=(
            gateway, headers, threads, bodies, self.stop, self.count), daemon=True)
        self.refused = 0

    def __enter__(self) -> _Submitters:
        self.process.start()
        deadline = time.monotonic() + 30
        while self.count.value < 1:  # submitting already
            if time.monotonic() > deadline or not self.process.is_alive():
                raise RuntimeError("figure 6: the submitters did not start")
            time.sleep(0.01)
        return self

    def __exit__(self, *_: object) -> None:
        self.stop.set()
        self.process.join(60)
        self.refused = int(self.count.value)
        if self.process.exitcode != 0:
            raise RuntimeError(f"figure 6: the submitters failed ({self.process.exitcode})")


def _submit_in_threads(gateway: str, headers: dict[str, str], threads: int,
                       bodies: list[Any], stop: Any, count: Any) -> None:
    os.nice(19)  # they stand for clients on other hosts: the gateway and the reader go first

    def submit(offset: int) -> None:
        """One submission per burst, all threads at the same instants."""
        with httpx.Client(base_url=gateway, headers=headers, timeout=60) as http:
            for burst, body in enumerate(itertools.islice(itertools.cycle(encoded), offset,
                                                          None)):
                if stop.wait(max(0.0, started + burst * BURST_SECONDS - time.monotonic())):
                    return
                _refuse(http, body)
                with count.get_lock():
                    count.value += 1

    encoded = [json.dumps(body).encode() for body in bodies]  # once, not per request
    started = time.monotonic()
    workers = [threading.Thread(target=submit, args=(offset,)) for offset in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()


def _refuse(http: httpx.Client, body: Any) -> None:
    answer = (http.post("/v1/jobs", content=body, headers={"Content-Type": "application/json"})
              if isinstance(body, bytes) else http.post("/v1/jobs", json=body))
    if not 400 <= answer.status_code < 500:
        raise RuntimeError(f"figure 6: a hostile submission got {answer.status_code}")


def _refusal_times(gateway: str, headers: dict[str, str]) -> dict[str, float]:
    times = {}
    with httpx.Client(base_url=gateway, headers=headers, timeout=60) as http:
        for kind, body in KINDS.items():
            samples = []
            for _ in range(TIMINGS):
                started = time.perf_counter()
                _refuse(http, body)
                samples.append((time.perf_counter() - started) * 1000)
            times[kind] = statistics.median(samples)
    return times
