"""/v1/sessions through the factory's app on the real Redis: create, read, list, close and
cancel; jobs joining a session, and every way a job or a request is refused."""

from __future__ import annotations

import json
import time
from typing import Any

from flask.testing import FlaskClient

from app.gateway import Gateway
from core import sessions as rules
from tests.conftest import sampler_job, slow_circuit, submit


def session(http: FlaskClient, **body: Any) -> dict[str, Any]:
    response = http.post("/v1/sessions", json={"backend": "aer_simulator", "mode": "batch",
                                               **body})
    assert response.status_code == 201, response.text
    assert response.headers["Location"] == f"/v1/sessions/{response.json['id']}"
    return dict(response.json)


def in_session(session_id: str, **pub: Any) -> dict[str, Any]:
    return {**sampler_job(**pub), "session_id": session_id}


def test_a_session_reads_back_with_ibms_fields_and_its_jobs_by_status(
        app_client: FlaskClient) -> None:
    created = session(app_client, mode="dedicated", max_ttl=600, interactive_ttl=30)
    assert created["state"] == "open" and created["accepting_jobs"] is True
    assert (created["max_ttl"], created["interactive_ttl"]) == (600, 30)
    job = submit(app_client, in_session(created["id"], circuit=slow_circuit()))
    assert job["session_id"] == created["id"]
    read = app_client.get(f"/v1/sessions/{created['id']}").json
    assert read["state"] == "active" and read["activated_at"]
    assert sum(read["jobs"].values()) == 1 and set(read["jobs"]) >= {"QUEUED", "DONE"}
    for name in ("started_at", "closed_at", "last_job_started", "last_job_completed",
                 "elapsed_time", "active_ttl", "mode", "backend", "created"):
        assert name in read
    listed = app_client.get(f"/v1/jobs?session_id={created['id']}").json["jobs"]
    assert [j["id"] for j in listed] == [job["id"]]
    app_client.post(f"/v1/sessions/{created['id']}/cancel")


def test_close_stops_new_jobs_and_closing_twice_is_a_conflict(app_client: FlaskClient) -> None:
    created = session(app_client)
    closed = app_client.post(f"/v1/sessions/{created['id']}/close")
    assert closed.status_code == 200
    assert closed.json["state"] == "closed" and closed.json["accepting_jobs"] is False
    assert closed.json["closed_at"]
    again = app_client.post(f"/v1/sessions/{created['id']}/close")
    assert again.status_code == 409 and again.json["type"].endswith("/invalid-state")
    refused = app_client.post("/v1/jobs", json=in_session(created["id"]))
    assert refused.status_code == 409 and refused.json["type"].endswith("/invalid-state")
    assert "closed" in refused.json["detail"]


def test_cancel_cancels_the_sessions_queued_and_running_jobs(app_client: FlaskClient) -> None:
    created = session(app_client)
    jobs = [submit(app_client, in_session(created["id"], circuit=slow_circuit()))
            for _ in range(3)]
    cancelled = app_client.post(f"/v1/sessions/{created['id']}/cancel")
    assert cancelled.status_code == 200 and cancelled.json["state"] == "closed"
    assert cancelled.json["jobs"]["CANCELLED"] == 3
    for job in jobs:
        assert app_client.get(f"/v1/jobs/{job['id']}").json["status"] == "CANCELLED"
    assert app_client.post(f"/v1/sessions/{created['id']}/cancel").status_code == 409


def test_jobs_into_a_wrong_session_are_refused_with_problems(
        app_client: FlaskClient, other_app_client: FlaskClient) -> None:
    mine = session(app_client)
    theirs = session(other_app_client)
    for session_id in (theirs["id"], "no-such-session"):
        refused = app_client.post("/v1/jobs", json=in_session(session_id))
        assert refused.status_code == 404, refused.text
        assert refused.json["type"].endswith("/session-not-found")
        assert app_client.get(f"/v1/sessions/{session_id}").status_code == 404
        assert app_client.post(f"/v1/sessions/{session_id}/close").status_code == 404
    other_backend = app_client.post("/v1/jobs", json={**in_session(mine["id"]),
                                                      "backend": "fake_manila"})
    assert other_backend.status_code == 422
    assert "session_id" in other_backend.json["errors"]


