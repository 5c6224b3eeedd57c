"""The request bodies `openapi.yaml` and the README show run as written (`app/examples.py`)."""

from __future__ import annotations

import httpx
import pytest
import yaml

from app.examples import SUBMIT_EXAMPLES, TAGS_EXAMPLES
from tests.conftest import ROOT, result_of, submit


@pytest.mark.parametrize("name", sorted(SUBMIT_EXAMPLES))
def test_every_submit_example_runs(client: httpx.Client, name: str) -> None:
    job = submit(client, SUBMIT_EXAMPLES[name]["value"])
    result = result_of(client, job["id"])
    assert len(result["pub_results"]) == len(SUBMIT_EXAMPLES[name]["value"]["pubs"])
    assert client.get(f"/v1/jobs/{job['id']}/status").json()["status"] == "DONE"


def test_the_tags_example_replaces_a_jobs_tags(client: httpx.Client) -> None:
    job = submit(client, SUBMIT_EXAMPLES["sampler"]["value"])
    body = TAGS_EXAMPLES["tags"]["value"]
    answer = client.put(f"/v1/jobs/{job['id']}/tags", json=body)
    assert answer.status_code == 200 and answer.json() == body


def test_every_request_body_in_the_spec_has_an_example() -> None:
    spec = yaml.safe_load((ROOT / "openapi.yaml").read_text())
    bodies = {f"{method.upper()} {path}": operation["requestBody"]["content"]
              for path, item in spec["paths"].items() for method, operation in item.items()
              if isinstance(operation, dict) and "requestBody" in operation}
    assert len(bodies) >= 3
    assert [name for name, content in bodies.items()
            if not any(media.get("examples") for media in content.values())] == []
