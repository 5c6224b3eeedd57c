"""What the job views do, in plain functions over the store and the queue (no request objects)."""

from __future__ import annotations

import base64
import hashlib
import json
import time
from datetime import datetime
from typing import Any

from marshmallow import ValidationError

from app.gateway import Gateway
from app.json_guard import load_json
from app.schemas import MAX_WAIT_SECONDS, JobSubmitSchema
from app.services import backends, sessions, webhooks
from app.services.limits import check_time_limit, qubit_cap
from core import catalog, collector
from core.admission import (
    CostLimits,
    Inspection,
    check_programs,
    check_sizes,
    over,
)
from core.circuits import Limits
from core.errors import (
    BackendNotFound,
    GatewayError,
    IdempotencyConflict,
    InvalidJobInput,
    JobCancelled,
    JobFailed,
    JobNotFinished,
    QuotaExceeded,
)
from core.options import inspect_job
from core.providers import Provider
from core.states import JobStatus
from core.store.connection import SentAlong
from core.store.jobs import new_job_id
from core.store.records import compress
from core.webhooks.events import job_event

TIMESTAMPS = ("created", "queued", "running", "finished")

SCREEN_BYTES = 64 * 1024  # a submission this big is screened before it is decoded
INLINE_CHECK_CHARS = 1024  # programs this short are read here first (cheaper than a hop)
SUBMISSION = JobSubmitSchema()  # made once, not per submission
STORED_RECOUNT_SECONDS = 30  # how stale a tenant's stored-bytes count may be
DEFAULT_OPTIMIZATION_LEVEL = 1  # not a schema default: a default makes generated clients send it


def submit(gw: Gateway, tenant: str, payload: dict[str, Any],
           idempotency_key: str | None) -> tuple[dict[str, Any], bool]:
    """Validate and queue a job; returns (job, created) — not created for a repeated request.
    When tracing, the job keeps the request's trace context (its workers' spans join it)."""
    with gw.tracing.span("validate"):
        inputs, inspection, provider, backend = validate_inputs(gw, payload)
    callback = webhooks.callback_fields(gw, tenant, payload)
    upstream_session = None
    if payload.get("session_id"):  # the tenant's own, open, on this backend
        upstream_session = sessions.check_job(gw, tenant, payload["session_id"],
                                              payload["backend"]).get("upstream_id")
    job_id = new_job_id()
    if idempotency_key:
        body_hash = hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()
        existing = gw.idempotency.claim(tenant, idempotency_key, job_id, body_hash)
        if existing is not None:
            return _repeated(gw, tenant, existing, body_hash), False
    record = {
        "id": job_id, "tenant": tenant, "program_id": payload["program_id"],
        "backend": payload["backend"], "provider": provider.name, "status": JobStatus.QUEUED,
        "tags": payload.get("tags", []), "session_id": payload.get("session_id"),
        "options": inputs["options"], "attempts": 0, "rq_attempt": 1, "version": 2,
        "num_pubs": len(inspection.pubs), "num_shots": inspection.num_shots,
        "usage_estimation": provider.usage_estimation(inspection, backend), **callback,
        "traceparent": gw.tracing.traceparent(),  # None (not stored) when not tracing
        "upstream_session_id": upstream_session,  # an IBM session's id (None: not stored)
    }
    gw.rates.submission(tenant)
    provider.check_room(tenant)
    inputs_blob = compress(inputs)
    # the endpoints that want the new job's event, read in the quota's round trip
    subscribed = gw.webhooks.outbox.subscribed_along(tenant, job_event(JobStatus.QUEUED))
    check_stored_quota(gw, tenant, len(inputs_blob), subscribed)
    try:
        with gw.tracing.span("store"):
            job = gw.transitions.queue(record, inputs_blob, stored=len(inputs_blob),
                                       subscribed=subscribed.endpoints)
    except Exception:
        if idempotency_key:  # nothing was created: the client may retry with the same key
            gw.idempotency.release(tenant, idempotency_key)
        raise
    return job, True


def check_stored_quota(gw: Gateway, tenant: str, adding: int,
                       along: SentAlong | None = None) -> None:
    """A tenant's stored inputs and results are capped (`max_stored_bytes`): over it, 429 until
    it deletes jobs or they expire. The count is Redis' own, redone at most every few seconds.
    `along`: commands sent in the same round trip."""
    used, limit = gw.quotas.stored(tenant, gw.config.TENANT_MAX_STORED_BYTES, along)
    if used is None:
        used = gw.store.stored_bytes(tenant)
        gw.quotas.keep_stored(tenant, used, STORED_RECOUNT_SECONDS)
    if used + adding > limit:
        raise QuotaExceeded(f"your jobs keep {used} bytes of inputs and results here and this "
                            f"one adds {adding}: at most {limit} (max_stored_bytes). Delete jobs "
                            "you no longer need, or wait for old ones to expire.",
                            policy="stored", limit=limit, retry_after=STORED_RECOUNT_SECONDS)


