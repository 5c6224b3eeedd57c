"""A gateway of a test module's own: its Redis, its API under gunicorn and one worker, started
with settings of its own (metrics, tracing, log format), each process's output in a file."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx

from scripts.local_http import launch_api, wait_for_http
from scripts.local_redis import start_redis
from tests.conftest import ROOT, stop


class PrivateGateway:
    def __init__(self, env: dict[str, str], directory: Path, keys: dict[str, str],
                 processes: int = 1, **settings: str) -> None:
        """`keys`: tenant -> key (GATEWAY_API_KEYS); `settings`: more environment."""
        self.directory = directory
        self.redis, self.redis_url = start_redis(directory / "redis", persist=False)
        self.env = {**env, "REDIS_URL": self.redis_url, "GATEWAY_WORKER_PREWARM": "aer_simulator",
                    "GATEWAY_API_KEYS": ",".join(f"{t}:{k}" for t, k in keys.items()),
                    **settings}
        self.keys = keys
        with (directory / "worker.log").open("w") as out:
            self.worker = subprocess.Popen([sys.executable, "-m", "workers"], cwd=ROOT,
                                           env=self.env, stdout=out, stderr=subprocess.STDOUT,
                                           start_new_session=True)
        self.base, self.api = launch_api(self.env, processes, log=directory / "api.log")
        try:
            wait_for_http(f"{self.base}/readyz", self.api, 120)  # ready: its worker is up
        except RuntimeError:
            self.close()
            raise

    def client(self, tenant: str, **headers: str) -> httpx.Client:
        return httpx.Client(base_url=self.base, timeout=60, headers={
            "Authorization": f"Bearer {self.keys[tenant]}", **headers})

    def output(self, name: str) -> str:
        """What the `api` or the `worker` wrote so far."""
        return (self.directory / f"{name}.log").read_text()

    def close(self) -> None:
        for process in (self.api, self.worker, self.redis):
            stop(process)
