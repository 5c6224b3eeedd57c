"""The console at /console: its headers and files here, and a person's use of it in a real
browser (Debian's chromium driven by playwright-core, tests/browser/console.mjs) against the
live gateway, workers and Redis of tests/conftest.py. `make test` installs the browser and the
npm package; screenshots land in test-artefacts/console/."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import uuid
from pathlib import Path

import httpx
import pytest

from core.store.api_keys import KeyStore
from tests.conftest import ROOT, slow_circuit
from tests.webhooks_helpers import Receiver, deliverer, receiver

__all__ = ["deliverer", "receiver"]  # fixtures

BROWSER_TESTS = ROOT / "tests" / "browser"
ARTEFACTS = ROOT / "test-artefacts" / "console"
CONSOLE_FILES = ROOT / "app" / "static" / "console"
SVG_NAMESPACE = "http://www.w3.org/2000/svg"  # a name, never fetched


def test_the_console_page_is_served_with_a_policy_that_keeps_it_on_the_gateway(
        server: str) -> None:
    page = httpx.get(f"{server}/console")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert 'for="api-key">API key</label>' in page.text
    script = httpx.get(f"{server}/console/js/main.js")
    assert script.status_code == 200
    assert script.headers["content-type"].startswith("text/javascript")
    for response in (page, script):
        policy = response.headers["content-security-policy"]
        assert "default-src 'self'" in policy and "connect-src 'self'" in policy
        assert response.headers["x-content-type-options"] == "nosniff"
    assert httpx.get(f"{server}/console/").status_code == 200


def test_unknown_console_files_are_problems_and_nothing_outside_is_served(server: str) -> None:
    for path in ("/console/nope.js", "/console/../app/__init__.py", "/console/%2e%2e/console.py",
                 "/static/console/index.html"):
        response = httpx.get(f"{server}{path}")
        assert response.status_code == 404, path
        assert response.headers["content-type"] == "application/problem+json"


def test_no_console_file_names_another_host() -> None:
    files = [p for p in CONSOLE_FILES.rglob("*") if p.is_file()]
    assert len(files) >= 5
    for path in files:
        text = path.read_text().replace(SVG_NAMESPACE, "")
        assert not re.search(r"(https?:)?//[a-z0-9.-]+\.[a-z]{2,}", text, re.I), path


def browser_tools() -> tuple[str, Path]:
    """Chromium and the npm packages; missing ones skip the test, except in CI where
    `make test` must have installed them."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    node = shutil.which("node")
    installed = (BROWSER_TESTS / "node_modules" / "playwright-core").is_dir()
    if chromium and node and installed:
        return chromium, Path(node)
    missing = "chromium, node and `npm ci` in tests/browser (`make test` does all three)"
    if os.environ.get("CI"):
        pytest.fail(f"the browser test needs {missing}")
    pytest.skip(f"the browser test needs {missing}")


def test_a_person_uses_the_console_in_chromium(keys: KeyStore, server: str, receiver: Receiver,
                                              deliverer: subprocess.Popen) -> None:
    chromium, node = browser_tools()
    _, key = keys.create(f"console-{uuid.uuid4().hex[:8]}")
    for old in ARTEFACTS.glob("*.png"):
        old.unlink()
    env = {**os.environ, "BASE_URL": server, "API_KEY": key, "CHROMIUM": chromium,
           "SLOW_CIRCUIT": slow_circuit(), "ARTEFACTS": str(ARTEFACTS),
           "RECEIVER_URL": receiver.url("/console"), "RECEIVER_DIR": str(receiver.directory)}
    run = subprocess.run([str(node), "console.mjs"], cwd=BROWSER_TESTS, env=env,
                         capture_output=True, text=True, timeout=120)
    print(run.stdout)
    assert run.returncode == 0, f"{run.stdout}\n{run.stderr}"
    assert "all passed" in run.stdout
    assert (ARTEFACTS / "job-bell.png").stat().st_size > 10_000  # the screenshot artefact
    assert {r["type"] for r in receiver.delivered("/console").values()} >= {
        "webhook.test", "job.queued", "job.done"}  # verified with the secret the page showed