def _repeated(gw: Gateway, tenant: str, existing: tuple[str, str], body_hash: str) -> dict:
    job_id, stored_hash = existing
    if stored_hash != body_hash:
        raise IdempotencyConflict("This Idempotency-Key was used with another body.")
    for _ in range(50):  # the first request may still be writing the job
        job = gw.store.get(job_id)
        if job is not None and job["tenant"] == tenant:
            return job
        time.sleep(0.02)
    return gw.store.owned(tenant, job_id)


def validate_inputs(gw: Gateway, payload: dict[str, Any],
                    ) -> tuple[dict[str, Any], Inspection, Provider, dict[str, Any]]:
    """Everything the worker needs, checked now so that bad input is a 422, not a failed job:
    the programs in a parse process (`core/parse_pool.py`), then the provider's own checks;
    with the provider that will run it and the backend's summary."""
    try:
        provider, backend = gw.providers.find(payload["backend"])
    except BackendNotFound as exc:
        raise InvalidJobInput(exc.detail, errors={"backend": [exc.detail]}) from None
    options = {"optimization_level": DEFAULT_OPTIMIZATION_LEVEL, **(payload.get("options") or {})}
    program = payload["program_id"]
    pubs = check_pubs(program, payload["pubs"], gw.limits, gw.config.MAX_CIRCUIT_CHARS,
                      options.get("default_shots"))
    check_time_limit(options, gw.config)
    provider.check_options(program, options, backend)
    chars = sum(len(pub["circuit"]) for pub in pubs)  # OpenQASM 3 parses at ~20 KB/s
    if chars <= INLINE_CHECK_CHARS:  # refused here, it spares the parse process a round trip
        check_programs(pubs, gw.program_limits)
    budget = gw.config.PARSE_TIMEOUT_SECONDS + gw.config.PARSE_SECONDS_PER_MB * chars / 1e6
    inspection = gw.parsers.run(inspect_job, program, pubs, options,
                                qubit_cap(backend, gw.config), gw.limits, gw.program_limits,
                                timeout=budget)
    provider.admit(program, pubs, inspection, backend, options)
    return {"pubs": pubs, "options": options}, inspection, provider, backend


def check_pubs(program_id: str, pubs: list[dict[str, Any]], limits: Limits,
               max_chars: int, default_shots: int | None = None) -> list[dict[str, Any]]:
    """The PUBs, the sampler's default shots filled in (`options.default_shots`, else the
    gateway's), checked for what needs no parsing: how many, shots per PUB and the circuits'
    lengths."""
    if len(pubs) > limits.max_pubs:
        raise over("pubs", f"the job has {len(pubs)} PUBs", "pubs", len(pubs), limits.max_pubs,
                   "GATEWAY_MAX_PUBS")
    pubs = [dict(pub) for pub in pubs]
    for i, pub in enumerate(pubs):
        if program_id == "sampler":
            pub["shots"] = pub.get("shots") or default_shots or limits.default_shots
            if pub["shots"] > limits.max_shots:
                raise over(f"pubs.{i}.shots", f"{pub['shots']} shots", "shots", pub["shots"],
                           limits.max_shots, "GATEWAY_MAX_SHOTS")
        if len(pub["circuit"]) > max_chars:
            raise over(f"pubs.{i}.circuit", f"the circuit has {len(pub['circuit'])} characters",
                       "circuit_chars", len(pub["circuit"]), max_chars,
                       "GATEWAY_MAX_CIRCUIT_CHARS")
    return pubs


def screen(gw: Gateway, body: bytes) -> Any | None:
    """A big submission, checked in a parse process before this process decodes it: the JSON,
    the schema, and the limits that need no program parsed (shots, broadcast). Returns the
    schema's refusal (marshmallow's messages), or None: go on, decode and check it all; the
    other refusals are raised.

    Refused there, a huge body costs this process a fraction of decoding it, copying it to a
    parse process and freeing it, and its other requests do not wait (bench figure 6)."""
    if len(body) < SCREEN_BYTES:
        return None
    c = gw.config
    return gw.parsers.run(_screen, body, c.MAX_JSON_DEPTH, gw.limits, gw.cost_limits,
                          c.MAX_CIRCUIT_CHARS)


def _screen(body: bytes, *limits: Any) -> Any | None:
    """In a parse process: what `screen` returns; LimitExceeded or InvalidJobInput raised.
    The collector stays paused until the decoded body is freed: it holds no cycles, and
    tens of thousands of new lists would otherwise all be walked once more."""
    with collector.paused():
        try:
            return _screen_decoded(body, *limits)
        except GatewayError as exc:
            raise exc.with_traceback(None) from None  # its frames hold the body


def _screen_decoded(body: bytes, depth: int, limits: Limits, costs: CostLimits,
                    max_chars: int) -> Any | None:
    try:
        payload = SUBMISSION.load(load_json(body, depth))
    except ValidationError as exc:
        return exc.messages
    pubs = check_pubs(payload["program_id"], payload["pubs"], limits, max_chars,
                      (payload.get("options") or {}).get("default_shots"))
    check_sizes(payload["program_id"], pubs, limits, costs,
                local=payload["backend"] in catalog.local_backends())
    return None


