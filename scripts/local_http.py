"""Wait for a server the tests or the bench started to answer (httpx: a dev requirement)."""

from __future__ import annotations

import subprocess
import time

import httpx


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
