"""Faults, dealt as an operator or the OOM killer would: whatever dies, no job is lost.

The module runs its own Redis (AOF on a fixed port, so that it can be restarted on its file),
four RQ workers and three API servers, apart from the session's, all started at once; the
worker and API tests each take one down for good (nothing is restarted: boots are slow). Every
test ends by checking each job it submitted: final, its result readable, and its whole event
stream (first status to last).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import redis

from core.store.connection import Connection
from core.store.jobs import JobStore
from core.store.leases import lease_key
from scripts.local_http import launch_api, wait_for_http
from scripts.local_redis import start_redis
from tests.conftest import result_of, sampler_job, slow_circuit, start_worker, stop, submit
from tests.events_helpers import eventually, iter_events, open_stream, read_stream

KEY = "fault-key-0123456789-abcdef"
OUTAGE_ANSWER_SECONDS = 6  # a request during an outage is answered (503) within this


class Stack:
    """Redis, workers and API servers of this module, and the faults done to them."""

    def __init__(self, data: Path, env: dict[str, str]) -> None:
        self.data = data
        self.redis, url = start_redis(data, fsync="always")  # acknowledged = on disk
        self.port = int(url.rsplit(":", 1)[1].split("/")[0])
        self.env = {**env, "REDIS_URL": url, "GATEWAY_API_KEYS": f"faults:{KEY}",
                    "GATEWAY_WORKER_LEASE_SECONDS": "3", "GATEWAY_REDIS_TIMEOUT_SECONDS": "1",
                    "GATEWAY_WORKER_DRAIN_SECONDS": "1", "GATEWAY_JOB_MAX_ATTEMPTS": "3",
                    "GATEWAY_KEY_CACHE_SECONDS": "0"}
        self.workers = [start_worker(self.env) for _ in range(4)]
        self.apis = [self.spawn_api() for _ in range(3)]
        for process, base in self.apis:
            wait_for_http(f"{base}/readyz", process)

    def spawn_api(self) -> tuple[subprocess.Popen, str]:
        base, process = launch_api(self.env, 1, own_session=True)
        return process, base

    def client(self, api: int = -1) -> httpx.Client:
        """A client of an API server (by default the one no test takes down)."""
        return httpx.Client(base_url=self.apis[api][1], timeout=90,
                            headers={"Authorization": f"Bearer {KEY}"})

    def worker_running(self, job_id: str) -> subprocess.Popen:
        """The worker holding the job's lease (its value is `host:pid`), once it runs."""
        client = redis.Redis.from_url(self.env["REDIS_URL"], decode_responses=True)
        holder: list[str] = []
        assert eventually(lambda: bool(holder.append(client.get(lease_key("gw", job_id)) or "")
                                       or holder[-1]), 60), "the job never ran"
        pid = int(holder[-1].rsplit(":", 1)[1])
        return next(w for w in self.workers if w.pid == pid)

    def log_so_far(self, job_id: str) -> str:
        """The job's log lines until now (the API shows them once the job is final)."""
        return "\n".join(JobStore(Connection.open(self.env["REDIS_URL"])).logs(job_id))

    def restart_redis(self) -> None:
        self.redis = start_redis(self.data, self.port, fsync="always")[0]

    def close(self) -> None:
        for process in [*self.workers, *(api for api, _ in self.apis)]:
            stop(process)
        stop(self.redis)


