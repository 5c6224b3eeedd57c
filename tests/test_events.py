"""Scenarios of live job events over server-sent events, read with httpx-sse as a client would:
real gunicorn (two gevent processes), real RQ workers and simulators, real Redis."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from app.schemas_results import JOB_EVENT_DATA
from app.streaming import hub as event_hub
from app.streaming.events import START, EventStream, id_order
from app.streaming.hub import EventHub
from core.store.api_keys import KeyStore, digest
from core.store.connection import Connection, RedisAddress
from core.store.jobs import JobStore
from core.store.stream_tokens import StreamTokens, job_scope
from tests.conftest import BELL_QASM3, CORS_ORIGIN, result_of, sampler_job, slow_circuit, submit
from tests.events_helpers import (
    Received,
    client_port,
    events_of,
    final_status,
    iter_events,
    open_stream,
    read_stream,
    read_until_quiet,
    server_sockets,
    tenant_client,
)
from tests.spec import assert_fits
from tests.waiting import eventually


def three_pubs(slow_middle: bool = True) -> dict:
    """Bell, a PUB that keeps the job running a second or two, Bell: interim events in between."""
    middle = {"circuit": slow_circuit(18, 20), "shots": 10} if slow_middle else {
        "circuit": BELL_QASM3, "shots": 50}
    return {"program_id": "sampler", "backend": "aer_simulator",
            "pubs": [{"circuit": BELL_QASM3, "shots": 100}, middle,
                     {"circuit": BELL_QASM3, "shots": 200}]}


@pytest.fixture(scope="module")
def live(keys: KeyStore, server: str) -> Iterator[tuple[httpx.Client, str, list[Received], str]]:
    """A three-PUB job followed live from its submission: (client, job id, events, the job's
    status when its first interim result arrived)."""
    _, http = tenant_client(keys, server)
    with http:
        job_id = submit(http, three_pubs())["id"]
        status_at_first_interim = ""
        with open_stream(http, f"/v1/jobs/{job_id}/events") as source:
            headers = source.response.headers
            assert headers["content-type"].startswith("text/event-stream")
            assert headers["cache-control"] == "no-cache"
            assert headers["x-accel-buffering"] == "no"
            events: list[Received] = []
            for event in iter_events(source):
                if event.kind == "interim" and not status_at_first_interim:
                    status_at_first_interim = http.get(f"/v1/jobs/{job_id}/status").json()["status"]
                events.append(event)
        yield http, job_id, events, status_at_first_interim


def test_a_multi_pub_job_streams_its_statuses_logs_and_interim_results_live(live: tuple) -> None:
    http, job_id, events, status_at_first_interim = live
    assert status_at_first_interim == "RUNNING"  # delivered while it ran, not replayed after
    statuses = [e.data["status"] for e in events if e.kind == "status"]
    assert statuses == ["QUEUED", "RUNNING", "DONE"]
    assert final_status(events[-1]) and events[-2].kind == "result"
    assert any(e.kind == "log" and "PUB 1" in e.data["line"] for e in events)
    interim = [e.data for e in events if e.kind == "interim"]
    result = result_of(http, job_id)
    assert [i["pub_index"] for i in interim] == [0, 1, 2]
    assert [i["result"] for i in interim] == result["pub_results"]
    assert events[-2].data == result
    for event in events:
        if event.kind in ("interim", "result"):
            assert_fits(event.data, JOB_EVENT_DATA[event.kind])
    ids = [id_order(e.id) for e in events]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)


def test_a_replay_after_the_job_ended_equals_the_live_stream(live: tuple) -> None:
    http, job_id, events, _ = live
    assert read_stream(http, f"/v1/jobs/{job_id}/events") == events


def test_resuming_after_any_event_gives_exactly_the_tail(live: tuple) -> None:
    http, job_id, events, _ = live
    path = f"/v1/jobs/{job_id}/events"
    for cut in range(len(events) - 1):
        tail = read_stream(http, path, headers={"Last-Event-ID": events[cut].id})
        assert tail == events[cut + 1:], f"resuming after event {cut}"
    middle = len(events) // 2
    assert read_stream(http, path, params={"last_event_id": events[middle].id}) == \
        events[middle + 1:]
    # after the final event there is nothing more: 204 tells EventSource to stop reconnecting
    done = http.get(path, headers={"Last-Event-ID": events[-1].id})
    assert done.status_code == 204 and done.content == b""
    head = http.head(path)
    assert head.status_code == 200 and head.headers["content-type"].startswith("text/event-stream")


def test_resuming_after_an_event_a_failover_lost_goes_on_after_it(live: tuple) -> None:
    """The client read an event the dead primary never passed on: its id is beyond the stream's
    newest, yet past. The job is final and the client has all there is: 204, not 422."""
    http, job_id, events, _ = live
    millis = int(events[-1].id.split("-")[0])
    lost = http.get(f"/v1/jobs/{job_id}/events", headers={"Last-Event-ID": f"{millis + 5}-0"})
    assert lost.status_code == 204, lost.text


def test_fifty_listeners_on_one_job_get_identical_streams(client: httpx.Client) -> None:
    job_id = submit(client, sampler_job(slow_circuit(18, 20), shots=10))["id"]
    with ThreadPoolExecutor(50) as pool:
        streams = list(pool.map(lambda _: read_stream(client, f"/v1/jobs/{job_id}/events"),
                                range(50)))
    replay = read_stream(client, f"/v1/jobs/{job_id}/events")
    assert final_status(replay[-1]) and replay[-1].data["status"] == "DONE"
    assert all(stream == replay for stream in streams)


def test_a_client_that_disconnects_mid_stream_is_let_go_and_resumes_where_it_left(
        client: httpx.Client, server: str) -> None:
    job_id = submit(client, three_pubs())["id"]
    path = f"/v1/jobs/{job_id}/events"
    with open_stream(client, path) as source:
        port = client_port(source)
        assert server_sockets(server, port) == 1
        # stop reading after PUB 0's result (PUB 1 is running): httpx closes the connection
        head = events_of(source, stop=lambda e: e.kind == "interim")
    eventually(lambda: server_sockets(server, port) == 0, message="the server to let go")
    tail = read_stream(client, path, headers={"Last-Event-ID": head[-1].id})
    assert head + tail == read_stream(client, path)
    assert final_status(tail[-1])


def test_a_browser_opens_a_stream_with_a_short_lived_token(keys: KeyStore, server: str,
                                                           redis_url: str) -> None:
    tenant, http = tenant_client(keys, server)
    job_id = submit(http, sampler_job())["id"]
    other_job = submit(http, sampler_job())["id"]
    issued = http.post(f"/v1/jobs/{job_id}/events/token")
    assert issued.status_code == 201 and issued.headers["cache-control"] == "no-store"
    token = issued.json()["token"]
    assert issued.json()["expires_at"].endswith("Z")
    browser = httpx.Client(base_url=server, headers={"Origin": CORS_ORIGIN}, timeout=90)
    with open_stream(browser, f"/v1/jobs/{job_id}/events", params={"token": token}) as source:
        assert source.response.headers["access-control-allow-origin"] == CORS_ORIGIN
        events = events_of(source)
    assert events == read_stream(http, f"/v1/jobs/{job_id}/events")
    # EventSource reconnects to the same URL with Last-Event-ID
    resumed = read_stream(browser, f"/v1/jobs/{job_id}/events", params={"token": token},
                          headers={"Last-Event-ID": events[0].id})
    assert resumed == events[1:]
    api_key = http.headers["authorization"].split()[1]
    for path, secret in ((f"/v1/jobs/{other_job}/events", token), ("/v1/events", token),
                         (f"/v1/jobs/{job_id}/events", "st_forged"),
                         (f"/v1/jobs/{job_id}/events", api_key)):  # never the key in a URL
        refused = browser.get(path, params={"token": secret})
        assert refused.status_code == 401, (path, refused.text)
        assert refused.headers["content-type"] == "application/problem+json"
    tokens = StreamTokens(Connection.open(redis_url), 300)
    brief = tokens.issue(tenant, job_scope(job_id), digest(api_key), seconds=2)["token"]
    opened = browser.head(f"/v1/jobs/{job_id}/events", params={"token": brief})
    assert opened.status_code == 200, "a fresh brief token opens the stream"
    eventually(lambda: browser.get(f"/v1/jobs/{job_id}/events", params={
        "token": brief}).status_code == 401, 10, "the brief token to expire")
    assert not any(token in value or api_key in value for value in tokens.redis.keys("gw:stream*"))


def test_a_dashboard_follows_every_status_change_of_its_tenant(keys: KeyStore,
                                                               server: str) -> None:
    _, http = tenant_client(keys, server)
    _, other = tenant_client(keys, server)
    jobs = {submit(http, sampler_job())["id"] for _ in range(2)}
    submit(other, sampler_job())
    for job_id in jobs:
        result_of(http, job_id)
    events, retry = read_until_quiet(http, "/v1/events")  # up to its first heartbeat comment
    assert retry > 0
    assert {e.data["job_id"] for e in events} == jobs
    for job_id in jobs:
        assert [e.data["status"] for e in events if e.data["job_id"] == job_id] == \
            ["QUEUED", "RUNNING", "DONE"]
    tail, _ = read_until_quiet(http, "/v1/events", headers={"Last-Event-ID": events[1].id})
    assert tail == events[2:]
    token = http.post("/v1/events/token").json()["token"]
    bare = httpx.Client(base_url=server, timeout=90)
    assert read_until_quiet(bare, "/v1/events", params={"token": token})[0] == events


def test_bad_requests_get_problems_not_streams(client: httpx.Client,
                                               other_client: httpx.Client) -> None:
    job_id = submit(client, sampler_job())["id"]
    result_of(client, job_id)
    path = f"/v1/jobs/{job_id}/events"
    for http, target in ((client, f"/v1/jobs/{uuid.uuid4().hex}/events"), (other_client, path),
                         (other_client, f"{path}/token")):
        missing = http.request("POST" if target.endswith("token") else "GET", target)
        assert missing.status_code == 404, target
        assert missing.headers["content-type"] == "application/problem+json"
    for bad in ("abc", "1-2-3", "1-", "-1", "12", "99999999999999999999-0", "1 -0"):
        refused = client.get(path, headers={"Last-Event-ID": bad})
        assert refused.status_code == 422, bad
        assert "Last-Event-ID" in refused.json()["errors"]
    assert "last_event_id" in client.get(path, params={"last_event_id": "x"}).json()["errors"]
    ahead = client.get(path, headers={"Last-Event-ID": "99999999999999-0"})
    assert ahead.status_code == 422 and "newest" in ahead.json()["detail"]
    assert client.get(path, params={"since": "0"}).status_code == 422  # unknown parameter
    for headers in ({}, {"Authorization": "Bearer nope"}):
        anonymous = httpx.get(f"{client.base_url}{path}", headers=headers)
        assert anonymous.status_code == 401
        assert anonymous.headers["content-type"] == "application/problem+json"
    assert httpx.post(f"{client.base_url}/v1/events/token").status_code == 401


def test_a_listener_that_falls_behind_rereads_redis_without_a_gap(
        redis_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """In-process, on real Redis: the hub drops a slow listener's queue; it must catch up."""
    monkeypatch.setattr(event_hub, "MAX_PENDING", 5)
    store, hub = JobStore(Connection.open(redis_url, "lag")), EventHub(RedisAddress(redis_url), 1.0)
    job_id = "lagger"
    store.append_event(job_id, "log", {"line": 0})
    stream = EventStream(hub, store.event_stream_key(job_id), START, heartbeat=0.2,
                         is_last=lambda e: json.loads(e.data)["line"] == 39,
                         still_wanted=lambda: True)
    follow = stream.follow()
    first = next(follow)  # replayed from Redis
    assert next(follow) == [] and stream.listener is not None  # joined the hub, heard nothing
    for line in range(1, 40):
        store.append_event(job_id, "log", {"line": line})
    eventually(lambda: stream.listener is not None and stream.listener.lagging,
               message="the hub to drop the slow listener's queue")
    rest = [event for batch in follow for event in batch]
    assert [json.loads(e.data)["line"] for e in first + rest] == list(range(40))
    assert hub.counts()[:2] == (0, 0)  # ending the stream left the hub


