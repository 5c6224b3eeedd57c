"""`/metrics` after known traffic: the counts are exact, summed over two API processes and a
worker (one directory of prometheus_client's multiprocess mode), labelled by route template,
never by job id, and a tenant by name only when GATEWAY_METRICS_TENANTS names it."""

from __future__ import annotations

import json
import os
import signal
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from core import metrics
from core.config import Config
from core.ibm.account import Account
from core.ibm.trouble import UpstreamError
from core.store.connection import Connection
from core.store.quotas import Quotas
from tests.conftest import sampler_job, submit
from tests.private_gateway import PrivateGateway
from tests.waiting import eventually

KEYS = {"acme": "metrics-key-of-acme-0123456789", "zeta": "metrics-key-of-zeta-0123456789",
        "capped": "metrics-key-of-capped-0123456789"}
BAD_PROGRAM = 'OPENQASM 3.0; include "stdgates.inc"; qubit[2] q; hh q[0];'


@pytest.fixture(scope="module")
def gateway(env: dict[str, str], tmp_path_factory: pytest.TempPathFactory
            ) -> Iterator[PrivateGateway]:
    directory = tmp_path_factory.mktemp("metrics")
    (directory / "prometheus").mkdir()
    gw = PrivateGateway(env, directory, KEYS, processes=2,
                        PROMETHEUS_MULTIPROC_DIR=str(directory / "prometheus"),
                        GATEWAY_METRICS_TENANTS="acme", GATEWAY_KEY_CACHE_SECONDS="0")
    yield gw
    gw.close()


