"""Event streams under load, on loopback: `python -m bench.events [--help]`.

Starts a private Redis and the API under gunicorn with one gevent process (no RQ worker: the
bench appends events the way a worker does, through JobStore), then measures:
  1. delivery latency from the append to the client's receipt with 500 listeners on one job
     (goal: p99 < 50 ms), at 10 and 50 events/s;
  2. open streams held by that process and its memory per stream (goal: 2,000 at < 50 KB),
     and latency with all of them open (one event per job; then the 500 listeners again);
  3. how fast the server lets go of clients that disconnect (heartbeat left at 15 s);
  4. 10,000 dashboards (`GET /v1/events`, another tenant's) held by one fresh API process
     (GATEWAY_WEB_CONNECTIONS raised to have room for them; warmed by 100 streams opened and
     closed, so that first-use costs are not counted, but no heap left grown by the streams
     above): memory per stream (goal: at most 20 KB), and one status event's delivery to all of
     them (goal: p99 < 1 s).
The clients are raw asyncio sockets, so that client-side parsing adds as little as possible.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
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

DASHBOARDS = "dashboards"  # the tenant whose stream the dashboards follow (no jobs of its own)


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


class Dashboard(Listener):
    """A tenant stream's client, opened on a tenant with no events yet: open at its `retry:`."""

    def data_received(self, data: bytes) -> None:
        if b"retry:" in data:
            self.opened.set()
        super().data_received(data)


async def open_listener(port: int, key: str, path: str,
                        kind: type[Listener] = Listener) -> Listener:
    loop = asyncio.get_running_loop()
    transport, listener = await loop.create_connection(kind, "127.0.0.1", port)
    request = (f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {key}\r\n"
               "Accept: text/event-stream\r\n\r\n")
    transport.write(request.encode())
    await asyncio.wait_for(listener.opened.wait(), 60)
    return listener


async def open_many(port: int, key: str, paths: list[str], batch: int = 50,
                    kind: type[Listener] = Listener) -> list[Listener]:
    """Open in batches: more at once than the API's Redis pool (100) would get 503s."""
    opened: list[Listener] = []
    for start in range(0, len(paths), batch):
        opened += await asyncio.gather(*(open_listener(port, key, p, kind)
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


async def dashboards(server: Server, url: str, key: str, count: int) -> list[str]:
    """`count` tenant streams of one tenant in the process: memory per stream, and how long
    one status event (a new job's, as the tenant's stream carries it) takes to reach each."""
    for listener in await open_many(server.port, key, ["/v1/events"] * 100, kind=Dashboard):
        listener.close()  # the code paths, the hub's reader and alarms: started
    await asyncio.sleep(2.0)  # the server lets go of them
    gc.collect()
    before = rss_kb(server.worker_pids)
    crowd = await open_many(server.port, key, ["/v1/events"] * count, kind=Dashboard)
    await asyncio.sleep(2.0)  # the last ones' first heartbeat alarms set, allocations settled
    per_stream = (rss_kb(server.worker_pids) - before) / count
    tenant_events = JobStore(Connection.open(url)).tenant_events_key(DASHBOARDS)
    writer = Connection.open(url).text
    latencies: list[float] = []
    cpu = cpu_seconds(server.worker_pids)
    for seq in range(3):  # a few events, one at a time: each one's delivery to all
        for listener in crowd:
            listener.received.clear()
        gc.disable()  # a collection in this client would be charged to the server
        sent = time.monotonic()
        writer.xadd(tenant_events, {"kind": "status", "data": json.dumps(
            {"seq": seq, "job_id": f"new{seq}", "status": "QUEUED", "at": "now"})})
        while (sum(seq in listener.received for listener in crowd) < count
               and time.monotonic() - sent < 10):
            await asyncio.sleep(0.01)
        gc.enable()
        latencies += [(listener.received[seq] - sent) * 1000 if seq in listener.received
                      else math.inf for listener in crowd]
        await asyncio.sleep(0.5)
    per_event = (cpu_seconds(server.worker_pids) - cpu) / 3 * 1000  # with 1.5 s of heartbeats
    for listener in crowd:
        listener.close()
    return [f"memory per open stream, {count:,} tenant streams in one process (RSS growth / "
            f"{count:,}; a fresh process) | {per_stream:.1f} KB | ≤ 20 KB",
            f"latency, 1 status event to each of {count:,} tenant streams of one process "
            f"(3 events, one at a time; server CPU {per_event:.0f} ms per event) | "
            f"{_summary(latencies)} | p99 < 1,000 ms"]


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
    parser.add_argument("--dashboards", type=int, default=10_000,
                        help="tenant streams held at once by a fresh process, at the end "
                             "(0: none)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        redis_process, url = start_redis(Path(tmp), persist=False)
        try:
            _, key = KeyStore(Connection.open(url)).create("bench")
            _, args.dashboards_key = KeyStore(Connection.open(url)).create(DASHBOARDS)
            quotas = Quotas(Connection.open(url))  # one key stands for thousands of browsers
            for tenant in ("bench", DASHBOARDS):
                quotas.set(tenant, "max_streams", 10**6)
                quotas.set(tenant, "requests_per_second", 10**6)
            with Server.start(url, args.processes) as server:
                rows = asyncio.run(run(args, server, url, key))
            if args.dashboards:  # a tenth of the connections is kept for other requests
                # (app/services/streams.py): room for the dashboards beside it
                connections = max(10_000, (args.dashboards + 100) * 10 // 9 + 1)
                with Server.start(url, 1, connections) as server:
                    rows += asyncio.run(dashboards(server, url, args.dashboards_key,
                                                   args.dashboards))
        finally:
            redis_process.terminate()
            redis_process.wait(10)
    print(f"\nbench.events: {args.processes} gunicorn gevent process(es), {os.cpu_count()} "
          "cores, loopback\n")
    print("measure | value | goal\n--- | --- | ---")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
