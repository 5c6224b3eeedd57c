"""RQ tasks for IBM Quantum jobs: short steps, rescheduled with RQ's scheduler, never a wait.

Each IBM job is followed by one chain of `advance` tasks (its token is in `IbmState`): a step
submits the job when the pace allows, or looks at it upstream, then schedules the next step.
Every worker's sweeper re-attaches jobs whose next step is long overdue (their worker died) and
schedules the refresh of the account's devices.
"""

from __future__ import annotations

import logging
import random
import time
from typing import Any

from core.clock import log_stamp
from core.config import Config
from core.ibm.context import ADVANCE, TASK_TIMEOUT, Ibm, enqueue
from core.ibm.devices import describe_all
from core.ibm.trouble import Trouble, UpstreamError
from core.logs import about_job
from core.states import JobStatus
from core.transitions import Transitions
from workers.context import context
from workers.runtimes.ibm import follow, submit

log = logging.getLogger("gateway.ibm")
MAX_FAILURES = 20  # upstream failures in a row before a job is given up (about an hour)
DEFAULT_PAUSE = 60.0  # after a 429 without Retry-After: IBM counts creations per minute


# -- the step ------------------------------------------------------------------------------------
def advance(job_id: str, chain: str) -> None:
    """RQ entry point: one step for one job, then the next one scheduled. Never raises."""
    with about_job(job_id):
        _advance(job_id, chain)


def _advance(job_id: str, chain: str) -> None:
    ctx = context()
    ibm, transitions = ctx.ibm, ctx.transitions
    if ibm.state.chain_of(job_id) != chain:
        return  # the sweeper gave this job to a newer chain
    record = ibm.store.get(job_id)
    if record is None or JobStatus(record["status"]).final:
        ibm.state.forget(job_id)
        return
    ibm.state.due(job_id, time.time() + TASK_TIMEOUT)  # the sweeper waits while this step runs
    try:
        delay = step(ibm, transitions, record)
        ibm.state.reset("failures", job_id)
    except UpstreamError as err:
        delay = handle(ibm, transitions, record, err)
    except Exception as exc:  # a bug must fail the job, not leave it followed forever
        log.exception("IBM job %s failed in the worker", job_id)
        message = ibm.account.redact(f"internal error in the worker: {type(exc).__name__}: {exc}")
        transitions.fail(record, message)
        delay = None
    if delay is None:
        ibm.state.forget(job_id)
    else:
        ibm.state.due(job_id, time.time() + delay)
        enqueue(ibm.queue, ADVANCE, [job_id, chain], delay)


def step(ibm: Ibm, transitions: Transitions, record: dict[str, Any]) -> float | None:
    if record.get("runtime_job_id"):
        return follow.look(ibm, transitions, record, context().tracing)
    return send(ibm, record)


def send(ibm: Ibm, record: dict[str, Any]) -> float | None:
    """Create the upstream job when the pace allows; its id is saved before anything else."""
    job_id = record["id"]
    wait = ibm.state.pace(ibm.config.IBM_SUBMITS_PER_WINDOW, ibm.config.IBM_SUBMIT_WINDOW_SECONDS)
    if wait > 0:
        return wait + random.uniform(0, 0.25)
    if ibm.state.count("attempts", job_id):  # an earlier try may have reached IBM
        found = ibm.account.find_tagged(submit.gateway_tag(job_id))
        if found:
            adopt(ibm, job_id, found, "found on IBM Quantum, created by an earlier try")
            return ibm.config.IBM_POLL_MIN_SECONDS
    ibm.state.increment("attempts", job_id)
    with context().tracing.span("ibm.submit", parent=record.get("traceparent"),
                                attributes={"job.id": job_id, "job.backend": record["backend"]}):
        in_session = record.get("upstream_session_id")  # one with an IBM session
        upstream = submit.send(ibm.account, record, ibm.store.inputs(job_id),
                               ibm.sessions.session(in_session) if in_session else None)
    adopt(ibm, job_id, upstream.job_id(), f"submitted to {record['backend']}")
    if ibm.store.status(job_id) == JobStatus.CANCELLED:  # cancelled while it was being sent
        ibm.account.call("cancelling", upstream.cancel)
    return ibm.config.IBM_POLL_MIN_SECONDS


def adopt(ibm: Ibm, job_id: str, runtime_job_id: str, how: str) -> None:
    ibm.store.annotate(job_id, {"runtime_job_id": runtime_job_id})
    ibm.store.add_log(job_id, f"{log_stamp()} INFO IBM Quantum job {runtime_job_id}: {how}")
    ibm.state.set_health(True)


def handle(ibm: Ibm, transitions: Transitions, record: dict[str, Any],
           err: UpstreamError) -> float | None:
    """What an upstream failure means for the job: wait and retry, or fail it."""
    job_id = record["id"]
    if err.kind == Trouble.AUTH:
        ibm.state.set_health(False, f"IBM Quantum refused the credentials (HTTP {err.status})")
        transitions.fail(record, f"IBM Quantum refused the gateway's credentials (HTTP "
                         f"{err.status}); QISKIT_IBM_TOKEN or QISKIT_IBM_INSTANCE needs "
                         f"attention. {err.message}")
        return None
    if err.kind == Trouble.RATE_LIMITED:
        pause = err.retry_after or DEFAULT_PAUSE
        if not record.get("runtime_job_id"):
            ibm.state.pause(pause)
        ibm.store.add_log(job_id, f"{log_stamp()} WARNING IBM Quantum asked to slow down "
                                  f"(HTTP 429); trying again in {pause:.0f} s")
        return pause + random.uniform(0, 1)
    if err.kind != Trouble.TRANSIENT:
        transitions.fail(record, err.message)
        return None
    failures = ibm.state.increment("failures", job_id)
    if failures > MAX_FAILURES:
        transitions.fail(record, f"IBM Quantum failed {failures} times in a row; "
                                 f"giving up. Last: {err.message}")
        return None
    delay = backoff(ibm.config, failures)
    ibm.store.add_log(job_id, f"{log_stamp()} WARNING {err.message}; trying again in "
                              f"{delay:.0f} s")
    return delay


def backoff(config: Config, failures: int) -> float:
    """Exponential, capped, with full jitter over its upper half."""
    ceiling = min(config.IBM_POLL_MAX_SECONDS, config.IBM_POLL_MIN_SECONDS * 2 ** failures)
    return ceiling * random.uniform(0.5, 1.0)


# -- the account's devices ---------------------------------------------------------
def refresh_backends() -> None:
    """RQ entry point: fetch the account's devices into the cache the API lists them from."""
    ibm = context().ibm
    try:
        ibm.state.save_backends(describe_all(ibm.account))
        ibm.state.set_health(True)
    except UpstreamError as err:
        if err.kind == Trouble.AUTH:
            ibm.state.set_health(False, f"IBM Quantum refused the credentials (HTTP {err.status})")
        elif not ibm.state.backends_read():  # /readyz reports it rather than waiting on
            ibm.state.set_health(False, f"reading the account's devices failed: {err.message}")
        log.warning("refreshing IBM Quantum backends failed: %s", err.message)
    except Exception as exc:  # logged here (redacted), not left to RQ's failed-job registry
        if not ibm.state.backends_read():
            ibm.state.set_health(False, f"reading the account's devices failed: "
                                        f"{type(exc).__name__}")
        log.exception("refreshing IBM Quantum backends failed")
