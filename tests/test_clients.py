"""Clients generated from the committed openapi.yaml, as users generate them, running one short
session against the live gateway: TypeScript (openapi-typescript + openapi-fetch, strict tsc,
the eventsource package) in Node, and Python (openapi-python-client). The scenarios are
clients/ts/scenario.ts and clients/python/scenario.py; the README shows them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from core.store.api_keys import KeyStore
from tests.conftest import ROOT

TS_DIR = ROOT / "clients" / "ts"


def run_scenario(command: list[str], cwd: Path, keys: KeyStore, server: str,
                 **env: str) -> dict:
    """Run a scenario as a fresh tenant; its last output line is its JSON summary."""
    _, key = keys.create(f"t-{uuid.uuid4().hex[:12]}")
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=120,
                          env={**os.environ, "GATEWAY_URL": server, "GATEWAY_KEY": key, **env})
    assert done.returncode == 0, done.stdout + done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def check_summary(summary: dict) -> None:
    assert summary["statuses"][-1] == "DONE" and "QUEUED" in summary["statuses"]
    assert {"log", "interim", "result"} <= set(summary["kinds"])
    assert sum(summary["counts"].values()) == 100 and set(summary["counts"]) <= {"00", "11"}
    assert summary["samples"] == 100 and summary["listed"] >= 1
    assert summary["cancelled"] == "CANCELLED" and summary["refused"].endswith("/invalid-state")


def test_a_generated_typescript_client_runs_a_session(keys: KeyStore, server: str) -> None:
    if not (TS_DIR / "node_modules").is_dir():
        pytest.fail("clients/ts/node_modules is missing: run `make test` (it runs npm ci)")
    built = subprocess.run(["npm", "run", "--silent", "build"], cwd=TS_DIR, capture_output=True,
                           text=True, timeout=120)
    assert built.returncode == 0, built.stdout + built.stderr  # strict tsc: types fit the code
    check_summary(run_scenario(["node", "build/scenario.js"], TS_DIR, keys, server))


def test_a_generated_python_client_runs_a_session(keys: KeyStore, server: str,
                                                  tmp_path: Path) -> None:
    generated = subprocess.run(
        [str(Path(sys.executable).parent / "openapi-python-client"), "generate",
         "--path", str(ROOT / "openapi.yaml"), "--meta", "none",
         "--output-path", str(tmp_path / "gateway_client")],
        capture_output=True, text=True, timeout=120,  # with ruff on PATH, for its formatting
        env={**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"})
    assert generated.returncode == 0, generated.stdout + generated.stderr
    assert "Warning" not in generated.stdout + generated.stderr, generated.stdout
    check_summary(run_scenario([sys.executable, str(ROOT / "clients" / "python" / "scenario.py")],
                               tmp_path, keys, server, PYTHONPATH=str(tmp_path)))
