"""A private gateway for the bench: its own Redis, API processes and workers, on 127.0.0.1.

Started the way `tests/conftest.py` starts them (subprocesses on free ports), never against a
Redis the user runs; everything is stopped and the Redis data thrown away at the end.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import TracebackType
from unittest import mock

import redis

from core.config import Config
from core.store.api_keys import KeyStore
from core.store.connection import Connection
from scripts.local_http import wait_for_http
from scripts.local_redis import free_port, start_redis

ROOT = Path(__file__).resolve().parent.parent
GATEWAY_APP = "app:create_app()"
FLOOR_APP = "bench.floor:create_app()"


class Stack:
    """Redis plus whatever API and worker processes a figure asks for."""

    def __init__(self, web_processes: int = 2) -> None:
        self.web_processes = web_processes
        self._tmp = tempfile.TemporaryDirectory(prefix="gateway-bench-")
        self.dir = Path(self._tmp.name)
        self._redis_process, self.redis_url = start_redis(self.dir / "redis", persist=False)
        self.redis = redis.Redis.from_url(self.redis_url, decode_responses=True)
        self.env = self._environment()
        self.config = self._config()
        self._children: list[subprocess.Popen] = []

    def _environment(self) -> dict[str, str]:
        # the bench's own settings only: none of the caller's GATEWAY_* or IBM credentials
        base = {k: v for k, v in os.environ.items() if not k.startswith(("GATEWAY_", "QISKIT_IBM"))}
        path = os.pathsep.join([str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])
        # the per-key and per-tenant limits are counted (their cost is in the figures) but set
        # out of reach: one bench key and tenant stands for many clients
        limits = {"GATEWAY_KEY_REQUESTS_PER_SECOND": "100000000",
                  "GATEWAY_TENANT_SUBMITS_PER_MINUTE": "100000000",
                  "GATEWAY_TENANT_MAX_QUEUED": "100000000", "GATEWAY_TENANT_MAX_STREAMS": "1000000"}
        # the stack's API and workers count their metrics into one directory, as `make run`'s
        metrics = self.dir / "metrics"
        metrics.mkdir()
        # webhooks (figure 8) go to a receiver of the bench's own, on 127.0.0.1
        webhooks = {"GATEWAY_WEBHOOK_SECRET_KEY": secrets.token_hex(32),
                    "GATEWAY_WEBHOOK_ALLOW_NETWORKS": "127.0.0.0/8",
                    "GATEWAY_WEBHOOK_ALLOW_HTTP": "1"}
        return {**base, "REDIS_URL": self.redis_url, "GATEWAY_LOG_LEVEL": "WARNING",
                "GATEWAY_WEB_PROCESSES": str(self.web_processes), "PYTHONPATH": path,
                "PROMETHEUS_MULTIPROC_DIR": str(metrics), **limits, **webhooks}

    def _config(self) -> Config:
        """The settings the stack's processes read (Config reads only the environment)."""
        with mock.patch.dict(os.environ, self.env, clear=True):
            return Config()

    def new_key(self, tenant: str) -> str:
        connection = Connection.open(self.config.REDIS_URL, self.config.REDIS_PREFIX)
        return KeyStore(connection).create(tenant, "bench")[1]

    # -- processes ------------------------------------------------------------------------
    def spawn(self, args: list[str], log_name: str, **env: str) -> subprocess.Popen:
        log = (self.dir / f"{log_name}.log").open("ab")
        process = subprocess.Popen(args, cwd=ROOT, env={**self.env, **env}, stdout=log,
                                   stderr=subprocess.STDOUT)
        self._children.append(process)
        return process

    def start_api(self, app: str = GATEWAY_APP, processes: int | None = None,
                  worker_class: str | None = None,
                  threads: int | None = None) -> tuple[str, subprocess.Popen]:
        """gunicorn with the gateway's own settings (gevent, processes), bound to loopback;
        `processes`, `worker_class` and `threads` override those of `gunicorn.conf.py`."""
        port = free_port()
        overrides = [*(["--workers", str(processes)] if processes else []),
                     *(["--worker-class", worker_class] if worker_class else []),
                     *(["--threads", str(threads)] if threads else [])]
        process = self.spawn(
            [sys.executable, "-m", "gunicorn", "-c", str(ROOT / "gunicorn.conf.py"),
             "--bind", f"127.0.0.1:{port}", *overrides, app], f"api-{port}", PORT=str(port))
        base = f"http://127.0.0.1:{port}"
        wait_for_http(f"{base}/healthz", process)
        return base, process

    def start_workers(self, count: int, args: list[str] | None = None,
                      **env: str) -> list[subprocess.Popen]:
        """`count` workers (the gateway's `python -m workers` unless `args` says otherwise),
        each told it shares the host with `count` (its share of memory and cores)."""
        command = [sys.executable, *(args or ["-m", "workers"])]
        env = {"GATEWAY_WORKERS_PER_HOST": str(count), **env}
        started = [self.spawn(command, f"worker-{len(self._children)}", **env)
                   for _ in range(count)]
        self.wait_for_workers(started)
        return started

    def wait_for_workers(self, started: list[subprocess.Popen], seconds: float = 120) -> None:
        """Until every one of `started` has registered with RQ (so it is warm and listening)."""
        from rq import Worker

        pids = {process.pid for process in started}
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if any(process.poll() is not None for process in started):
                raise RuntimeError(f"a worker exited; see the logs in {self.dir}")
            workers = Worker.all(connection=redis.Redis.from_url(self.redis_url))
            if pids <= {worker.pid for worker in workers}:
                return
            time.sleep(0.1)
        raise RuntimeError("the workers did not start")

    def stop(self, processes: list[subprocess.Popen]) -> None:
        for process in processes:
            if process.poll() is None:
                process.terminate()
        for process in processes:
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            if process in self._children:
                self._children.remove(process)

    def close(self) -> None:
        self.stop(list(self._children))
        self._redis_process.terminate()
        self._redis_process.wait(10)
        self._tmp.cleanup()

    def __enter__(self) -> Stack:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.close()

