"""Keys and tenants: hashed keys, bearer auth on every /v1 route, tenants that never meet.

Refusals go through the session's gunicorn server; the rest needs no worker and runs against
the app in the test process (Flask's test client, real Redis)."""

from __future__ import annotations

import contextlib
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import redis
from flask import Flask
from flask.testing import FlaskClient

from core.store.api_keys import KeyStore, digest
from scripts.local_http import start_api
from scripts.local_redis import free_port, start_redis
from tests.conftest import ROOT, sampler_job, stop, submit


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


def test_keys_from_the_cli(redis_url: str, app: Flask) -> None:
    env = {"REDIS_URL": redis_url, "PATH": "/usr/bin:/bin"}
    created = _cli(env, "create", "cli-tenant", "--label", "ci")
    key = next(line for line in created.splitlines() if line.startswith("gw_"))
    listing = _cli(env, "list")
    assert "cli-tenant" in listing and key not in listing
    http = app.test_client()
    assert http.get("/v1/jobs", headers={"Authorization": f"Bearer {key}"}).status_code == 200
    key_id = next(line.split("\t")[0] for line in listing.splitlines() if "cli-tenant" in line)
    _cli(env, "revoke", key_id)
    revoked = http.get("/v1/jobs", headers={"Authorization": f"Bearer {key}"})
    assert revoked.status_code == 401


def _cli(env: dict[str, str], *args: str, ok: bool = True) -> str:
    done = subprocess.run([sys.executable, "-m", "flask", "--app", "app", "keys", *args], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=120)
    assert (done.returncode == 0) == ok, done.stderr
    return done.stdout + done.stderr


STRONG_A, STRONG_B = "env-key-of-alpha-0123456789", "env-key-of-bravo-0123456789"


def test_keys_from_the_environment_are_the_environments(env: dict[str, str],
                                                         redis_url: str) -> None:
    """Each API start registers GATEWAY_API_KEYS and drops the keys it no longer names; a weak
    key stops the start; the CLI will not revoke what the next start would bring back."""
    own = {**env, "REDIS_URL": redis_url.rsplit("/", 1)[0] + "/2"}
    with api_server({**own, "GATEWAY_API_KEYS": f"alpha:{STRONG_A}, bravo:{STRONG_B}"}) as base:
        assert [status(base, key) for key in (STRONG_A, STRONG_B)] == [200, 200]
        listing = _cli(own, "list")
        bravo_id = next(line.split("\t")[0] for line in listing.splitlines() if "bravo" in line)
        refused = _cli(own, "revoke", bravo_id, ok=False)
        assert "remove it from that variable" in refused and status(base, STRONG_B) == 200
    with api_server({**own, "GATEWAY_API_KEYS": f"alpha:{STRONG_A}"}) as base:
        assert [status(base, key) for key in (STRONG_A, STRONG_B)] == [200, 401]
    weak = subprocess.run(gunicorn_command(), cwd=ROOT, capture_output=True, text=True,
                          env={**own, "PORT": str(free_port()),
                               "GATEWAY_API_KEYS": f"alpha:{STRONG_A},weak:short-key-123"},
                          timeout=60)
    assert weak.returncode != 0
    assert "the key of tenant 'weak' has 13 characters; a key needs at least 20" in weak.stderr


