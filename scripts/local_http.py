"""Start the API under gunicorn on loopback and wait for it to answer (httpx: a dev requirement).

The tests and the bench start servers through here, so that all of them run the gateway's own
gunicorn settings, bind 127.0.0.1 only, and fail fast if the server exits while starting."""

from __future__ import annotations

import contextlib
import subprocess
import sys
import time
from pathlib import Path

import httpx

from scripts.local_redis import free_port

ROOT = Path(__file__).resolve().parent.parent


def wait_for_http(url: str, process: subprocess.Popen, seconds: float = 60) -> None:
    """Until `url` answers 200; RuntimeError if `process` exits first or time runs out."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{url}: the server exited")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer 200 within {seconds:g} s")


def start_api(env: dict[str, str], processes: int = 1, ready: str = "/readyz",
              log: Path | None = None) -> tuple[str, subprocess.Popen]:
    """`gunicorn 'app:create_app()'` with gunicorn.conf.py, `processes` gevent processes and the
    settings in `env`, on a free port of 127.0.0.1 (output to `log` if given); once `ready`
    answers 200: (base URL, the gunicorn master)."""
    base, process = launch_api(env, processes, log)
    try:
        wait_for_http(base + ready, process)
    except RuntimeError:
        process.kill()
        process.wait()
        raise
    return base, process


def launch_api(env: dict[str, str], processes: int = 1, log: Path | None = None,
               own_session: bool = False) -> tuple[str, subprocess.Popen]:
    """The same, without waiting for it to answer (to start several at once); with
    `own_session`, in a process group of its own, so that a test can kill it all at once."""
    port = free_port()
    command = [sys.executable, "-m", "gunicorn", "-c", str(ROOT / "gunicorn.conf.py"),
               "--bind", f"127.0.0.1:{port}", "app:create_app()"]
    settings = {**env, "PORT": str(port), "GATEWAY_WEB_PROCESSES": str(processes)}
    with log.open("w") if log else contextlib.nullcontext() as out:
        process = subprocess.Popen(command, cwd=ROOT, env=settings, stdout=out,
                                   stderr=subprocess.STDOUT if out else None,
                                   start_new_session=own_session)
    return f"http://127.0.0.1:{port}", process
