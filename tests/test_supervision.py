"""`make run` supervises: a worker that dies is started again while the API goes on serving, and
Ctrl-C still stops everything. It listens on loopback unless GATEWAY_BIND says otherwise."""

from __future__ import annotations

import os
import runpy
import signal
import subprocess
import sys
from pathlib import Path
from unittest import mock

import httpx

from core.config import Config
from scripts.local_http import wait_for_http
from scripts.local_redis import free_port
from scripts.run_local import banner
from tests.conftest import ROOT
from tests.events_helpers import eventually


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
        assert eventually(lambda: len(children(launcher.pid, "workers")) == 1, 30)
        (victim,) = children(launcher.pid, "workers")
        os.kill(victim, signal.SIGKILL)
        assert httpx.get(f"{base}/healthz", timeout=5).status_code == 200  # the API serves on
        assert eventually(lambda: children(launcher.pid, "workers") - {victim} != set(), 15)
        os.killpg(launcher.pid, signal.SIGINT)  # Ctrl-C reaches the whole process group
        output, _ = launcher.communicate(timeout=20)
        assert "worker-1 exited (code -9)" in output and output.rstrip().endswith("stopped")
    finally:
        if launcher.poll() is None:
            os.killpg(launcher.pid, signal.SIGKILL)


def test_the_api_listens_on_loopback_unless_gateway_bind_says_otherwise() -> None:
    for bind, address in ((None, "127.0.0.1:8000"), ("0.0.0.0", "0.0.0.0:8000"),
                          ("::", "[::]:8000")):
        settings = {"PORT": "8000", **({"GATEWAY_BIND": bind} if bind else {})}
        with mock.patch.dict(os.environ, settings, clear=True):
            assert runpy.run_path(str(ROOT / "gunicorn.conf.py"))["bind"] == address
            shown = banner(Config())
        assert f"http://{address}" in shown
        assert ("other machines can reach the API" in shown) == (bind is not None)
    # the container images listen on every interface of their container
    assert "GATEWAY_BIND=0.0.0.0" in (ROOT / "Dockerfile").read_text()
    assert 'GATEWAY_BIND: "0.0.0.0"' in (ROOT / "docker-compose.yml").read_text()
