"""/v1/webhooks through the factory's app (no worker needed): endpoints kept per tenant, secrets
shown once and sealed at rest, and every bad request a clear problem+json 4xx.

(Deliveries: test_webhook_delivery.py. Where a webhook may go: test_webhook_destinations.py.)"""

from __future__ import annotations

import json
import os

import pytest
import redis
from flask import Flask
from flask.testing import FlaskClient

from app.examples import WEBHOOK_EXAMPLES
from core.errors import WebhookNotFound
from core.webhooks.signing import Sealer
from tests.conftest import sampler_job
from tests.test_bad_input import problem

RECEIVER = "http://127.0.0.1:9/hooks"  # allowed by the tests' GATEWAY_WEBHOOK_ALLOW_NETWORKS


def create(http: FlaskClient, **body: object) -> dict:
    answer = http.post("/v1/webhooks", json={"url": RECEIVER, "events": ["job.done"], **body})
    assert answer.status_code == 201, answer.text
    return json.loads(answer.text)


def test_an_endpoint_is_created_listed_read_and_deleted_by_its_tenant_only(
        app_client: FlaskClient, other_app_client: FlaskClient) -> None:
    created = create(app_client, events=["job.done", "job.error"], description="CI")
    assert created["secret"].startswith("whsec_") and created["id"].startswith("wh_")
    assert created["enabled"] is True and created["events"] == ["job.done", "job.error"]
    shown = app_client.get(f"/v1/webhooks/{created['id']}").get_json()
    assert shown == {k: v for k, v in created.items() if k != "secret"} | {
        "failing_since": None, "disabled_at": None}
    assert [w["id"] for w in app_client.get("/v1/webhooks").get_json()["webhooks"]] == [
        created["id"]]
    assert other_app_client.get("/v1/webhooks").get_json() == {"webhooks": []}
    assert app_client.delete(f"/v1/webhooks/{created['id']}").status_code == 204
    problem(app_client.get(f"/v1/webhooks/{created['id']}"), 404, "webhook-not-found")


@pytest.mark.parametrize(("method", "suffix"), [
    ("GET", ""), ("DELETE", ""), ("POST", "/rotate"), ("POST", "/test"),
    ("GET", "/deliveries"), ("POST", "/enable")])
def test_another_tenants_endpoint_is_not_found(
        app_client: FlaskClient, other_app_client: FlaskClient, method: str, suffix: str) -> None:
    theirs = create(other_app_client)
    for endpoint_id in (theirs["id"], "wh_nosuchthing"):
        answer = app_client.open(f"/v1/webhooks/{endpoint_id}{suffix}", method=method)
        problem(answer, 404, "webhook-not-found")
    assert other_app_client.get(f"/v1/webhooks/{theirs['id']}").status_code == 200


LONG_URL = "http://127.0.0.1/" + "a" * 2100


@pytest.mark.parametrize(("body", "status", "kind", "field", "words"), [
    ({"url": "not a url", "events": ["job.done"]}, 422, "invalid-input", "url", "whitespace"),
    ({"url": "ftp://127.0.0.1/x", "events": ["job.done"]}, 422, "destination-refused", "url",
     "only http"),
    ({"url": "file:///etc/passwd", "events": ["job.done"]}, 422, "destination-refused", "url",
     "only http"),
    ({"url": "http://[::1", "events": ["job.done"]}, 422, "invalid-input", "url", "not a valid"),
    ({"url": "http:///nohost", "events": ["job.done"]}, 422, "invalid-input", "url", "no host"),
    ({"url": "http://user:pw@127.0.0.1/", "events": ["job.done"]}, 422, "invalid-input", "url",
     "credentials"),
    ({"url": "http://10.0.0.7/hook", "events": ["job.done"]}, 422, "destination-refused", "url",
     "private"),
    ({"url": "http://169.254.169.254/latest", "events": ["job.done"]}, 422,
     "destination-refused", "url", "metadata"),
    ({"url": "http://[::1]:8080/", "events": ["job.done"]}, 422, "destination-refused", "url",
     "loopback"),
    ({"url": "http://[::ffff:10.1.2.3]/", "events": ["job.done"]}, 422, "destination-refused",
     "url", "private"),
    ({"url": "http://224.0.0.1/", "events": ["job.done"]}, 422, "destination-refused", "url",
     "multicast"),
    ({"url": "http://0.0.0.0/", "events": ["job.done"]}, 422, "destination-refused", "url",
     "unspecified"),
    ({"url": "http://nowhere.invalid/", "events": ["job.done"]}, 422, "destination-refused",
     "url", "does not resolve"),
    ({"url": LONG_URL, "events": ["job.done"]}, 422, "invalid-input", "url", "2048"),
    ({"url": RECEIVER, "events": ["job.finished"]}, 422, "invalid-input", "events.0",
     "Must be one of"),
    ({"url": RECEIVER, "events": []}, 422, "invalid-input", "events", "Shorter than"),
    ({"url": RECEIVER, "events": ["job.done", "job.done"]}, 422, "invalid-input", "events",
     "each event once"),
    ({"url": RECEIVER, "events": "job.done"}, 422, "invalid-input", "events", "must be a list"),
    ({"url": RECEIVER}, 422, "invalid-input", "events", "required"),
    ({"events": ["job.done"]}, 422, "invalid-input", "url", "required"),
    ({"url": RECEIVER, "events": ["job.done"], "description": "x" * 257}, 422, "invalid-input",
     "description", "Longer than"),
    ({"url": RECEIVER, "events": ["job.done"], "secret": "whsec_mine"}, 422, "invalid-input",
     "secret", "unknown field; this object takes url, events, description"),
])
def test_a_bad_endpoint_is_refused_clearly(app_client: FlaskClient, body: dict, status: int,
                                           kind: str, field: str, words: str) -> None:
    found = problem(app_client.post("/v1/webhooks", json=body), status, kind)
    assert any(words in message for message in found["errors"][field]), found
    assert app_client.get("/v1/webhooks").get_json() == {"webhooks": []}


