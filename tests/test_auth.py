"""Keys and tenants: hashed keys, bearer auth on every /v1 route, tenants that never meet.

Refusals go through the session's gunicorn server; the rest needs no worker and runs against
the app in the test process (Flask's test client, real Redis)."""

from __future__ import annotations

import subprocess
import sys

import httpx
import redis
from flask import Flask
from flask.testing import FlaskClient

from core.store.api_keys import KeyStore, digest
from tests.conftest import ROOT, sampler_job, submit


def test_requests_without_a_valid_key_are_401(server: str) -> None:
    for headers in ({}, {"Authorization": "Bearer nope"}, {"Authorization": "Basic abc"},
                    {"Authorization": "Bearer " + "k" * 5000}):
        response = httpx.get(f"{server}/v1/jobs", headers=headers)
        assert response.status_code == 401
        assert response.headers["content-type"] == "application/problem+json"
        assert response.headers["www-authenticate"].startswith("Bearer")
    assert httpx.post(f"{server}/v1/jobs", json=sampler_job()).status_code == 401


def test_keys_are_stored_hashed_never_in_clear(keys: KeyStore, redis_url: str) -> None:
    _, key = keys.create("hashing-check")
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    stored = client.hgetall("gw:keys")
    assert digest(key) in stored
    assert all(key not in field and key not in value for field, value in stored.items())


def test_a_tenant_sees_only_its_own_jobs(app_client: FlaskClient,
                                         other_app_client: FlaskClient) -> None:
    mine = submit(app_client, sampler_job())
    theirs = submit(other_app_client, sampler_job())
    assert [j["id"] for j in app_client.get("/v1/jobs").json["jobs"]] == [mine["id"]]
    assert [j["id"] for j in other_app_client.get("/v1/jobs").json["jobs"]] == [theirs["id"]]
    assert other_app_client.get(f"/v1/jobs/{mine['id']}/status").status_code == 404
    assert app_client.get(f"/v1/jobs/{mine['id']}/status").status_code == 200


def test_keys_from_the_environment_and_the_cli(redis_url: str, app: Flask) -> None:
    env = {"REDIS_URL": redis_url, "GATEWAY_API_KEYS": "envco:env-secret-key-1",
           "PATH": "/usr/bin:/bin"}
    created = _cli(env, "create", "cli-tenant", "--label", "ci")
    key = created.strip().splitlines()[-1]
    listing = _cli(env, "list")
    assert "cli-tenant" in listing and "envco" in listing and key not in listing
    http = app.test_client()
    assert http.get("/v1/jobs", headers={"Authorization": f"Bearer {key}"}).status_code == 200
    env_key = {"Authorization": "Bearer env-secret-key-1"}
    assert http.get("/v1/jobs", headers=env_key).status_code == 200
    key_id = next(line.split("\t")[0] for line in listing.splitlines() if "cli-tenant" in line)
    _cli(env, "revoke", key_id)
    revoked = http.get("/v1/jobs", headers={"Authorization": f"Bearer {key}"})
    assert revoked.status_code == 401


def _cli(env: dict[str, str], *args: str) -> str:
    done = subprocess.run([sys.executable, "-m", "flask", "--app", "app", "keys", *args], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout
