"""Where a status read's time goes: `python -m bench.read_profile [--requests N]`.

A DONE job (run by one worker of a private stack, as figure 1 reads it), then `GET
/v1/jobs/{id}` called straight on the WSGI app in this process (no HTTP server, no gevent):
first timed alone (µs per request, median of batches), then under cProfile, whose table lists
the calls that take a request's time, cumulative, per request. Not a figure of RESULTS.md: it
says what figure 1's gateway side spends its time on.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import statistics
import time
from typing import Any

from werkzeug.test import EnvironBuilder

from bench.end_to_end import BELL_QASM3
from bench.stack import Stack

BATCH = 200


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.read_profile", description=__doc__)
    parser.add_argument("--requests", type=int, default=4000)
    args = parser.parse_args()
    with Stack() as stack:
        key = stack.new_key("bench")
        stack.start_workers(1)
        os.environ.clear()  # the stack's settings for the rest of this process (metrics read
        os.environ.update(stack.env)  # theirs at each new series)
        from app import create_app

        app = create_app()
        read = reader(app, key, done_job(app, key))
        read()  # imports, connections
        batches = [timed(read, BATCH) for _ in range(max(1, args.requests // BATCH))]
        print(f"status read, in process: {statistics.median(batches):.0f} µs per request "
              f"(median of {len(batches)} batches of {BATCH}; min {min(batches):.0f})")
        profile = cProfile.Profile()
        profile.runcall(lambda: [read() for _ in range(args.requests)])
        out = io.StringIO()
        stats = pstats.Stats(profile, stream=out).sort_stats("cumulative")
        stats.print_stats(35)
        print(f"cProfile, {args.requests} requests (divide times by that for one request):")
        print(out.getvalue())


def done_job(app: Any, key: str) -> str:
    client = app.test_client()
    auth = {"Authorization": f"Bearer {key}"}
    body = {"program_id": "sampler", "backend": "fake_manila", "pubs": [{"circuit": BELL_QASM3}]}
    job = client.post("/v1/jobs", json=body, headers=auth).get_json()
    reply = client.get(f"/v1/jobs/{job['id']}/result?wait=60", headers=auth)
    assert reply.status_code == 200, reply.get_data(as_text=True)
    return str(job["id"])


def reader(app: Any, key: str, job_id: str) -> Any:
    """One `GET /v1/jobs/{id}` through the WSGI app; raises unless it answers 200."""
    base = EnvironBuilder(path=f"/v1/jobs/{job_id}",
                          headers=[("Authorization", f"Bearer {key}")]).get_environ()
    status: list[str] = []

    def start_response(code: str, _headers: Any, _exc: Any = None) -> None:
        status.append(code)

    def read() -> None:
        status.clear()
        body = b"".join(app.wsgi_app(dict(base), start_response))
        if not status[0].startswith("200"):
            raise RuntimeError(f"{status[0]}: {body[:200]!r}")

    return read


def timed(read: Any, count: int) -> float:
    started = time.perf_counter()
    for _ in range(count):
        read()
    return (time.perf_counter() - started) / count * 1e6


if __name__ == "__main__":
    main()
