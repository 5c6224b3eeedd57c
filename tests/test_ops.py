"""Operations routes and the OpenAPI document generated from the code."""

from __future__ import annotations

from pathlib import Path

import httpx

from scripts.write_openapi import generate
from tests.conftest import ROOT


def test_health_and_readiness(server: str) -> None:
    assert httpx.get(f"{server}/healthz").json() == {"status": "ok"}
    ready = httpx.get(f"{server}/readyz").json()
    assert ready["redis"] == "ok" and ready["workers"] >= 1
    assert "not configured" in ready["runtimes"]["ibm_quantum"]


def test_every_response_carries_a_request_id(server: str) -> None:
    assert httpx.get(f"{server}/healthz", headers={"X-Request-ID": "abc-123"}).headers[
        "x-request-id"] == "abc-123"
    assert len(httpx.get(f"{server}/v1/jobs").headers["x-request-id"]) == 32


def test_prometheus_metrics(server: str) -> None:
    text = httpx.get(f"{server}/metrics").text
    assert "gateway_queue_depth" in text and "gateway_workers" in text


def test_the_committed_openapi_document_is_what_the_code_generates(server: str) -> None:
    committed = Path(ROOT / "openapi.yaml").read_text()
    assert committed == generate(), "run `make openapi` and commit openapi.yaml"
    assert httpx.get(f"{server}/openapi.yaml").text == committed


def test_docs_page(server: str) -> None:
    page = httpx.get(f"{server}/docs")
    assert page.status_code == 200 and "swagger" in page.text.lower()
