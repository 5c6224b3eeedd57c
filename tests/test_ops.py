"""Operations routes and the OpenAPI document generated from the code.

Readiness counts live workers, so it goes through the session's gunicorn server; the rest need
no worker and run against the app in the test process (Flask's test client, real Redis)."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
from flask.testing import FlaskClient

from scripts.write_openapi import generate
from tests.conftest import ROOT


def test_health_and_readiness(server: str) -> None:
    assert httpx.get(f"{server}/healthz").json() == {"status": "ok"}
    ready = httpx.get(f"{server}/readyz").json()
    assert ready["redis"] == "ok" and ready["workers"] >= 1
    assert "not configured" in ready["runtimes"]["ibm_quantum"]


def test_every_response_carries_a_request_id(app_client: FlaskClient) -> None:
    assert app_client.get("/healthz", headers={"X-Request-ID": "abc-123"}).headers[
        "x-request-id"] == "abc-123"
    assert len(app_client.get("/v1/jobs", headers={"X-Request-ID": "no spaces"}).headers[
        "x-request-id"]) == 32


def test_prometheus_metrics(app_client: FlaskClient) -> None:
    text = app_client.get("/metrics").text
    assert "gateway_queue_depth" in text and "gateway_workers" in text


def test_the_committed_openapi_document_is_what_the_code_generates(
        app_client: FlaskClient) -> None:
    committed = Path(ROOT / "openapi.yaml").read_text()
    assert committed == generate(), "run `make openapi` and commit openapi.yaml"
    assert app_client.get("/openapi.yaml").text == committed


def test_the_docs_page_loads_everything_from_the_gateway_itself(app_client: FlaskClient) -> None:
    page = app_client.get("/docs")
    assert page.status_code == 200 and "SwaggerUIBundle" in page.text
    assert not re.findall(r"(?:https?:)?//[\w.-]+", page.text)  # no outside host, no CDN
    assets = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert {"/docs/assets/swagger-ui-bundle.js", "/docs/assets/swagger-ui.css"} <= set(assets)
    for asset in assets:
        response = app_client.get(asset)
        assert response.status_code == 200 and len(response.data) > 1000, asset
    assert '"validatorUrl": null' in page.text  # Swagger UI would ask validator.swagger.io
    assert app_client.get("/docs/assets/package.json").status_code == 404


def test_the_gateway_address_opens_the_console(app_client: FlaskClient) -> None:
    response = app_client.get("/", headers={"Authorization": ""})  # no key needed
    assert response.status_code == 302 and response.headers["location"] == "/console"
    assert app_client.get(response.headers["location"]).status_code == 200
