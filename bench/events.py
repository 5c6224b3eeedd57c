"""Event streams under load, on loopback: `python -m bench.events [--help]`.

Starts a private Redis and the API under gunicorn with one gevent process (no RQ worker: the
bench appends events the way a worker does, through JobStore), then measures:
  1. delivery latency from the append to the client's receipt with 500 listeners on one job
     (goal: p99 < 50 ms), at 10 and 50 events/s;
  2. open streams held by that process and its memory per stream (goal: 2,000 at < 50 KB),
     and latency with all of them open (one event per job; then the 500 listeners again);
  3. how fast the server lets go of clients that disconnect (heartbeat left at 15 s).
The clients are raw asyncio sockets, so that client-side parsing adds as little as possible.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import math
import multiprocessing
import os
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.loopback import Server, cpu_seconds, percentile, rss_kb, server_sockets
from core.store.api_keys import KeyStore
from core.store.connection import Connection
from core.store.jobs import JobStore
from core.store.quotas import Quotas
from scripts.local_redis import start_redis


class Listener(asyncio.Protocol):
    """One SSE client: notes when each `seq` arrived and whether the stream has begun."""

    def __init__(self) -> None:
        self.received: dict[int, float] = {}
        self.opened = asyncio.Event()
        self.transport: asyncio.Transport | None = None
        self.partial = b""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        now = time.monotonic()  # first, before any parsing
        lines = (self.partial + data).split(b"\n")
        self.partial = lines.pop()
        for line in lines:
            if line.startswith(b"event: status"):
                self.opened.set()
            elif line.startswith(b'data: {"seq": '):
                self.received.setdefault(int(line[14:line.index(b",")]), now)

    @property
    def port(self) -> int:
        assert self.transport is not None
        return int(self.transport.get_extra_info("sockname")[1])

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()


async def open_listener(port: int, key: str, path: str) -> Listener:
    loop = asyncio.get_running_loop()
    transport, listener = await loop.create_connection(Listener, "127.0.0.1", port)
    request = (f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {key}\r\n"
               "Accept: text/event-stream\r\n\r\n")
    transport.write(request.encode())
    await asyncio.wait_for(listener.opened.wait(), 60)
    return listener


async def open_many(port: int, key: str, paths: list[str], batch: int = 50) -> list[Listener]:
    """Open in batches: more at once than the API's Redis pool (100) would get 503s."""
    opened: list[Listener] = []
    for start in range(0, len(paths), batch):
        opened += await asyncio.gather(*(open_listener(port, key, p)
                                         for p in paths[start:start + batch]))
    return opened


def append_paced(redis_url: str, job_ids: list[str], gap: float, sent: Any) -> None:
    """In a process of its own, like a worker: event `seq` to job `seq % len(job_ids)`, `gap` s
    apart, noting in `sent` when each was appended (CLOCK_MONOTONIC is system-wide on Linux)."""
    store = JobStore(Connection.open(redis_url))
    for seq in range(len(sent)):
        sent[seq] = time.monotonic()
        store.append_event(job_ids[seq % len(job_ids)], "log", {"seq": seq, "line": "x" * 60})
        time.sleep(gap)


async def deliver(redis_url: str, listeners: list[Listener], job_ids: list[str], count: int,
                  gap: float) -> list[float]:
    """Latencies (ms) from each append to its receipt by each listener of the event's job."""
    sent = multiprocessing.get_context("spawn").Array("d", count, lock=False)
    appender = multiprocessing.get_context("spawn").Process(
        target=append_paced, args=(redis_url, job_ids, gap, sent))
    for listener in listeners:
        listener.received.clear()  # seq numbers start again at 0
    gc.disable()  # a collection in this client would be charged to the server
    try:
        appender.start()
        await asyncio.to_thread(appender.join)
        if appender.exitcode != 0:
            raise RuntimeError("the appending process failed")
        await asyncio.sleep(1.0)  # stragglers
    finally:
        gc.enable()
    latencies = []
    for n, listener in enumerate(listeners):  # listener n follows job n (mod the job count)
        for seq in range(n % len(job_ids), count, len(job_ids)):
            got = listener.received.get(seq)
            latencies.append((got - sent[seq]) * 1000 if got is not None else math.inf)
    return latencies


def make_jobs(store: JobStore, tenant: str, count: int) -> list[str]:
    """QUEUED jobs written straight to the store (no queue: nothing is to run them)."""
    ids = [f"bench{os.getpid()}x{i}" for i in range(count)]
    for job_id in ids:
        store.create({"id": job_id, "tenant": tenant, "program_id": "sampler",
                      "backend": "aer_simulator", "status": "QUEUED", "tags": []}, {})
    return ids