def test_a_green_wake_wakes_its_greenlet_once_and_a_late_wake_harms_nothing() -> None:
    """GreenWake, what a stream waits on under gevent: set before the wait, during it, and
    after its greenlet was killed mid-wait (nothing to wake, and the next wait works)."""
    import gevent

    from app.streaming.hub import GreenWake

    wake, woken = GreenWake(), []

    def waiter(name: str) -> None:
        wake.wait()
        woken.append(name)

    wake.set()
    gevent.spawn(waiter, "already set").join(1)
    assert woken == ["already set"]
    wake.clear()
    waiting = gevent.spawn(waiter, "set meanwhile")
    gevent.sleep(0.01)
    assert woken == ["already set"] and wake.waiter is not None
    wake.set()
    waiting.join(1)
    assert woken == ["already set", "set meanwhile"] and wake.waiter is None
    wake.clear()
    killed = gevent.spawn(waiter, "killed")
    gevent.sleep(0.01)
    killed.kill()  # a stream's greenlet killed mid-wait (a worker stopping)
    assert killed.dead and wake.waiter is None
    wake.set()
    gevent.sleep(0.01)
    assert "killed" not in woken
    wake.clear()
    later = gevent.spawn(waiter, "later")
    gevent.sleep(0.01)
    wake.set()
    later.join(1)
    assert woken[-1] == "later"
