"""The README's "Requests, by example" runs as written: its shell blocks, in order, with curl
against the test gateway, print the answers it shows."""

from __future__ import annotations

import json
import os
import re
import subprocess
import uuid

from core.store.api_keys import KeyStore
from tests.conftest import ROOT


def readme_examples() -> str:
    text = (ROOT / "README.md").read_text()
    section = text.split("<!-- examples -->", 1)[1].split("<!-- /examples -->", 1)[0]
    return "\n".join(re.findall(r"```sh\n(.*?)```", section, flags=re.S))


def test_the_readmes_examples_run_as_written(keys: KeyStore, server: str) -> None:
    _, key = keys.create(f"t-{uuid.uuid4().hex[:12]}")
    ran = subprocess.run(["bash", "-euo", "pipefail", "-c", readme_examples()],
                         env={**os.environ, "GW": server, "GATEWAY_KEY": key},
                         capture_output=True, text=True, timeout=120, check=False)
    assert ran.returncode == 0, ran.stderr
    sweep, estimate, tags, listed, mitigated, refused, mistake = [
        json.loads(line) for line in ran.stdout.splitlines() if line]
    register = sweep["pub_results"][0]["data"]["c"]
    assert register["shape"] == [3] and register["counts"][0] == {"0": 1000}
    assert len(estimate["pub_results"][0]["data"]["evs"]) == 4
    assert tags == {"tags": ["bell", "demo"]}
    assert [job["tags"] for job in listed["jobs"]] == [["bell", "demo"]]
    assert mitigated["pub_results"][0]["data"]["shape"] == [2]
    assert list(refused["errors"]) == ["options.resilience.zne.noise_factors"]
    assert mistake["status"] == 400 and "trailing comma" in json.dumps(mistake)
