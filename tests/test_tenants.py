"""Tenants share fairly, through HTTP with the session's two real workers: a flood does not
hold back another tenant's job, a running cap keeps a worker free, a waiting-jobs quota answers
429 with its headers. (The dispatch order itself: test_dispatch.py.)"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from app.ratelimits import RateLimits
from core.clock import now_iso
from core.config import Config
from core.errors import QuotaExceeded
from core.store.api_keys import KeyStore
from core.store.connection import Connection
from core.store.jobs import JobStore
from core.store.quotas import LIMITS, Quotas
from tests.conftest import ROOT, result_of, sampler_job, slow_circuit, submit
from tests.events_helpers import eventually, tenant_client
from tests.test_operations import seconds_between, wait_for_status

LONG = slow_circuit(22, 50)  # ~15 s: "never-ending" for these tests, which cancel it
SHORT = slow_circuit(16, 30)  # a fraction of a second


@pytest.fixture
def tenants(keys: KeyStore, server: str,
            redis_url: str) -> Iterator[tuple[httpx.Client, httpx.Client]]:
    (a_name, a), (_, b) = tenant_client(keys, server), tenant_client(keys, server)
    a.headers["X-Test-Tenant"] = a_name  # for set_limits
    yield a, b
    quotas = Quotas(Connection.open(redis_url))
    for name in LIMITS:
        quotas.set(a_name, name, None)
    for http in (a, b):  # nothing of theirs may hold the session's workers afterwards
        for job in unthrottled(http, "GET", "/v1/jobs", params={"limit": 100}).json()["jobs"]:
            unthrottled(http, "DELETE", f"/v1/jobs/{job['id']}")
        http.close()


def unthrottled(http: httpx.Client, method: str, path: str, **kwargs: Any) -> httpx.Response:
    """The request, again after each 429's Retry-After (limits set by a test may linger for
    GATEWAY_KEY_CACHE_SECONDS in the API processes)."""
    for _ in range(20):
        response = http.request(method, path, **kwargs)
        if response.status_code != 429:
            return response
        time.sleep(float(response.headers["retry-after"]))
    raise AssertionError(f"{method} {path} stayed throttled")


def set_limits(env: dict[str, str], http: httpx.Client, *settings: str) -> None:
    """`flask keys limits TENANT NAME=VALUE…`, as an operator would."""
    tenant = http.headers["X-Test-Tenant"]
    done = subprocess.run([sys.executable, "-m", "flask", "--app", "app", "keys", "limits",
                           tenant, *settings], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    for setting in settings:
        assert setting.replace("=", "\t") in done.stdout


def statuses(http: httpx.Client, jobs: list[dict]) -> list[str]:
    return [http.get(f"/v1/jobs/{job['id']}/status").json()["status"] for job in jobs]


def test_one_job_is_not_held_back_by_another_tenants_flood(tenants: tuple) -> None:
    flooder, single = tenants
    flood = [submit(flooder, sampler_job(SHORT, shots=10)) for _ in range(30)]
    # the flood is being served (its first job may well be over already: warm workers run it
    # while the rest of the flood is still being submitted)
    eventually(lambda: stamps(flooder, flood[0]["id"])[1], 30, "the flood's first job to start")
    job = submit(single, sampler_job())
    result_of(single, job["id"])
    submitted, started = stamps(single, job["id"])
    flood_started = [stamps(flooder, j["id"])[1] for j in flood]
    ahead = sum(1 for stamp in flood_started if stamp and submitted < stamp < started)
    waiting = sum(1 for stamp in flood_started if not stamp or stamp > submitted)
    assert waiting >= 10  # the flood was still there to go ahead of the single job
    # at most one per worker, taken while the single job was being submitted
    assert ahead <= 2, f"{ahead} of the flood's jobs went ahead of the single job"


def stamps(http: httpx.Client, job_id: str) -> tuple[str, str | None]:
    """When the job was submitted, and when it started running (if it did)."""
    timestamps = http.get(f"/v1/jobs/{job_id}/metrics").json()["timestamps"]
    return timestamps["created"], timestamps["running"]


def test_a_tenant_at_its_running_cap_leaves_a_worker_for_the_others(
        tenants: tuple, env: dict[str, str]) -> None:
    hog, other = tenants
    set_limits(env, hog, "max_running=1")
    endless = [submit(hog, sampler_job(LONG, shots=10)) for _ in range(3)]
    wait_for_status(hog, endless[0]["id"], "RUNNING")
    assert result_of(other, submit(other, sampler_job())["id"], wait=20)
    assert sorted(statuses(hog, endless)) == ["QUEUED", "QUEUED", "RUNNING"]
    assert hog.get(f"/v1/jobs/{endless[2]['id']}/queue").json()["position"] == 2


def test_a_waiting_job_says_why_it_waits_and_when_it_starts(
        tenants: tuple, env: dict[str, str]) -> None:
    capped, other = tenants
    set_limits(env, capped, "max_running=1")
    running = submit(capped, sampler_job(LONG, shots=10))
    wait_for_status(capped, running["id"], "RUNNING")
    held = submit(capped, sampler_job())
    ends = queue_of(capped, running)["estimated_completion_time"]
    info = queue_of(capped, held)
    assert info["position"] == 1 and info["reason"] == "tenant_running_cap"
    assert "1 of your jobs is running" in info["detail"] and "your own limit" in info["detail"]
    # it starts when the running job is expected to end (from that job's own estimate)
    assert abs(seconds_between(ends, info["estimated_start_time"])) < 1
    assert seconds_between(now_iso(), info["estimated_start_time"]) > 5
    # the other tenant, below its cap, waits for a worker once both are busy
    wait_for_status(other, submit(other, sampler_job(LONG, shots=10))["id"], "RUNNING")
    assert queue_of(other, submit(other, sampler_job()))["reason"] == "waiting_for_worker"


def queue_of(http: httpx.Client, job: dict) -> dict:
    return unthrottled(http, "GET", f"/v1/jobs/{job['id']}/queue").json()


def test_over_the_waiting_jobs_quota_a_submission_is_429_and_nothing_is_lost(
        tenants: tuple, env: dict[str, str]) -> None:
    busy, other = tenants
    set_limits(env, busy, "max_running=1", "max_queued=2")
    blocker = submit(busy, sampler_job(LONG, shots=10))
    wait_for_status(busy, blocker["id"], "RUNNING")
    waiting = [submit(busy, sampler_job()) for _ in range(2)]
    refused = busy.post("/v1/jobs", json=sampler_job())
    assert refused.status_code == 429, refused.text
    assert refused.headers["content-type"] == "application/problem+json"
    assert int(refused.headers["retry-after"]) >= 1
    assert refused.headers["ratelimit-policy"] == '"queued";q=2'
    assert refused.headers["ratelimit"].startswith('"queued";r=0;t=')
    assert result_of(other, submit(other, sampler_job())["id"])  # others are unaffected
    busy.post(f"/v1/jobs/{blocker['id']}/cancel")
    for job in waiting:
        assert result_of(busy, job["id"])


def test_over_its_request_rate_a_key_gets_429_and_other_tenants_do_not(
        tenants: tuple, env: dict[str, str]) -> None:
    limited, other = tenants
    set_limits(env, limited, "requests_per_second=5")
    answers = [limited.get("/v1/jobs") for _ in range(30)]
    refused = [a for a in answers if a.status_code == 429]
    assert refused and all(a.status_code in (200, 429) for a in answers)
    assert refused[0].headers["ratelimit-policy"] == '"requests";q=5;w=1'
    assert refused[0].headers["retry-after"] == "1"
    assert refused[0].json()["type"].endswith("/too-many-requests")
    assert all(other.get("/v1/jobs").status_code == 200 for _ in range(30))


@pytest.mark.parametrize("path", ["/v1/jobs/{id}", "/v1/jobs/{id}/status", "/v1/jobs/no-such!"])
def test_job_reads_are_counted_with_their_read(tenants: tuple, env: dict[str, str],
                                               path: str) -> None:
    """A read of one job sends the request's count in the same round trip: still every request
    counted, an unknown or implausible id too, and over the rate 429 before anything is shown."""
    limited, other = tenants
    set_limits(env, limited, "requests_per_second=5")  # before its first request: not cached
    job = submit(limited, sampler_job())
    answers = [limited.get(path.format(id=job["id"])) for _ in range(30)]
    refused = [a for a in answers if a.status_code == 429]
    assert len(refused) >= 10, [a.status_code for a in answers]
    assert {a.status_code for a in answers} <= {200, 404, 429}
    assert refused[0].headers["ratelimit-policy"] == '"requests";q=5;w=1'
    assert refused[0].headers["retry-after"] == "1"
    assert "status" not in refused[0].json() or refused[0].json()["status"] == 429
    assert other.get(f"/v1/jobs/{job['id']}").status_code == 404  # another tenant's: unknown


def test_a_count_whose_window_was_lost_opens_the_next_window(redis_url: str) -> None:
    """A count's `SET NX EX` and `INCR` share a round trip, not a transaction: a window that
    expires between them leaves a counter with no expiry. Rather than refuse its key for ever,
    the refusal that finds it opens the next window."""
    connection = Connection.open(redis_url)
    Quotas(connection).set("lost-window", "requests_per_second", 3)
    rates = RateLimits(Config(), connection, Quotas(connection))
    key = rates.request("lost-window", "a-key").key
    connection.text.set(key, 1_000)  # as if its expiry had been lost
    rates.send(rates.request("lost-window", "a-key"))
    assert connection.text.get(key) == "1" and 0 < connection.text.pttl(key) <= 1000
    rates.send(rates.request("lost-window", "a-key"))
    rates.send(rates.request("lost-window", "a-key"))
    with pytest.raises(QuotaExceeded):
        rates.send(rates.request("lost-window", "a-key"))
    connection.text.delete(key)


def test_submissions_per_minute_and_open_streams_are_capped_per_tenant(
        tenants: tuple, env: dict[str, str]) -> None:
    limited, other = tenants
    set_limits(env, limited, "submits_per_minute=2", "max_streams=1")
    accepted = [submit(limited, sampler_job()) for _ in range(2)]
    refused = limited.post("/v1/jobs", json=sampler_job())
    assert refused.status_code == 429
    assert refused.headers["ratelimit-policy"] == '"submits";q=2;w=60'
    assert 1 <= int(refused.headers["retry-after"]) <= 60
    assert refused.headers["ratelimit"].startswith('"submits";r=0;t=')
    for job in accepted:
        assert result_of(limited, job["id"])
    assert submit(other, sampler_job())
    with limited.stream("GET", "/v1/events") as first:
        assert first.status_code == 200
        second = limited.get("/v1/events")
        assert second.status_code == 429 and second.headers["ratelimit-policy"] == '"streams";q=1'
        assert other.get(f"/v1/jobs/{accepted[0]['id']}/events").status_code == 404
    assert eventually(lambda: stream_opens(limited)), "a closed stream still counted"


def stream_opens(http: httpx.Client) -> bool:
    with http.stream("GET", "/v1/events") as response:
        return response.status_code == 200


def test_over_its_stored_bytes_a_tenant_gets_429_until_it_deletes_jobs(
        tenants: tuple, env: dict[str, str], redis_url: str) -> None:
    keeper, other = tenants
    first = submit(keeper, sampler_job())
    assert result_of(keeper, first["id"])
    tenant = keeper.headers["X-Test-Tenant"]
    stored = JobStore(Connection.open(redis_url)).stored_bytes(tenant)
    assert stored > 0  # its inputs and results, as Redis holds them
    set_limits(env, keeper, f"max_stored_bytes={stored + 10}")
    Quotas(Connection.open(redis_url)).forget_stored(tenant)  # count now, not in 30 s
    refused = keeper.post("/v1/jobs", json=sampler_job())
    assert refused.status_code == 429, refused.text
    assert refused.headers["ratelimit-policy"] == f'"stored";q={stored + 10}'
    assert int(refused.headers["retry-after"]) >= 1
    assert "max_stored_bytes" in refused.json()["detail"]
    assert keeper.get(f"/v1/jobs/{first['id']}/result").status_code == 200  # nothing lost
    assert result_of(other, submit(other, sampler_job())["id"])  # others are unaffected
    assert keeper.delete(f"/v1/jobs/{first['id']}").status_code == 204
    assert result_of(keeper, submit(keeper, sampler_job())["id"])  # room again