def scrape(base: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Every sample of `/metrics`: (name, labels) -> value."""
    text = httpx.get(f"{base}/metrics").text
    return {(sample.name, frozenset(sample.labels.items())): sample.value
            for family in text_string_to_metric_families(text) for sample in family.samples}


def value(samples: dict, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def api_processes(gw: PrivateGateway) -> set[int]:
    return {int(pid) for pid in Path(f"/proc/{gw.api.pid}/task/{gw.api.pid}/children")
            .read_text().split()}


def counted_by(directory: Path) -> set[int]:
    """The pids that have counted something (a file of counters each)."""
    return {int(path.stem.rsplit("_", 1)[1]) for path in directory.glob("counter_*.db")}


def test_request_counts_are_exact_across_two_api_processes(gateway: PrivateGateway) -> None:
    with gateway.client("acme") as http:
        job = submit(http, sampler_job())
        http.get(f"/v1/jobs/{job['id']}/result", params={"wait": 30}).raise_for_status()
    headers = {"Authorization": f"Bearer {KEYS['acme']}"}
    url = f"{gateway.base}/v1/jobs/{job['id']}"
    sent = 0
    with ThreadPoolExecutor(8) as pool:  # a new connection each: either process may take it
        while not api_processes(gateway) <= counted_by(gateway.directory / "prometheus"):
            assert sent < 2000, "one API process served every request"
            answers = list(pool.map(lambda _: httpx.get(url, headers=headers), range(20)))
            assert {answer.status_code for answer in answers} == {200}
            sent += len(answers)
    missing = httpx.get(f"{gateway.base}/v1/jobs/{'0' * 32}", headers=headers)
    assert missing.status_code == 404
    samples = scrape(gateway.base)
    read = {"method": "GET", "route": "/v1/jobs/{job_id}", "status": "200"}
    assert value(samples, "gateway_http_requests_total", **read) == sent
    assert value(samples, "gateway_http_request_duration_seconds_count", **read) == sent
    assert value(samples, "gateway_http_request_duration_seconds_bucket", le="+Inf",
                 **read) == sent
    assert value(samples, "gateway_http_requests_total", method="GET",
                 route="/v1/jobs/{job_id}", status="404") == 1
    assert value(samples, "gateway_http_requests_total", method="POST", route="/v1/jobs",
                 status="202") >= 1


def test_jobs_by_final_status_with_their_times(gateway: PrivateGateway) -> None:
    before = scrape(gateway.base)
    for tenant, jobs in (("acme", 3), ("zeta", 1)):
        with gateway.client(tenant) as http:
            ids = [submit(http, sampler_job(shots=100))["id"] for _ in range(jobs)]
            for job_id in ids:
                http.get(f"/v1/jobs/{job_id}/result", params={"wait": 30}).raise_for_status()
    labels = {"backend": "aer_simulator", "program": "sampler"}

    def added(name: str, **more: str) -> float:
        return value(scrape(gateway.base), name, **labels, **more) - value(
            before, name, **labels, **more)

    # the worker counts after its final write: the client may see DONE a moment before
    eventually(lambda: added("gateway_jobs_finished_total", status="DONE", tenant="acme") == 3,
               10, "the worker's count")
    assert added("gateway_jobs_finished_total", status="DONE", tenant="other") == 1
    assert added("gateway_job_queue_wait_seconds_count") == 4
    assert added("gateway_job_run_seconds_count", status="DONE") == 4
    assert added("gateway_job_submit_to_final_seconds_count", status="DONE") == 4
    samples = scrape(gateway.base)
    assert value(samples, "gateway_job_transitions_total", status="DONE") >= 4  # from Redis
    assert ("gateway_queue_depth", frozenset()) in samples


def test_refusals_by_kind(gateway: PrivateGateway) -> None:
    Quotas(Connection.open(gateway.redis_url)).set("capped", "submits_per_minute", 1)
    with gateway.client("acme") as http:
        too_many = http.post("/v1/jobs", json=sampler_job(shots=10**6))
        unreadable = http.post("/v1/jobs", json=sampler_job(BAD_PROGRAM))
        not_json = http.post("/v1/jobs", content=b'{"program_id": "sampler",}',
                             headers={"Content-Type": "application/json"})
    with gateway.client("capped") as http:
        statuses = [http.post("/v1/jobs", json=sampler_job()).status_code for _ in range(2)]
    assert (too_many.status_code, unreadable.status_code, not_json.status_code) == (422, 422, 400)
    assert statuses == [202, 429]
    samples = scrape(gateway.base)
    assert value(samples, "gateway_refusals_total", kind="limit", reason="shots",
                 tenant="acme") == 1
    assert value(samples, "gateway_refusals_total", kind="parse", reason="program",
                 tenant="acme") == 1
    assert value(samples, "gateway_refusals_total", kind="parse", reason="json",
                 tenant="acme") == 1
    assert value(samples, "gateway_refusals_total", kind="rate_limit", reason="submits",
                 tenant="other") == 1


def test_event_streams_and_the_events_they_sent(gateway: PrivateGateway) -> None:
    with gateway.client("acme") as http:
        job = submit(http, sampler_job())
        http.get(f"/v1/jobs/{job['id']}/result", params={"wait": 30}).raise_for_status()
        before = scrape(gateway.base)
        text = http.get(f"/v1/jobs/{job['id']}/events").text  # replayed; ends after DONE
    kinds = Counter(line.split(": ", 1)[1] for line in text.splitlines()
                    if line.startswith("event: "))
    assert kinds["status"] == 3 and kinds["result"] == 1
    after = scrape(gateway.base)
    for kind, sent in kinds.items():
        name, labels = "gateway_events_sent_total", {"stream": "job", "event": kind}
        assert value(after, name, **labels) - value(before, name, **labels) == sent
    assert value(after, "gateway_event_streams_open", stream="job") == 0
    assert value(after, "gateway_http_requests_total", method="GET",
                 route="/v1/jobs/{job_id}/events", status="200") >= 1


def test_no_label_is_a_job_id(gateway: PrivateGateway) -> None:
    with gateway.client("acme") as http:
        job = submit(http, sampler_job())
        http.get(f"/v1/jobs/{job['id']}/status")
    text = httpx.get(f"{gateway.base}/metrics").text
    assert job["id"] not in text and "/v1/jobs/{job_id}/status" in text


def test_killed_parse_processes_are_counted_when_replaced(gateway: PrivateGateway) -> None:
    """(Last of the module's scenarios: a submission may meet a killed parse process and be
    refused, which the refusal then counts by the reason it finds, as any other.)"""
    parsers = {int(pid) for api in api_processes(gateway)
               for pid in Path(f"/proc/{api}/task/{api}/children").read_text().split()}
    for pid in parsers:
        os.kill(pid, signal.SIGKILL)

    def replaced() -> float:
        with gateway.client("acme") as http:  # a new connection: either process may take it
            http.post("/v1/jobs", json=sampler_job())
        samples = scrape(gateway.base)
        return sum(found for (name, labels), found in samples.items()
                   if name == "gateway_process_restarts_total" and ("process", "parser") in labels)

    assert eventually(replaced, 30, "a replaced parse process") >= 1


def test_calls_to_ibm_are_counted_by_operation_and_outcome() -> None:
    """In this process (the IBM stand-in's tests make real calls: tests/test_ibm.py)."""
    import requests

    account = Account(Config())

    def unreachable() -> None:  # what the client raises when the network fails
        raise requests.ConnectionError("connection refused")

    def count(name: str, outcome: str) -> float:
        found = metrics.registry().get_sample_value(name, {"operation": "probe",
                                                           "outcome": outcome})
        return found or 0.0

    before = [count("gateway_ibm_calls_total", outcome) for outcome in ("ok", "transient")]
    account.call("probing", lambda: None, operation="probe")
    with pytest.raises(UpstreamError):
        account.call("probing", unreachable, operation="probe")
    after = [count("gateway_ibm_calls_total", outcome) for outcome in ("ok", "transient")]
    assert [a - b for a, b in zip(after, before, strict=True)] == [1, 1]
    assert count("gateway_ibm_call_duration_seconds_count", "ok") >= 1


def test_the_dashboard_shows_only_metrics_the_gateway_exports() -> None:
    from tests.conftest import ROOT

    dashboard = json.loads((ROOT / "deploy/grafana/gateway.json").read_text())
    exprs = [target["expr"] for panel in dashboard["panels"]
             for target in panel.get("targets", [])]
    named = set()
    for expr in exprs:
        named |= {word for word in expr.replace("(", " ").replace(")", " ").replace("{", " ")
                  .replace("[", " ").split() if word.startswith("gateway_")}
    families = {family.name for collector in (metrics.HTTP_REQUESTS, metrics.HTTP_SECONDS,
                                              metrics.JOBS_FINISHED, metrics.JOB_QUEUE_SECONDS,
                                              metrics.JOB_RUN_SECONDS, metrics.JOB_TOTAL_SECONDS,
                                              metrics.STREAMS_OPEN, metrics.EVENTS_SENT,
                                              metrics.REFUSALS, metrics.IBM_CALLS,
                                              metrics.IBM_SECONDS, metrics.WEBHOOK_DELIVERIES,
                                              metrics.WEBHOOK_SECONDS, metrics.RESTARTS)
                for family in collector.describe()}
    families |= {"gateway_job_transitions", "gateway_queue_depth", "gateway_jobs_running",
                 "gateway_workers"}  # read from Redis at each scrape (app/ops.py)
    suffixes = ("_total", "_bucket", "_count", "_sum")
    unknown = {name for name in named
               if name not in families and not any(name.removesuffix(s) in families
                                                   for s in suffixes)}
    assert named and not unknown
