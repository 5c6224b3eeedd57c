"""The gateway's Prometheus metrics, counted in the processes where things happen.

Every process of a host counts into one directory, `PROMETHEUS_MULTIPROC_DIR` (prometheus_client's
multiprocess mode: a small file per process and kind, which it reads when it is imported, so
the variable is set before the process starts), and the API's `/metrics` sums the directory:
its gunicorn processes, and, on one host, the workers and `make run`'s supervisor too. One
directory per process namespace: two containers' pids may be equal, so containers never share
one (in Kubernetes each pod has its own, and a worker pod serves its own `/metrics` on
GATEWAY_METRICS_PORT). `make run` empties `./var/metrics` when it starts; a gunicorn started
alone without the variable makes a directory of its own (`gunicorn.conf.py`).

The figures of the whole gateway that Redis holds (jobs entering each status, queue depth, jobs
running, workers) are read from Redis when `/metrics` is scraped (`app/ops.py`), not counted here.

Label sets are bounded: routes are templates (`/v1/jobs/{job_id}`), backends come from the
catalog and the account's devices, programs are two, reasons and outcomes are names from the
code. No job id is a label. A tenant is a label only if GATEWAY_METRICS_TENANTS names it; every
other tenant counts as `other`.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Protocol

from prometheus_client import (
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    start_http_server,
)
from prometheus_client.multiprocess import MultiProcessCollector

from core.clock import iso_to_micros
from core.config import Config

OTHER_TENANT = "other"
FINAL = ("DONE", "ERROR", "CANCELLED")
HTTP_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)
JOB_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800,
               3600, 4 * 3600, 24 * 3600)  # IBM Quantum's queue can take hours
CALL_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)

HTTP_REQUESTS = Counter("gateway_http_requests", "HTTP requests answered by the API",
                        ["method", "route", "status"])
HTTP_SECONDS = Histogram("gateway_http_request_duration_seconds",
                         "Time to the response's headers (an event stream: to its start)",
                         ["method", "route", "status"], buckets=HTTP_BUCKETS)
JOBS_FINISHED = Counter("gateway_jobs_finished", "Jobs that reached a final status",
                        ["backend", "program", "status", "tenant"])
JOB_QUEUE_SECONDS = Histogram("gateway_job_queue_wait_seconds",
                              "From queued (again) to running", ["backend", "program"],
                              buckets=JOB_BUCKETS)
JOB_RUN_SECONDS = Histogram("gateway_job_run_seconds", "From running to a final status",
                            ["backend", "program", "status"], buckets=JOB_BUCKETS)
JOB_TOTAL_SECONDS = Histogram("gateway_job_submit_to_final_seconds",
                              "From the submission to a final status",
                              ["backend", "program", "status"], buckets=JOB_BUCKETS)
STREAMS_OPEN = Gauge("gateway_event_streams_open", "Event streams open now", ["stream"],
                     multiprocess_mode="livesum")
EVENTS_SENT = Counter("gateway_events_sent", "Events sent on event streams", ["stream", "event"])
REFUSALS = Counter("gateway_refusals", "Requests refused: over a limit (`limit`), a rate or "
                   "quota (`rate_limit`), or unreadable (`parse`)", ["kind", "reason", "tenant"])
IBM_CALLS = Counter("gateway_ibm_calls", "Calls to IBM Quantum", ["operation", "outcome"])
IBM_SECONDS = Histogram("gateway_ibm_call_duration_seconds", "Time of a call to IBM Quantum",
                        ["operation", "outcome"], buckets=CALL_BUCKETS)
# counted by the webhook deliverer (`webhook_delivered`)
WEBHOOK_DELIVERIES = Counter("gateway_webhook_deliveries", "Webhook delivery attempts",
                             ["outcome"])
WEBHOOK_SECONDS = Histogram("gateway_webhook_delivery_duration_seconds",
                            "Time of a webhook delivery attempt", ["outcome"],
                            buckets=CALL_BUCKETS)
RESTARTS = Counter("gateway_process_restarts", "Processes started again after they ended: "
                   "workers and the API under `make run`, parse and simulation processes",
                   ["process", "reason"])


class Change(Protocol):
    """What a transition answers (`core.store.jobs.Transition`)."""

    @property
    def ok(self) -> bool: ...

    @property
    def previous(self) -> str: ...


class Settings:
    """What this process was told (`configure`): whose tenants are labels, where the files are."""

    tenants: frozenset[str] = frozenset()
    directory = ""


def configure(config: Config) -> None:
    """Once per process, by its factory (`create_app`, the worker's `main`)."""
    Settings.tenants = frozenset(config.METRICS_TENANTS)
    Settings.directory = config.METRICS_DIR
    if config.METRICS_DIR:  # prometheus_client writes its files there, but makes no directory
        Path(config.METRICS_DIR).mkdir(parents=True, exist_ok=True)


def tenant_label(tenant: str) -> str:
    return tenant if tenant in Settings.tenants else OTHER_TENANT


def job_changed(job: dict[str, Any], to: str, change: Change, ran_for: float | None = None,
                ) -> None:
    """A job's status changed (`core/transitions.py`): its wait when it starts; its final
    status, run time and time since submission when it ends."""
    if not change.ok:
        return
    backend, program, now = job.get("backend", ""), job.get("program_id", ""), time.time()
    if to == "RUNNING":
        since = job.get("queued") or job.get("created")
        if since:
            JOB_QUEUE_SECONDS.labels(backend, program).observe(max(0.0, now - _seconds(since)))
        return
    if to not in FINAL:
        return
    JOBS_FINISHED.labels(backend, program, to, tenant_label(job.get("tenant", ""))).inc()
    if ran_for is None and change.previous == "RUNNING" and job.get("running"):
        ran_for = now - _seconds(job["running"])
    if ran_for is not None:
        JOB_RUN_SECONDS.labels(backend, program, to).observe(max(0.0, ran_for))
    if job.get("created"):
        JOB_TOTAL_SECONDS.labels(backend, program, to).observe(
            max(0.0, now - _seconds(job["created"])))


def _seconds(stamp: str) -> float:
    return iso_to_micros(stamp) / 1e6


def refused(kind: str, reason: str, tenant: str | None) -> None:
    REFUSALS.labels(kind, reason, tenant_label(tenant) if tenant else "").inc()


def ibm_called(operation: str, outcome: str, seconds: float) -> None:
    IBM_CALLS.labels(operation, outcome).inc()
    IBM_SECONDS.labels(operation, outcome).observe(seconds)


def webhook_delivered(outcome: str, seconds: float) -> None:
    """One delivery attempt (`workers/webhooks/deliverer.py`): `outcome` is `delivered` (a 2xx),
    `retrying` (it failed and goes again), `failed` (it failed, out of retries) or `dropped`
    (its endpoint was deleted or disabled meanwhile)."""
    WEBHOOK_DELIVERIES.labels(outcome).inc()
    WEBHOOK_SECONDS.labels(outcome).observe(seconds)


def restarted(process: str, reason: str) -> None:
    RESTARTS.labels(process, reason).inc()


def registry() -> CollectorRegistry:
    """What this host's processes counted: the directory's files, or this process alone when
    there is none (the app in a test process, `flask run`)."""
    found = CollectorRegistry()
    if Settings.directory:
        MultiProcessCollector(found, path=Settings.directory)
    else:
        found.register(REGISTRY)  # type: ignore[arg-type]
    return found


def exposition(*collectors: Any) -> bytes:
    """The Prometheus text of `registry()` and `collectors`."""
    found = registry()
    for collector in collectors:
        found.register(collector)
    return generate_latest(found)


def serve(config: Config) -> None:
    """A worker on a host of its own serves what its processes counted on GATEWAY_METRICS_PORT
    (a thread, started after the simulation process is forked)."""
    if config.METRICS_PORT:
        start_http_server(config.METRICS_PORT, addr=config.BIND, registry=registry())