@pytest.fixture(scope="module")
def stack(env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    built = Stack(tmp_path_factory.mktemp("fault-redis"), env)
    try:
        yield built
    finally:
        built.close()


def assert_complete(http: httpx.Client, job_id: str) -> dict:
    """Final (DONE), its result readable, its event stream whole: QUEUED first, DONE last, one
    result; the job's record."""
    answer = http.get(f"/v1/jobs/{job_id}/wait", params={"timeout": 60})
    assert answer.status_code == 200, answer.text
    assert answer.json()["status"] == "DONE", answer.json()
    assert result_of(http, job_id)["pub_results"]
    events = read_stream(http, f"/v1/jobs/{job_id}/events")
    statuses = [e.data["status"] for e in events if e.kind == "status"]
    assert statuses[0] == "QUEUED" and statuses[-1] == "DONE", statuses
    assert [e.kind for e in events].count("result") == 1
    assert [e.id for e in events] == sorted(set(e.id for e in events), key=_order)
    return answer.json()


def _order(event_id: str) -> tuple[int, int]:
    millis, _, seq = event_id.partition("-")
    return int(millis), int(seq)


def attempts(http: httpx.Client, job_id: str) -> int:
    return int(http.get(f"/v1/jobs/{job_id}/metrics").json()["attempts"])


def assert_unavailable(http: httpx.Client, path: str) -> None:
    """While Redis is away: a 503 problem with Retry-After, soon."""
    started = time.monotonic()
    answer = http.get(path)
    assert time.monotonic() - started < OUTAGE_ANSWER_SECONDS
    assert answer.status_code == 503, answer.text
    assert answer.headers["Content-Type"] == "application/problem+json"
    assert int(answer.headers["Retry-After"]) > 0


def test_a_worker_killed_mid_job(stack: Stack) -> None:
    """SIGKILL (the OOM killer): the lease runs out, another worker runs the job again."""
    with stack.client() as http:
        job = submit(http, sampler_job(slow_circuit(20, 30), shots=10))
        victim = stack.worker_running(job["id"])
        os.killpg(victim.pid, signal.SIGKILL)
        victim.wait()
        stack.workers.remove(victim)
        assert_complete(http, job["id"])
        assert attempts(http, job["id"]) == 2


def test_a_worker_stopped_mid_job_hands_it_back(stack: Stack) -> None:
    """SIGTERM: no new job; past the 1 s drain window the job goes back to the queue, not
    counted as an attempt, and the worker exits cleanly."""
    with stack.client() as http:
        job = submit(http, sampler_job(slow_circuit(20, 40), shots=10))  # ~2.5 s
        victim = stack.worker_running(job["id"])
        victim.terminate()
        assert victim.wait(15) == 0
        stack.workers.remove(victim)
        assert_complete(http, job["id"])
        assert attempts(http, job["id"]) == 1
        assert "not counted as an attempt" in http.get(f"/v1/jobs/{job['id']}/logs").text


def test_a_sigterm_to_the_workers_whole_process_group_hands_the_job_back(stack: Stack) -> None:
    """systemd's KillMode=control-group, `kill -TERM -- -PGID`: the simulation process gets the
    SIGTERM too, and leaves it to its worker, which drains and hands the job back as above."""
    with stack.client() as http:
        job = submit(http, sampler_job(slow_circuit(20, 40), shots=10))  # ~2.5 s
        victim = stack.worker_running(job["id"])
        assert eventually(lambda: "simulating in process" in stack.log_so_far(job["id"]), 10)
        os.killpg(victim.pid, signal.SIGTERM)
        assert victim.wait(15) == 0
        stack.workers.remove(victim)
        assert_complete(http, job["id"])
        assert attempts(http, job["id"]) == 1
        said = logs(http, job["id"])
        assert "not counted as an attempt" in said and "died" not in said, said


def test_a_simulation_process_killed_from_outside_is_another_attempt(stack: Stack) -> None:
    """A signal the gateway did not send (an operator, the host's OOM killer) kills the
    simulation process alone: the worker's failure, not the job's. The job runs again, the
    attempt counted, and the worker takes on."""
    with stack.client() as http:
        job = submit(http, sampler_job(slow_circuit(20, 40), shots=10))
        stack.worker_running(job["id"])
        assert eventually(lambda: "simulating in process" in stack.log_so_far(job["id"]), 10)
        child = int(stack.log_so_far(job["id"]).split("simulating in process ")[1].split()[0])
        os.kill(child, signal.SIGHUP)
        assert_complete(http, job["id"])
        assert attempts(http, job["id"]) == 2
        said = logs(http, job["id"])
        assert "the simulation process was killed by SIGHUP" in said, said
        assert "attempt 1 of 3" in said, said
        assert all(w.poll() is None for w in stack.workers)


def logs(http: httpx.Client, job_id: str) -> str:
    return http.get(f"/v1/jobs/{job_id}/logs").text


def three_pub_job() -> dict:
    body = sampler_job(slow_circuit(18, 30), shots=10)
    body["pubs"] *= 3
    return body


def test_an_api_process_killed_mid_stream(stack: Stack) -> None:
    """SIGKILL of the API serving a stream: the client resumes on the other from Last-Event-ID,
    and has every event once."""
    with stack.client(0) as first, stack.client() as second:
        job = submit(first, three_pub_job())
        path = f"/v1/jobs/{job['id']}/events"
        seen = []
        with contextlib.suppress(httpx.HTTPError), open_stream(first, path) as source:
            for event in iter_events(source):
                seen.append(event)
                if event.kind == "interim" or len(seen) == 4:
                    api = stack.apis.pop(0)[0]
                    os.killpg(api.pid, signal.SIGKILL)
                    api.wait()
                    break
        rest = read_stream(second, path, headers={"Last-Event-ID": seen[-1].id})
        assert seen + rest == read_stream(second, path)
        assert_complete(second, job["id"])


def test_an_api_stopped_mid_stream_tells_its_clients_to_reconnect(stack: Stack) -> None:
    """SIGTERM: the stream ends at once with a `retry:`, not after gunicorn's graceful timeout,
    and the client resumes on the other API."""
    with stack.client(0) as first, stack.client() as second:
        job = submit(first, three_pub_job())
        path = f"/v1/jobs/{job['id']}/events"
        last_id, retries, stopped = "", 0, 0.0
        with first.stream("GET", path) as response:
            for line in response.iter_lines():
                if line.startswith("id: "):
                    last_id = line[4:]
                    if not stopped:
                        stopped = time.monotonic()
                        stack.apis[0][0].terminate()
                retries += line.startswith("retry: ") and bool(stopped)
        assert retries == 1 and time.monotonic() - stopped < 5
        assert stack.apis.pop(0)[0].wait(15) == 0
        rest = read_stream(second, path, headers={"Last-Event-ID": last_id})
        assert rest and _order(rest[0].id) > _order(last_id)
        assert_complete(second, job["id"])


def submit_a_mix(http: httpx.Client) -> list[str]:
    """Two slow jobs and four quick ones: some run, some wait, when the fault comes."""
    jobs = [submit(http, sampler_job(slow_circuit(20, 30), shots=10)) for _ in range(2)]
    jobs += [submit(http, sampler_job()) for _ in range(4)]
    return [job["id"] for job in jobs]


def test_redis_killed_and_restarted_on_its_aof(stack: Stack) -> None:
    with stack.client() as http:
        ids = submit_a_mix(http)
        stack.worker_running(ids[0])
        stack.redis.kill()
        stack.redis.wait()
        assert_unavailable(http, f"/v1/jobs/{ids[0]}")
        ready = httpx.get(f"{stack.apis[-1][1]}/readyz", timeout=10)
        assert ready.status_code == 503 and "Redis" in ready.json()["reason"]
        stack.restart_redis()
        for job_id in ids:
            assert_complete(http, job_id)
        assert all(w.poll() is None for w in stack.workers)  # the workers lived through it


def test_redis_stalled_for_five_seconds(stack: Stack) -> None:
    with stack.client() as http:
        ids = submit_a_mix(http)
        stack.worker_running(ids[0])
        stack.redis.send_signal(signal.SIGSTOP)
        stalled = time.monotonic()
        try:
            assert_unavailable(http, f"/v1/jobs/{ids[0]}")
            assert_unavailable(http, f"/v1/jobs/{ids[0]}/result")
            time.sleep(max(0.0, 5 - (time.monotonic() - stalled)))  # the fault's length
        finally:
            stack.redis.send_signal(signal.SIGCONT)
        for job_id in ids:
            assert_complete(http, job_id)
        assert all(w.poll() is None for w in stack.workers)


def test_redis_refusing_writes_for_a_while(stack: Stack) -> None:
    """Out of memory (noeviction): writes are refused, the job's final one too, until memory is
    freed; the job still ends with its result."""
    admin = redis.Redis.from_url(stack.env["REDIS_URL"])
    with stack.client() as http:
        job = submit(http, sampler_job(slow_circuit(20, 30), shots=10))
        stack.worker_running(job["id"])
        admin.config_set("maxmemory", "1")
        try:
            with pytest.raises(redis.exceptions.OutOfMemoryError):
                admin.set("fault-probe", "x")
            refused = http.post("/v1/jobs", json=sampler_job())  # a write: 503, not a 500
            assert refused.status_code == 503 and "Retry-After" in refused.headers, refused.text
            so_far = refused_writes(admin)
            assert eventually(lambda: refused_writes(admin) > so_far, 60)  # the worker's writes
            time.sleep(1)  # the fault goes on a little
        finally:
            admin.config_set("maxmemory", "0")
        assert_complete(http, job["id"])


def refused_writes(admin: redis.Redis) -> int:
    """Commands Redis refused since its start (out of memory): scripts, and the script loads
    a Redis restarted by an earlier test asks for first, lease renewals and the rest."""
    stats = admin.info("commandstats")
    return sum(int(v.get("rejected_calls", 0)) for v in stats.values())
