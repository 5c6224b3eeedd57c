"""`make run` supervises: a worker that dies is started again while the API goes on serving, and
Ctrl-C still stops everything (the webhook deliverer too)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx

from scripts.local_http import wait_for_http
from scripts.local_redis import free_port
from tests.conftest import ROOT
from tests.events_helpers import eventually

WORKER = "\0workers\0"  # `-m workers`, not `-m workers.webhooks`


def children(pid: int, marker: str) -> set[int]:
    """Pids of `pid`'s children whose command line holds `marker`."""
    found = set()
    for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split():
        with open(f"/proc/{child}/cmdline", "rb") as cmdline:
            if marker.encode() in cmdline.read():
                found.add(int(child))
    return found


def test_make_run_restarts_a_dead_worker_and_stops_on_ctrl_c(env: dict[str, str]) -> None:
    port = free_port()
    launcher = subprocess.Popen(
        [sys.executable, "-m", "scripts.run_local"], cwd=ROOT, start_new_session=True,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        env={**env, "REDIS_URL": env["REDIS_URL"].rsplit("/", 1)[0] + "/3", "PORT": str(port),
             "GATEWAY_WEB_PROCESSES": "1", "GATEWAY_WORKERS": "1",
             "GATEWAY_API_KEYS": "sup:supervised-key-0123456789"})
    try:
        base = f"http://127.0.0.1:{port}"
        wait_for_http(f"{base}/healthz", launcher)
        assert eventually(lambda: len(children(launcher.pid, WORKER)) == 1, 30)
        assert eventually(lambda: len(children(launcher.pid, "workers.webhooks")) == 1, 30)
        (victim,) = children(launcher.pid, WORKER)
        os.kill(victim, signal.SIGKILL)
        assert httpx.get(f"{base}/healthz", timeout=5).status_code == 200  # the API serves on
        assert eventually(lambda: children(launcher.pid, WORKER) - {victim} != set(), 15)
        os.killpg(launcher.pid, signal.SIGINT)  # Ctrl-C reaches the whole process group
        output, _ = launcher.communicate(timeout=20)
        assert "worker-1 exited (code -9)" in output and output.rstrip().endswith("stopped")
    finally:
        if launcher.poll() is None:
            os.killpg(launcher.pid, signal.SIGKILL)