def test_a_tenant_has_at_most_its_cap_of_endpoints(app: Flask, app_client: FlaskClient) -> None:
    most = app.extensions["gateway"].config.WEBHOOK_MAX_ENDPOINTS
    for _ in range(most):
        create(app_client)
    found = problem(app_client.post("/v1/webhooks", json={"url": RECEIVER, "events": [
        "job.done"]}), 422, "limit-exceeded")
    assert found["setting"] == "GATEWAY_WEBHOOK_MAX_ENDPOINTS" and found["maximum"] == most


@pytest.mark.parametrize(("extra", "kind", "field", "words"), [
    ({"callback_url": "http://10.0.0.1/x"}, "destination-refused", "callback_url", "private"),
    ({"callback_url": "gopher://127.0.0.1/"}, "destination-refused", "callback_url", "only http"),
    ({"callback_url": RECEIVER}, "invalid-input", "callback_url", "callback secret"),
    ({"callback_events": ["job.done"]}, "invalid-input", "callback_events", "only with"),
    ({"callback_url": RECEIVER, "callback_events": ["webhook.test"]}, "invalid-input",
     "callback_events.0", "Must be one of"),
])
def test_a_bad_callback_is_refused_at_submit(app_client: FlaskClient, extra: dict, kind: str,
                                             field: str, words: str) -> None:
    found = problem(app_client.post("/v1/jobs", json={**sampler_job(), **extra}), 422, kind)
    assert any(words in message for message in found["errors"][field]), found


def test_secrets_are_shown_once_and_kept_sealed(app: Flask, app_client: FlaskClient) -> None:
    created = create(app_client)
    rotated = app_client.post(f"/v1/webhooks/{created['id']}/rotate")
    assert rotated.headers["Cache-Control"] == "no-store"
    callback = app_client.post("/v1/webhooks/callback-secret").get_json()["secret"]
    shown = [created["secret"], rotated.get_json()["secret"], callback]
    reads = [app_client.get("/v1/webhooks").text, app_client.get(
        f"/v1/webhooks/{created['id']}").text, app_client.get(
        f"/v1/webhooks/{created['id']}/deliveries").text]
    assert not [secret for secret in shown for read in reads if secret[6:] in read]
    stored = redis.Redis.from_url(os.environ["TEST_REDIS_URL"])
    for key in stored.scan_iter(b"gw:wh:*"):
        value = stored.dump(key) or b""
        assert not [s for s in shown if s[6:].encode() in value], key  # in no key, in clear
    endpoints = app.extensions["gateway"].webhooks.endpoints
    record = endpoints.find(created["id"])
    assert record is not None
    sealer = app.extensions["gateway"].webhooks.sealer
    assert sealer.open(record["secret"], created["id"]) == shown[1]
    assert sealer.open(record["previous_secret"], created["id"]) == shown[0]
    with pytest.raises(ValueError):
        sealer.open(record["secret"], "wh_another")  # bound to its endpoint


def test_without_a_sealing_key_no_endpoint_is_made(app: Flask, app_client: FlaskClient,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(app.extensions["gateway"].webhooks, "sealer", Sealer([]))
    problem(app_client.post("/v1/webhooks", json={"url": RECEIVER, "events": ["job.done"]}),
            501, "webhooks-not-configured")
    with pytest.raises(ValueError, match="32"):
        Sealer(["too short"])


def test_a_test_event_is_queued_for_the_endpoint_alone(app: Flask,
                                                       app_client: FlaskClient) -> None:
    created = create(app_client)
    answer = app_client.post(f"/v1/webhooks/{created['id']}/test")
    assert answer.status_code == 202
    event = answer.get_json()
    assert event["type"] == "webhook.test" and event["id"].startswith("msg_")
    assert event["data"] == {"webhook_id": created["id"],
                             "message": "a test event, sent on request"}
    with pytest.raises(WebhookNotFound):
        app.extensions["gateway"].webhooks.endpoints.get("someone-else", created["id"])


def test_the_openapi_example_creates_an_endpoint(app_client: FlaskClient) -> None:
    body = {**WEBHOOK_EXAMPLES["webhook"]["value"], "url": RECEIVER}  # its host is not real
    assert app_client.post("/v1/webhooks", json=body).status_code == 201
