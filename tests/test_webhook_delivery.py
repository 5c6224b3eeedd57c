"""Webhooks delivered for real: the session's API and workers run jobs, a deliverer process
sends their events, and a receiver process verifies every signature with the `standardwebhooks`
library. The retry schedule and timeout are seconds here (conftest's env)."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import httpx

from tests.conftest import free_port, result_of, sampler_job, stop, submit
from tests.waiting import eventually
from tests.webhooks_helpers import (
    ALL_JOB_EVENTS,
    Receiver,
    deliverer,
    endpoint,
    kill,
    receiver,
    start_deliverer,
)

__all__ = ["deliverer", "receiver"]  # fixtures


def test_a_jobs_events_arrive_signed_with_the_job_as_get_answers_it(
        client: httpx.Client, receiver: Receiver, deliverer: subprocess.Popen) -> None:
    endpoint(client, receiver, "/bell", ALL_JOB_EVENTS)
    job = submit(client, sampler_job())
    result_of(client, job["id"])
    got = eventually(lambda: len(receiver.delivered("/bell")) >= 3 and receiver.delivered("/bell"),
                     20, "three events")
    by_type = {r["type"]: r for r in got.values()}
    assert sorted(by_type) == ["job.done", "job.queued", "job.running"]
    assert by_type["job.queued"]["data"]["status"] == "QUEUED"
    assert by_type["job.done"]["data"] == client.get(f"/v1/jobs/{job['id']}").json()


def job_events(jobs: list[dict]) -> set[tuple[str, str]]:
    return {(kind, job["id"]) for job in jobs
            for kind in ("job.queued", "job.running", "job.done")}


def received(receiver: Receiver, path: str) -> set[tuple[str, str]]:
    return {(r["type"], r["data"]["id"]) for r in receiver.delivered(path).values()}


def attempt_errors(http: httpx.Client, endpoint_id: str) -> list[str]:
    answer = http.get(f"/v1/webhooks/{endpoint_id}/deliveries").json()["deliveries"]
    return [attempt["error"] or "" for attempt in answer]


def test_a_receiver_that_fails_then_recovers_gets_every_event_once_and_no_other_tenants(
        client: httpx.Client, other_client: httpx.Client, receiver: Receiver,
        deliverer: subprocess.Popen) -> None:
    """500 twice, then no answer twice (timeouts), then down a while, then back: every event
    of the tenant's jobs arrives, each webhook-id with one event, and none of the other's."""
    hook = endpoint(client, receiver, "/a", ALL_JOB_EVENTS, ("500", "500", "hang", "hang"))
    endpoint(other_client, receiver, "/b", ALL_JOB_EVENTS)
    mine = [submit(client, sampler_job(shots=100)) for _ in range(3)]
    theirs = [submit(other_client, sampler_job(shots=100)) for _ in range(2)]
    eventually(lambda: len(receiver.requests("/a")) >= 4, 20, "500, 500 and two timeouts")
    receiver.kill()
    eventually(lambda: sum("refused" in e for e in attempt_errors(client, hook["id"])) >= 3, 20,
               "deliveries to a receiver that is down")
    receiver.start()
    for job in mine + theirs:
        result_of(client if job in mine else other_client, job["id"])
    eventually(lambda: received(receiver, "/a") >= job_events(mine), 30, "all of /a's events")
    eventually(lambda: received(receiver, "/b") >= job_events(theirs), 30, "all of /b's events")
    assert received(receiver, "/a") == job_events(mine)  # nothing of the other tenant's
    assert received(receiver, "/b") == job_events(theirs)
    requests = receiver.requests()
    assert all(r["verified"] for r in requests)  # even those answered 500: all signed right
    seen: dict[str, tuple[str, str]] = {}
    for r in requests:  # a retry keeps its webhook-id, and a webhook-id is one event
        if r["type"]:
            assert seen.setdefault(r["webhook_id"], (r["type"], r["data"]["id"])) == (
                r["type"], r["data"]["id"])
    outcomes = [a["outcome"] for a in client.get(f"/v1/webhooks/{hook['id']}/deliveries").json()[
        "deliveries"]]
    assert "retrying" in outcomes and outcomes.count("delivered") >= 9


def test_a_deliverer_killed_mid_delivery_loses_nothing(
        client: httpx.Client, receiver: Receiver, env: dict[str, str], tmp_path: Path) -> None:
    """SIGKILL while the receiver holds the request: the lease runs out, another deliverer
    sends the event again with the same webhook-id."""
    first = start_deliverer(env, tmp_path / "first.log")
    hook = endpoint(client, receiver, "/k", ["job.done"], ("hang",))
    job = submit(client, sampler_job(shots=100))
    eventually(lambda: receiver.requests("/k"), 20, "the first attempt to arrive")
    kill(first)  # within the 1 s the attempt may take
    second = start_deliverer(env, tmp_path / "second.log")
    try:
        got = eventually(lambda: receiver.delivered("/k"), 20, "the event, sent again")
    finally:
        stop(second)
    assert [(r["type"], r["data"]["id"]) for r in got.values()] == [("job.done", job["id"])]
    assert list(got) == [receiver.requests("/k")[0]["webhook_id"]]
    attempts = client.get(f"/v1/webhooks/{hook['id']}/deliveries").json()["deliveries"]
    assert [(a["attempt"], a["outcome"]) for a in attempts] == [(2, "delivered"), (1, "retrying")]
    assert "lease ran out" in attempts[1]["error"]


def test_one_slow_receiver_does_not_hold_back_another_tenants_events(
        client: httpx.Client, other_client: httpx.Client, receiver: Receiver,
        env: dict[str, str], tmp_path: Path) -> None:
    """A tenant's receiver takes 0.5 s an event and has 12 waiting: another tenant's event
    still goes at once, and the slow one never has more than 2 in flight."""
    deliverer = start_deliverer(env, tmp_path / "deliverer.log", GATEWAY_WEBHOOK_SENDERS="4")
    try:
        slow = endpoint(client, receiver, "/slow", ["job.done"], ("slow",) * 12)
        fast = endpoint(other_client, receiver, "/fast", ["job.done"])
        for _ in range(12):
            assert client.post(f"/v1/webhooks/{slow['id']}/test").status_code == 202
        eventually(lambda: receiver.requests("/slow"), 10, "the slow receiver's first event")
        posted = time.time()
        event = other_client.post(f"/v1/webhooks/{fast['id']}/test").json()
        arrived = eventually(lambda: receiver.delivered("/fast").get(event["id"]), 10)
        assert arrived["at"] - posted < 1.0
        assert len(receiver.delivered("/slow")) <= 6  # the slow backlog was still there
        eventually(lambda: len(receiver.delivered("/slow")) == 12, 20, "the slow backlog")
    finally:
        stop(deliverer)
    starts = sorted(r["at"] for r in receiver.requests("/slow"))
    assert all(later - earlier > 0.4 for earlier, later in zip(starts, starts[2:], strict=False))


def test_a_jobs_callback_url_gets_the_events_it_named_signed_with_the_callback_secret(
        client: httpx.Client, receiver: Receiver, deliverer: subprocess.Popen) -> None:
    secret = client.post("/v1/webhooks/callback-secret")
    assert secret.status_code == 201 and secret.json()["secret"].startswith("whsec_")
    receiver.configure("/cb", secret.json()["secret"])
    job = submit(client, {**sampler_job(shots=10), "callback_url": receiver.url("/cb"),
                          "callback_events": ["job.done"]})
    assert job["callback_url"] == receiver.url("/cb") and job["callback_events"] == ["job.done"]
    got = eventually(lambda: receiver.delivered("/cb"), 20, "the callback")
    assert [(r["type"], r["data"]["id"]) for r in got.values()] == [("job.done", job["id"])]
    notices = eventually(lambda: client.get(f"/v1/jobs/{job['id']}/notifications").json()[
        "notifications"], 10)
    assert [(n["endpoint_id"], n["type"], n["state"], n["url"]) for n in notices] == [
        (None, "job.done", "delivered", receiver.url("/cb"))]


def test_an_endpoint_failing_too_long_is_disabled_and_an_event_says_so(
        client: httpx.Client, receiver: Receiver, env: dict[str, str], tmp_path: Path) -> None:
    deliverer = start_deliverer(env, tmp_path / "deliverer.log",
                                GATEWAY_WEBHOOK_DISABLE_AFTER_DAYS="0.00001")  # 0.86 s
    try:
        watch = endpoint(client, receiver, "/watch", ["webhook.disabled"])
        answer = client.post("/v1/webhooks", json={
            "url": f"http://127.0.0.1:{free_port()}/nobody", "events": ["job.done"]})
        dead = answer.json()
        client.post(f"/v1/webhooks/{dead['id']}/test")
        got = eventually(lambda: receiver.delivered("/watch"), 20, "webhook.disabled")
    finally:
        stop(deliverer)
    [event] = got.values()
    assert event["type"] == "webhook.disabled" and event["data"]["id"] == dead["id"]
    assert event["data"]["enabled"] is False and "secret" not in json.dumps(event["data"])
    shown = client.get(f"/v1/webhooks/{dead['id']}").json()
    assert shown["enabled"] is False and shown["disabled_at"] and shown["failing_since"]
    assert client.post(f"/v1/webhooks/{dead['id']}/enable").json()["enabled"] is True
    assert client.get(f"/v1/webhooks/{watch['id']}").json()["enabled"] is True


def test_after_a_rotation_both_secrets_sign_for_a_while(
        client: httpx.Client, receiver: Receiver, deliverer: subprocess.Popen,
        tmp_path: Path) -> None:
    hook = endpoint(client, receiver, "/r", ["job.done"])
    rotated = client.post(f"/v1/webhooks/{hook['id']}/rotate")
    assert rotated.status_code == 200 and rotated.headers["cache-control"] == "no-store"
    new_secret = rotated.json()["secret"]
    assert new_secret != hook["secret"]
    first = client.post(f"/v1/webhooks/{hook['id']}/test").json()
    eventually(lambda: receiver.delivered("/r"), 10, "verified with the old secret")
    receiver.configure("/r", new_secret)
    second = client.post(f"/v1/webhooks/{hook['id']}/test").json()
    got = eventually(lambda: second["id"] in receiver.delivered("/r") and receiver.delivered("/r"),
                     10, "verified with the new secret")
    assert set(got) == {first["id"], second["id"]}
    assert {r["signatures"] for r in got.values()} == {2}
    assert got[second["id"]]["data"] == {"webhook_id": hook["id"],
                                        "message": "a test event, sent on request"}
    logged = (tmp_path / "deliverer.log").read_text()
    assert "senders" in logged and hook["secret"][6:] not in logged and new_secret[6:] not in logged
