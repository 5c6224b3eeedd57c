"""HTTP load for figure 1: wrk when it is installed, else a small asyncio generator.

wrk (Debian/Ubuntu: `apt-get install wrk`; macOS: `brew install wrk`) is preferred: written in C,
it leaves more of the machine to the server. The fallback keeps `make bench` working with nothing
but Python; it needs a core of its own, so its absolute req/s are lower, but the gateway and its
floor are measured with the same generator, and only their ratio is a figure.
"""

from __future__ import annotations

import asyncio
import re
import shutil
import subprocess
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

CONNECTIONS = 32


@dataclass(frozen=True)
class Load:
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    errors: int


def generator_name() -> str:
    wrk = shutil.which("wrk")
    if wrk is None:
        return "asyncio fallback (wrk not installed)"
    banner = subprocess.run([wrk, "--version"], capture_output=True, text=True).stdout
    return banner.split(" [")[0].strip() or "wrk"


def run_load(url: str, seconds: float, headers: dict[str, str] | None = None,
             connections: int = CONNECTIONS) -> Load:
    """GET `url` over `connections` keep-alive connections for `seconds`."""
    if shutil.which("wrk"):
        return _wrk(url, seconds, headers or {}, connections)
    return asyncio.run(_python_load(url, seconds, headers or {}, connections))


# -- wrk -------------------------------------------------------------------------------------
_UNIT_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}


def _wrk(url: str, seconds: float, headers: dict[str, str], connections: int) -> Load:
    args = ["wrk", "-t1", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--latency"]
    for name, value in headers.items():
        args += ["-H", f"{name}: {value}"]
    out = subprocess.run([*args, url], capture_output=True, text=True, check=True).stdout
    return Load(
        requests_per_second=float(_find(r"Requests/sec:\s+([\d.]+)", out)),
        p50_ms=_latency(out, "50%"),
        p99_ms=_latency(out, "99%"),
        errors=_wrk_errors(out),
    )


def _find(pattern: str, text: str) -> str:
    match = re.search(pattern, text)
    if match is None:
        raise RuntimeError(f"unexpected wrk output:\n{text}")
    return match.group(1)


def _latency(out: str, percentile: str) -> float:
    match = re.search(rf"^\s+{re.escape(percentile)}\s+([\d.]+)(us|ms|s|m)\s*$", out, re.M)
    if match is None:
        raise RuntimeError(f"no {percentile} latency in wrk output:\n{out}")
    return float(match.group(1)) * _UNIT_MS[match.group(2)]


def _wrk_errors(out: str) -> int:
    errors = sum(int(n) for n in re.findall(r"(?:connect|read|write|timeout) (\d+)", out))
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return errors + (int(non_2xx.group(1)) if non_2xx else 0)


# -- the pure-Python fallback ----------------------------------------------------------------
async def _python_load(url: str, seconds: float, headers: dict[str, str],
                       connections: int) -> Load:
    parts = urlsplit(url)
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    lines = [f"GET {target} HTTP/1.1", f"Host: {parts.netloc}",
             *(f"{k}: {v}" for k, v in headers.items())]
    request = ("\r\n".join(lines) + "\r\n\r\n").encode()
    deadline = time.monotonic() + seconds
    latencies: list[float] = []
    errors = [0]
    started = time.monotonic()
    await asyncio.gather(*(
        _connection(parts.hostname or "127.0.0.1", parts.port or 80, request, deadline,
                    latencies, errors) for _ in range(connections)))
    elapsed = time.monotonic() - started
    latencies.sort()
    return Load(len(latencies) / elapsed, _percentile(latencies, 0.50),
                _percentile(latencies, 0.99), errors[0])


async def _connection(host: str, port: int, request: bytes, deadline: float,
                      latencies: list[float], errors: list[int]) -> None:
    """One client: requests over a keep-alive connection, and a new connection whenever the
    server closes it (a sync gunicorn worker closes every one; wrk reconnects alike)."""
    reader, writer = await asyncio.open_connection(host, port)
    try:
        while time.monotonic() < deadline:
            tic = time.monotonic()
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            length = re.search(rb"(?i)\r\ncontent-length:\s*(\d+)", head)
            await reader.readexactly(int(length.group(1)) if length else 0)
            if re.search(rb"(?i)\r\nconnection:\s*close", head):
                writer.close()
                reader, writer = await asyncio.open_connection(host, port)
            latencies.append((time.monotonic() - tic) * 1000)
            if not head.startswith(b"HTTP/1.1 2"):
                errors[0] += 1
    finally:
        writer.close()


def _percentile(ordered: list[float], fraction: float) -> float:
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]
