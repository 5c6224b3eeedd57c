"""What the benchmarks share: the API under gunicorn on 127.0.0.1, and reading /proc."""

from __future__ import annotations

import math
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from scripts.local_http import wait_for_http
from scripts.local_redis import free_port

ROOT = Path(__file__).resolve().parent.parent
HELD = ("01", "08")  # ESTABLISHED, CLOSE_WAIT: the server still holds the connection


@dataclass
class Server:
    port: int
    master: subprocess.Popen
    worker_pids: list[int]

    @classmethod
    @contextmanager
    def start(cls, redis_url: str, processes: int = 1,
              connections: int = 10_000) -> Iterator[Server]:
        """gunicorn with `processes` gevent processes of `connections` connections each, bound
        to loopback only."""
        port = free_port()
        env = {**{k: v for k, v in os.environ.items() if not k.startswith("GATEWAY_")},
               "REDIS_URL": redis_url, "GATEWAY_WEB_PROCESSES": str(processes),
               "GATEWAY_WEB_CONNECTIONS": str(connections),
               "GATEWAY_LOG_LEVEL": "WARNING", "PYTHONPATH": str(ROOT)}
        master = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", str(ROOT / "gunicorn.conf.py"),
             "--bind", f"127.0.0.1:{port}", "app:create_app()"], cwd=ROOT, env=env)
        try:
            wait_for_http(f"http://127.0.0.1:{port}/healthz", master)
            yield cls(port, master, _children(master.pid, processes))
        finally:
            master.terminate()
            master.wait(30)


def _children(pid: int, expected: int) -> list[int]:
    for _ in range(100):  # the master forks its workers a moment after it starts serving
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        if len(children) == expected:
            return [int(child) for child in children]
        time.sleep(0.1)
    raise RuntimeError(f"expected {expected} gunicorn workers, found {children}")


def rss_kb(pids: list[int]) -> int:
    """Resident memory of the processes, summed."""
    total = 0
    for pid in pids:
        status = Path(f"/proc/{pid}/status").read_text()
        total += int(status.split("VmRSS:")[1].split()[0])
    return total


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time the processes have used, summed."""
    total = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def server_sockets(port: int, peers: set[int] | None = None) -> set[int]:
    """Client ports whose connection the server on `port` still holds (among `peers`)."""
    held = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        local, remote, state = line.split()[1:4]
        peer = int(remote.split(":")[1], 16)
        if int(local.split(":")[1], 16) == port and state in HELD and (
                peers is None or peer in peers):
            held.add(peer)
    return held


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return math.nan
    return ordered[min(len(ordered) - 1, math.ceil(pct / 100 * len(ordered)) - 1)]
