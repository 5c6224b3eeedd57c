"""Operations routes and the OpenAPI document generated from the code."""

from __future__ import annotations

import re
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


def test_the_docs_page_loads_everything_from_the_gateway_itself(server: str) -> None:
    page = httpx.get(f"{server}/docs")
    assert page.status_code == 200 and "SwaggerUIBundle" in page.text
    assert not re.findall(r"(?:https?:)?//[\w.-]+", page.text)  # no outside host, no CDN
    assets = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert {"/docs/assets/swagger-ui-bundle.js", "/docs/assets/swagger-ui.css"} <= set(assets)
    for asset in assets:
        response = httpx.get(f"{server}{asset}")
        assert response.status_code == 200 and len(response.content) > 1000, asset
    assert '"validatorUrl": null' in page.text  # Swagger UI would ask validator.swagger.io
    assert httpx.get(f"{server}/docs/assets/package.json").status_code == 404