def test_the_master_imports_nothing_an_api_process_must_patch(env: dict[str, str],
                                                              redis_url: str) -> None:
    """gevent patches the standard library in each API process, after gunicorn's master forked
    it: what the master imported stays unpatched there (redis.retry's `sleep` stalled a whole
    process). Loading gunicorn.conf.py and registering GATEWAY_API_KEYS imports none of it."""
    own = {**env, "REDIS_URL": redis_url.rsplit("/", 1)[0] + "/2",
           "GATEWAY_API_KEYS": f"alpha:{STRONG_A}"}
    master = ("import runpy, sys\n"
              "runpy.run_path('gunicorn.conf.py')['on_starting'](None)\n"
              "print(sorted(m for m in sys.modules if m.split('.')[0] in "
              "('app', 'flask', 'redis', 'ssl', 'gevent')))")
    done = subprocess.run([sys.executable, "-c", master], cwd=ROOT, env=own,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_an_api_started_while_redis_is_away_registers_its_keys_once_it_comes(
        env: dict[str, str], tmp_path: Path) -> None:
    port = free_port()
    own = {**env, "REDIS_URL": f"redis://127.0.0.1:{port}/0",
           "GATEWAY_API_KEYS": f"alpha:{STRONG_A}"}
    with api_server(own) as base:
        assert status(base, STRONG_A) == 503
        redis_server, _ = start_redis(tmp_path, port=port, persist=False)
        try:
            deadline = time.monotonic() + 20
            while status(base, STRONG_A) != 200:
                assert time.monotonic() < deadline, "the key was not registered within 20 s"
                time.sleep(0.2)
        finally:
            redis_server.terminate()
            redis_server.wait(10)


def status(base: str, key: str) -> int:
    return httpx.get(f"{base}/v1/jobs", headers={"Authorization": f"Bearer {key}"}).status_code


def gunicorn_command() -> list[str]:
    return [sys.executable, "-m", "gunicorn", "-c", str(ROOT / "gunicorn.conf.py"),
            "app:create_app()"]


@contextlib.contextmanager
def api_server(env: dict[str, str], processes: int = 1) -> Iterator[str]:
    """An API server of its own (no workers), stopped on leaving."""
    base, process = start_api(env, processes, ready="/healthz")
    try:
        yield base
    finally:
        stop(process)


def test_guessing_keys_is_throttled_per_address_but_a_valid_key_is_not(
        env: dict[str, str], redis_url: str) -> None:
    own = {**env, "REDIS_URL": redis_url.rsplit("/", 1)[0] + "/3",
           "GATEWAY_API_KEYS": f"alpha:{STRONG_A}", "GATEWAY_AUTH_FAILURES_PER_MINUTE": "5"}
    with api_server(own) as base:
        # in use before the burst: the API process remembers it valid
        assert [status(base, STRONG_A) for _ in range(3)] == [200] * 3
        guesses = [httpx.get(f"{base}/v1/jobs", headers={"Authorization": f"Bearer guess-{i}"})
                   for i in range(8)]
        assert [g.status_code for g in guesses] == [401] * 5 + [429] * 3
        assert 1 <= int(guesses[-1].headers["retry-after"]) <= 60
        assert guesses[-1].headers["ratelimit-policy"] == '"auth-failures";q=5;w=60'
        assert [status(base, STRONG_A) for _ in range(5)] == [200] * 5


def status_from(base: str, key: str, forwarded_for: str | None = None) -> int:
    headers = {"Authorization": f"Bearer {key}"}
    if forwarded_for is not None:
        headers["X-Forwarded-For"] = forwarded_for
    return httpx.get(f"{base}/v1/jobs", headers=headers).status_code


def throttled(env: dict[str, str], redis_url: str, **settings: str) -> dict[str, str]:
    """Settings of an API whose wrong keys are throttled at 5 per minute, with counters of its
    own (a prefix no other test shares), and keys remembered for half a second at most."""
    return {**env, "REDIS_URL": redis_url.rsplit("/", 1)[0] + "/3",
            "GATEWAY_REDIS_PREFIX": f"auth-{uuid.uuid4().hex[:8]}",
            "GATEWAY_API_KEYS": f"alpha:{STRONG_A}", "GATEWAY_AUTH_FAILURES_PER_MINUTE": "5",
            "GATEWAY_KEY_CACHE_SECONDS": "0.5", **settings}


def test_a_valid_key_is_never_refused_for_other_clients_wrong_keys(
        env: dict[str, str], redis_url: str) -> None:
    """Behind a NAT or a proxy every client shares one address. Another client's stale key
    throttles that address; a valid key, polled every 0.7 s (longer than any API process
    remembers it) in two API processes, first used after the burst, is never refused. Without
    a trusted proxy, forged X-Forwarded-For headers escape nothing."""
    with api_server(throttled(env, redis_url), processes=2) as base:
        guesses = [status_from(base, f"stale-key-{i}", forwarded_for=f"198.51.100.{i}")
                   for i in range(8)]
        assert guesses == [401] * 5 + [429] * 3
        polls = []
        for i in range(8):
            polls.append(status_from(base, STRONG_A))
            assert status_from(base, f"stale-key-again-{i}") == 429  # the other client goes on
            time.sleep(0.7)
        assert polls == [200] * 8


def test_behind_a_trusted_proxy_wrong_keys_throttle_their_own_client(
        env: dict[str, str], redis_url: str) -> None:
    """GATEWAY_TRUSTED_PROXIES=1: the address is the one the proxy forwarded, so one client's
    wrong keys throttle that client, and no other client behind the same proxy."""
    with api_server(throttled(env, redis_url, GATEWAY_TRUSTED_PROXIES="1")) as base:
        stale = [status_from(base, f"stale-{i}", forwarded_for="203.0.113.7") for i in range(7)]
        assert stale == [401] * 5 + [429] * 2
        assert status_from(base, "typo", forwarded_for="203.0.113.8") == 401
        assert status_from(base, STRONG_A, forwarded_for="203.0.113.7") == 200
        # a client forging the header before the proxy's: the proxy's own entry counts
        assert status_from(base, "forged", forwarded_for="10.9.9.9, 203.0.113.7") == 429