def result(gw: Gateway, tenant: str, job_id: str, wait: float, runtime_format: bool) -> bytes:
    """The stored result (JSON bytes), waiting up to `wait` s for the job to finish."""
    job = gw.store.owned(tenant, job_id)
    status = job["status"]
    if wait > 0 and not JobStatus(status).final:
        status = gw.store.wait_final(job_id, wait) or status
    if status == JobStatus.ERROR:
        job = gw.store.owned(tenant, job_id)
        raise JobFailed(job.get("error_message") or "The job failed.", job_status=status)
    if status == JobStatus.CANCELLED:
        raise JobCancelled("The job was cancelled; it has no result.", job_status=status)
    data = gw.store.blob(job_id, ":runtime" if runtime_format else ":result")
    if status != JobStatus.DONE or data is None:
        raise JobNotFinished(f"The job is {status}: it has no result yet. Ask again with "
                             f"?wait=<seconds> (at most {MAX_WAIT_SECONDS:g}) to wait "
                             f"for it, or follow GET /v1/jobs/{job_id}/events.",
                             job_status=status)
    return data


def encode_cursor(cursor: tuple[int, str] | None) -> str | None:
    if cursor is None:
        return None
    return base64.urlsafe_b64encode(f"{cursor[0]}:{cursor[1]}".encode()).decode().rstrip("=")


def decode_cursor(text: str) -> tuple[int, str]:
    try:
        score, job_id = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode().split(":")
        return int(score), job_id
    except ValueError:
        raise InvalidJobInput("malformed cursor", errors={"cursor": ["malformed cursor"]}) from None


def micros(moment: datetime | None) -> int | None:
    return None if moment is None else int(moment.timestamp() * 1_000_000)


def cancel(gw: Gateway, tenant: str, job_id: str) -> dict[str, Any]:
    """Cancel a job that is not final; a running job's simulation is killed by its worker."""
    gw.transitions.cancel(gw.store.owned(tenant, job_id))
    return gw.store.owned(tenant, job_id)


def delete(gw: Gateway, tenant: str, job_id: str) -> None:
    gw.transitions.delete(gw.store.owned(tenant, job_id))


def import_job(gw: Gateway, tenant: str, runtime_job_id: str) -> tuple[dict[str, Any], bool]:
    """Follow a job submitted elsewhere (to IBM Quantum); (the job, whether it is new here)."""
    return gw.providers.importer().import_job(tenant, runtime_job_id, gw.transitions.queue)


def update_tags(gw: Gateway, job: dict[str, Any], tags: list[str]) -> None:
    """Replace the tags where the job runs first (IBM Quantum keeps its own copy), then here."""
    gw.providers.of(job).update_tags(job, tags)
    gw.store.set_tags(job["id"], tags)


def wait(gw: Gateway, tenant: str, job_id: str, timeout: float) -> dict[str, Any]:
    gw.store.owned(tenant, job_id)
    status = gw.store.wait_final(job_id, timeout)
    job = gw.store.owned(tenant, job_id)
    if status is None or not JobStatus(job["status"]).final:
        raise JobNotFinished(f"The job is still {job['status']} after {timeout:g} s.",
                             job_status=job["status"])
    return job


def logs(gw: Gateway, tenant: str, job_id: str) -> str:
    job = gw.store.owned(tenant, job_id)
    if not JobStatus(job["status"]).final:
        raise JobNotFinished(f"Logs are available once the job is final; it is {job['status']}.",
                             job_status=job["status"])
    return "".join(line + "\n" for line in gw.store.logs(job_id))


def metrics(gw: Gateway, tenant: str, job_id: str) -> dict[str, Any]:
    job = gw.store.owned(tenant, job_id)
    produced = job.get("metrics") or gw.providers.of(job).live_metrics(job) or {}
    usage = produced.get("usage") or {"seconds": None, "quantum_seconds": None}
    found = {
        "timestamps": {name: job.get(name) for name in TIMESTAMPS},
        "usage": usage,
        "num_pubs": int(job.get("num_pubs", 0)),
        "num_shots": int(job.get("num_shots", 0)),
        "circuits": produced.get("circuits", []),
        "attempts": job["attempts"],
        "upstream": produced.get("upstream"),
    }
    if job.get("usage_estimation"):
        found["usage_estimation"] = job["usage_estimation"]
    return found


def queue_info(gw: Gateway, tenant: str, job_id: str) -> dict[str, Any]:
    """Position in the queue (1 = next) and estimated times, from where the job runs."""
    job = gw.store.owned(tenant, job_id)
    return gw.providers.of(job).queue_info(job)


def job_properties(gw: Gateway, tenant: str, job_id: str) -> dict[str, Any]:
    job = gw.store.owned(tenant, job_id)
    snapshot = gw.snapshots.get(job.get("properties_ref"))
    if snapshot is None and not job.get("properties_ref"):
        # not run yet: what the job will run against
        return {"backend": job["backend"],
                "properties": backends.backend_document(gw, job["backend"], "properties")}
    return {"backend": job["backend"], "properties": snapshot}
