"""What the webhook tests share: a receiver process that verifies every delivery with the
`standardwebhooks` library (`tests/webhook_receiver.py`), and deliverer processes
(`python -m workers.webhooks`), each in a process group of its own so that a test can kill it
the way a host dies."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import ROOT, free_port, stop
from tests.waiting import eventually

ALL_JOB_EVENTS = ["job.queued", "job.running", "job.done", "job.error", "job.cancelled"]


@dataclass
class Receiver:
    directory: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen | None = None

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def configure(self, path: str, secret: str, script: tuple[str, ...] = ()) -> None:
        """What `path` verifies with, and what its first requests do (then "ok")."""
        config_file = self.directory / "config.json"
        config = json.loads(config_file.read_text()) if config_file.exists() else {}
        config[path] = {"secret": secret, "script": list(script)}
        staged = self.directory / "config.json.new"
        staged.write_text(json.dumps(config))
        staged.replace(config_file)  # read whole at every request

    def start(self) -> None:
        (self.directory / "ready").unlink(missing_ok=True)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.webhook_receiver", str(self.port), str(self.directory)],
            cwd=ROOT, start_new_session=True)
        eventually(lambda: (self.directory / "ready").exists(), 10, "the receiver to listen")

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def requests(self, path: str | None = None) -> list[dict[str, Any]]:
        log = self.directory / "requests.jsonl"
        lines = log.read_text().splitlines() if log.exists() else []
        return [r for r in map(json.loads, lines) if path is None or r["path"] == path]

    def delivered(self, path: str) -> dict[str, dict[str, Any]]:
        """The events `path` accepted (signature verified), by webhook-id: duplicates merged."""
        return {r["webhook_id"]: r for r in self.requests(path)
                if r["verified"] and r["step"] in ("ok", "slow")}


@pytest.fixture
def receiver(tmp_path: Path) -> Iterator[Receiver]:
    found = Receiver(tmp_path / "receiver")
    found.directory.mkdir()
    found.start()
    yield found
    found.kill()


def start_deliverer(env: dict[str, str], log: Path, **overrides: str) -> subprocess.Popen:
    with log.open("a") as out:
        return subprocess.Popen([sys.executable, "-m", "workers.webhooks"], cwd=ROOT,
                                env={**env, "GATEWAY_LOG_LEVEL": "INFO", **overrides},
                                stdout=out, stderr=subprocess.STDOUT, start_new_session=True)


def kill(process: subprocess.Popen) -> None:
    """SIGKILL to the whole process group: no goodbye, leases left behind."""
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()


@pytest.fixture
def deliverer(env: dict[str, str], tmp_path: Path) -> Iterator[subprocess.Popen]:
    process = start_deliverer(env, tmp_path / "deliverer.log")
    yield process
    stop(process)


def endpoint(http: httpx.Client, receiver: Receiver, path: str, events: list[str],
             script: tuple[str, ...] = ()) -> dict[str, Any]:
    """A new endpoint of `http`'s tenant at `path` of the receiver, which knows its secret."""
    answer = http.post("/v1/webhooks", json={"url": receiver.url(path), "events": events})
    assert answer.status_code == 201, answer.text
    created = answer.json()
    receiver.configure(path, created["secret"], script)
    return created