async def run(args: argparse.Namespace, server: Server, url: str, key: str) -> list[str]:
    jobs = make_jobs(JobStore(Connection.open(url)), "bench", args.streams + 1)
    hot, others = jobs[0], jobs[1:]
    await hang_up(server, await open_many(server.port, key, [f"/v1/jobs/{hot}/events"] * 20))
    crowd = await open_many(server.port, key, [f"/v1/jobs/{hot}/events"] * args.listeners)
    rows = [await fan_out(server, url, crowd, hot, args.events, rate) for rate in (10, 50)]
    before = rss_kb(server.worker_pids)  # code paths warm, hub running, the crowd connected
    streams = await open_many(server.port, key, [f"/v1/jobs/{j}/events" for j in others])
    await asyncio.sleep(1.0)
    per_stream = (rss_kb(server.worker_pids) - before) / len(streams)
    held = len(server_sockets(server.port))
    rows += [f"open streams held by the API process(es) ({len(streams):,} jobs + the hot job's "
             f"{len(crowd)}) | {held:,} | 2,000",
             f"memory per open stream (RSS growth / {len(streams):,}) | {per_stream:.1f} KB | "
             "< 50 KB"]
    spread = await deliver(url, streams, others, len(others), 0.001)
    rows.append(f"latency, 1 event to each of {len(others):,} jobs (1,000/s) | "
                f"{_summary(spread)} | -")
    rows.append(await fan_out(server, url, crowd, hot, args.events, 10, len(streams)))
    rows.append(await hang_up(server, streams[:200]))
    for listener in streams[200:] + crowd:
        listener.close()
    return rows


async def fan_out(server: Server, url: str, crowd: list[Listener], job_id: str, events: int,
                  rate: int, besides: int = 0) -> str:
    cpu = cpu_seconds(server.worker_pids)
    latencies = await deliver(url, crowd, [job_id], events, 1 / rate)
    per_frame = (cpu_seconds(server.worker_pids) - cpu) / len(latencies) * 1e6
    where = f" + {besides:,} other streams open" if besides else ""
    return (f"latency, {len(crowd)} listeners on one job{where}, {events} events at {rate}/s "
            f"(server CPU {per_frame:.0f} µs/frame) | {_summary(latencies)} | p99 < 50 ms")


def _summary(latencies: list[float]) -> str:
    return (f"p50 {percentile(latencies, 50):.1f} / p99 {percentile(latencies, 99):.1f} / "
            f"max {max(latencies):.1f} ms")


async def hang_up(server: Server, listeners: list[Listener]) -> str:
    """Close clients abruptly; how long until the server has closed its side of each."""
    ports = {listener.port for listener in listeners}
    start = time.monotonic()
    for listener in listeners:
        listener.close()
    freed_at: dict[int, float] = {}
    while len(freed_at) < len(ports) and time.monotonic() - start < 30:
        still = server_sockets(server.port, ports)
        for port in ports - still - freed_at.keys():
            freed_at[port] = (time.monotonic() - start) * 1000
        await asyncio.sleep(0.005)
    times = list(freed_at.values()) + [math.inf] * (len(ports) - len(freed_at))
    return (f"{len(ports)} clients hang up: until the server closed its side | p50 "
            f"{percentile(times, 50):.0f} / max {max(times):.0f} ms | well under the 15 s "
            "heartbeat")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--streams", type=int, default=2000)
    parser.add_argument("--listeners", type=int, default=500)
    parser.add_argument("--events", type=int, default=200, help="per rate, on the hot job")
    parser.add_argument("--processes", type=int, default=1, help="gunicorn gevent processes")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        redis_process, url = start_redis(Path(tmp), persist=False)
        try:
            _, key = KeyStore(Connection.open(url)).create("bench")
            quotas = Quotas(Connection.open(url))  # one key stands for thousands of browsers
            quotas.set("bench", "max_streams", 10**6)
            quotas.set("bench", "requests_per_second", 10**6)
            with Server.start(url, args.processes) as server:
                rows = asyncio.run(run(args, server, url, key))
        finally:
            redis_process.terminate()
            redis_process.wait(10)
    print(f"\nbench.events: {args.processes} gunicorn gevent process(es), {os.cpu_count()} "
          "cores, loopback\n")
    print("measure | value | goal\n--- | --- | ---")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
