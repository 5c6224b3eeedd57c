"""`make run` supervises: a worker that dies is started again while the API goes on serving;
Ctrl-C stops everything (the webhook deliverer too) without a traceback, saying what it waits
for, and a second Ctrl-C stops it at once. It listens on loopback unless GATEWAY_BIND says
otherwise."""

from __future__ import annotations

import os
import re
import runpy
import signal
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from unittest import mock

import httpx
import redis

from core.config import Config
from core.store.connection import Connection
from core.store.jobs import JobStore
from scripts.local_http import launch_api, wait_for_http
from scripts.local_redis import free_port
from scripts.run_local import banner
from tests.conftest import ROOT, sampler_job, slow_circuit, submit
from tests.events_helpers import eventually
from tests.test_operations import wait_for_status

KEY = "supervised-key-0123456789"


class MakeRun:
    """`python -m scripts.run_local` on a Redis database of its own, its output collected."""

    def __init__(self, env: dict[str, str], database: int, **settings: str) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.redis_url = env["REDIS_URL"].rsplit("/", 1)[0] + f"/{database}"
        self.metrics = tempfile.TemporaryDirectory(prefix="gateway-test-metrics-")  # not ./var's
        self.process = subprocess.Popen(
            [sys.executable, "-m", "scripts.run_local"], cwd=ROOT, start_new_session=True,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            env={**env, "REDIS_URL": self.redis_url, "PORT": str(self.port),
                 "GATEWAY_WEB_PROCESSES": "1", "GATEWAY_API_KEYS": f"sup:{KEY}",
                 "PROMETHEUS_MULTIPROC_DIR": self.metrics.name, **settings})
        self.lines: list[str] = []
        threading.Thread(target=self._collect, daemon=True).start()

    def _collect(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line)

    @property
    def output(self) -> str:
        return "".join(self.lines)

    def ctrl_c(self) -> None:
        os.killpg(self.process.pid, signal.SIGINT)  # what a terminal sends its foreground group

    def stopped(self, seconds: float) -> str:
        """Its whole output, once it has exited within `seconds`."""
        self.process.wait(seconds)
        eventually(lambda: self.output.rstrip().endswith("stopped"), 5, "the last line")
        return self.output

    def close(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
        redis.Redis.from_url(self.redis_url).flushdb()
        self.metrics.cleanup()

WORKER = "\0workers\0"  # `-m workers`, not `-m workers.webhooks`


def children(pid: int, marker: str) -> set[int]:
    """Pids of `pid`'s children whose command line holds `marker`."""
    found = set()
    for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split():
        with open(f"/proc/{child}/cmdline", "rb") as cmdline:
            if marker.encode() in cmdline.read():
                found.add(int(child))
    return found


def listening(port: int) -> set[str]:
    """The IPv4 and IPv6 addresses (hex, as /proc/net shows them) listening on `port`."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, port_hex = local.split(":")
            if state == "0A" and int(port_hex, 16) == port:
                found.add(address)
    return found


def test_make_run_restarts_a_dead_worker_and_stops_on_ctrl_c(env: dict[str, str]) -> None:
    run = MakeRun(env, 3, GATEWAY_WORKERS="1")
    try:
        wait_for_http(f"{run.base}/healthz", run.process)
        assert f"Quantum jobs gateway on {run.base}" in run.output
        assert listening(run.port) == {"0100007F"}  # 127.0.0.1 only
        assert eventually(lambda: len(children(run.process.pid, WORKER)) == 1, 30)
        assert eventually(lambda: len(children(run.process.pid, "workers.webhooks")) == 1, 30)
        (victim,) = children(run.process.pid, WORKER)
        os.kill(victim, signal.SIGKILL)
        assert httpx.get(f"{run.base}/healthz", timeout=5).status_code == 200  # it serves on
        assert eventually(lambda: children(run.process.pid, WORKER) - {victim} != set(), 15)
        restarts = 'gateway_process_restarts_total{process="worker",reason="exited"} 1.0'
        assert restarts in httpx.get(f"{run.base}/metrics", timeout=5).text  # the supervisor's
        run.ctrl_c()
        output = run.stopped(20)
        assert "worker-1 exited (code -9)" in output and "Traceback" not in output
    finally:
        run.close()


def test_ctrl_c_waits_for_a_running_job_and_a_second_one_stops_at_once(
        env: dict[str, str]) -> None:
    run = MakeRun(env, 5, GATEWAY_WORKERS="1", GATEWAY_LOG_LEVEL="INFO")
    try:
        wait_for_http(f"{run.base}/readyz", run.process)  # ready: its worker is up
        with httpx.Client(base_url=run.base, headers={"Authorization": f"Bearer {KEY}"},
                          timeout=60) as http:
            job = submit(http, sampler_job(slow_circuit(22, 50), shots=10))
            wait_for_status(http, job["id"], "RUNNING")
        run.ctrl_c()
        eventually(lambda: "waiting for 1 worker to finish its job (up to 30 s)" in run.output,
                   10, "the supervisor to say what it waits for")
        run.ctrl_c()
        output = run.stopped(15)
        assert "stopping at once" in output and "Traceback" not in output
        assert re.search(r"stopping: no new job; the running one has 30 s", output)
        handed_back = JobStore(Connection.open(run.redis_url)).get(job["id"])
        assert handed_back is not None and handed_back["status"] == "QUEUED"
    finally:
        run.close()


def test_ctrl_c_on_gunicorn_alone_prints_no_traceback(env: dict[str, str],
                                                      tmp_path: Path) -> None:
    base, api = launch_api(env, processes=1, log=tmp_path / "api.log", own_session=True)
    try:
        wait_for_http(f"{base}/healthz", api)
        os.killpg(api.pid, signal.SIGINT)  # its worker: the terminal's SIGINT, then the master's
        assert api.wait(15) == 0
        assert "Traceback" not in (tmp_path / "api.log").read_text()
    finally:
        if api.poll() is None:
            os.killpg(api.pid, signal.SIGKILL)


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