def test_bad_sessions_are_refused_with_problems(app_client: FlaskClient, app: Any) -> None:
    most = app.extensions["gateway"].config.SESSION_MAX_TTL_SECONDS
    for body, status, field in [
        ({"backend": "aer_simulator", "mode": "exclusive"}, 422, "mode"),
        ({"backend": "aer_simulator"}, 422, "mode"),
        ({"backend": "no_such_backend", "mode": "batch"}, 422, "backend"),
        ({"backend": "aer_simulator", "mode": "batch", "max_ttl": 0}, 422, "max_ttl"),
        ({"backend": "aer_simulator", "mode": "batch", "max_ttl": most + 1}, 422, "max_ttl"),
        ({"backend": "aer_simulator", "mode": "batch", "max_ttl": 60, "interactive_ttl": 61},
         422, "interactive_ttl"),
        ({"backend": "aer_simulator", "mode": "batch", "extra": 1}, 422, "extra"),
    ]:
        response = app_client.post("/v1/sessions", json=body)
        assert response.status_code == status, (body, response.text)
        assert response.mimetype == "application/problem+json"
        assert field in json.dumps(response.json.get("errors", {})), response.json
    assert app_client.get("/v1/sessions?mode=exclusive").status_code == 422


def test_dedicated_sessions_are_capped_per_tenant(app_client: FlaskClient) -> None:
    first = session(app_client, mode="dedicated")
    over = app_client.post("/v1/sessions", json={"backend": "aer_simulator",
                                                 "mode": "dedicated"})
    assert over.status_code == 429 and "GATEWAY_TENANT_MAX_DEDICATED_SESSIONS" in over.text
    assert over.headers["Retry-After"]
    session(app_client, mode="batch")  # batches hold no worker: not capped
    app_client.post(f"/v1/sessions/{first['id']}/close")
    session(app_client, mode="dedicated")  # a closed one no longer counts


def test_sessions_are_listed_filtered_and_paged(app_client: FlaskClient) -> None:
    made = [session(app_client, backend=backend) for backend in
            ("aer_simulator", "fake_manila", "aer_simulator")]
    app_client.post(f"/v1/sessions/{made[0]['id']}/close")
    first = app_client.get("/v1/sessions?limit=2")
    assert [s["id"] for s in first.json["sessions"]] == [made[2]["id"], made[1]["id"]]
    assert first.json["next_cursor"] and 'rel="next"' in first.headers["Link"]
    rest = app_client.get(f"/v1/sessions?limit=2&cursor={first.json['next_cursor']}").json
    assert [s["id"] for s in rest["sessions"]] == [made[0]["id"]]
    assert rest["next_cursor"] is None
    on_manila = app_client.get("/v1/sessions?backend=fake_manila").json["sessions"]
    assert [s["id"] for s in on_manila] == [made[1]["id"]]
    closed = app_client.get("/v1/sessions?state=closed").json["sessions"]
    assert [s["id"] for s in closed] == [made[0]["id"]]
    assert app_client.get("/v1/sessions?mode=dedicated").json["sessions"] == []
    assert app_client.get("/v1/sessions?cursor=abc").status_code == 422


def test_at_max_ttl_a_session_ends_and_its_queued_jobs_are_cancelled(
        app_client: FlaskClient) -> None:
    created, started = session(app_client, max_ttl=3), time.monotonic()
    job = submit(app_client, in_session(created["id"], circuit=slow_circuit()))
    more = [submit(app_client, in_session(created["id"], circuit=slow_circuit()))
            for _ in range(2)]
    time.sleep(max(0.0, started + 3.2 - time.monotonic()))
    read = app_client.get(f"/v1/sessions/{created['id']}").json
    assert read["state"] == "closed" and read["accepting_jobs"] is False
    statuses = [app_client.get(f"/v1/jobs/{j['id']}").json["status"] for j in [job, *more]]
    assert "QUEUED" not in statuses and "CANCELLED" in statuses
    refused = app_client.post("/v1/jobs", json=in_session(created["id"]))
    assert refused.status_code == 409
    for j in [job, *more]:
        app_client.post(f"/v1/jobs/{j['id']}/cancel")


def test_state_changes_are_events_on_the_tenants_stream(app_client: FlaskClient,
                                                        app: Any) -> None:
    created = session(app_client)
    submit(app_client, in_session(created["id"]))
    app_client.post(f"/v1/sessions/{created['id']}/close")
    gw: Gateway = app.extensions["gateway"]
    tenant = gw.sessions.find(created["id"])["tenant"]  # type: ignore[index]
    entries = gw.store.redis.xrange(gw.store.tenant_events_key(tenant))
    states = [json.loads(fields["data"])["state"] for _, fields in entries
              if fields["kind"] == "session"]
    assert states == ["open", "active", "closed"]


def test_the_sweeper_ends_sessions_past_max_ttl(app_client: FlaskClient, app: Any) -> None:
    created = session(app_client, max_ttl=1)
    gw: Gateway = app.extensions["gateway"]
    time.sleep(1.1)
    rules.expire_due(gw.sessions, gw.store, gw.transitions)  # or a worker's sweeper did first
    record = gw.sessions.find(created["id"])
    assert record is not None and record["ended"] == "expired"
    assert created["id"] not in gw.sessions.past_end(time.time())  # ended once, not again
    assert app_client.get(f"/v1/sessions/{created['id']}").json["state"] == "closed"
