"""What the facade's views do, in plain functions: IBM's requests turned into the gateway's own
service calls (`app/services/jobs.py`), so a facade job is a gateway job (its quotas, fair
dispatch, events, console), and the gateway's answers turned into IBM's shapes."""

from __future__ import annotations

import json
from typing import Any

from marshmallow import ValidationError

from app.errors import flatten
from app.facade import programs, results
from app.facade.listing import list_jobs
from app.facade.options import native_options
from app.facade.views import job_view, metrics_view
from app.gateway import Gateway
from app.schemas import TagsSchema
from app.services import jobs as service
from app.services.jobs import SUBMISSION
from core.errors import InvalidJobInput

MAX_META_CHARS = 64 * 1024  # what an executor program keeps for its result (passthrough data,
# its samplex outputs: GATEWAY_FACADE_MAX_SAMPLEX_OUTPUTS bounds them before they are encoded)
RESULT_SECONDS = 60  # an executor result is re-encoded in a parse process within this
TAGS = TagsSchema()


def create(gw: Gateway, tenant: str, data: bytes) -> dict[str, Any]:
    """POST /jobs: the client's program as a gateway job; IBM's answer (id, backend). The body
    is decoded in a parse process too: this process never decodes the client's QPY or JSON."""
    body, converted = gw.parsers.run(programs.convert_body, data, gw.config.MAX_JSON_DEPTH,
                                     _caps(gw))
    payload: dict[str, Any] = {
        "program_id": converted.program_id, "backend": body.get("backend"),
        "pubs": converted.pubs,
        "options": native_options(converted.options, converted.meta["program"],
                                  body.get("cost")),
    }
    for name, ours in (("tags", "tags"), ("session_id", "session_id")):
        if body.get(name):
            payload[ours] = body[name]
    meta = json.dumps(converted.meta, separators=(",", ":"))
    if len(meta) > MAX_META_CHARS:
        raise InvalidJobInput("what the program keeps for its result (passthrough data, "
                              f"samplex outputs) has {len(meta)} characters; "
                              f"at most {MAX_META_CHARS}", errors={"params": ["too large"]})
    try:
        payload = SUBMISSION.load(payload)
    except ValidationError as exc:  # e.g. an option the gateway does not take
        said = "; ".join(f"{path}: {' '.join(m)}" for path, m in flatten(exc.messages).items())
        raise InvalidJobInput(f"the job cannot run here: {said}", errors=flatten(exc.messages)
                              ) from None
    job, _ = service.submit(gw, tenant, payload, None)
    gw.store.annotate(job["id"], {"ibm_program": converted.meta["program"], "ibm_meta": meta})
    return {"id": job["id"], "backend": job["backend"], "private": False}


def _caps(gw: Gateway) -> programs.Caps:
    c = gw.config
    return programs.Caps(gw.limits.max_pubs, c.MAX_CIRCUIT_CHARS, c.MAX_QUBITS, c.MAX_OPERATIONS,
                         c.MAX_PARAMETER_SETS, c.FACADE_MAX_SAMPLEX_OUTPUTS)


def get(gw: Gateway, tenant: str, job_id: str) -> dict[str, Any]:
    return job_view(gw.store.owned(tenant, job_id))


def listing(gw: Gateway, tenant: str, args: dict[str, Any]) -> dict[str, Any]:
    return list_jobs(gw, tenant, args)


def result(gw: Gateway, tenant: str, job_id: str) -> bytes | str:
    """GET /jobs/{id}/results: the encoded result (409 until the job is done)."""
    job = gw.store.owned(tenant, job_id)
    data = service.result(gw, tenant, job_id, 0, True)
    meta = json.loads(job.get("ibm_meta") or "{}")
    if job.get("ibm_program") == "executor":
        return gw.parsers.run(results.executor_result, data, meta,  # type: ignore[no-any-return]
                              timeout=RESULT_SECONDS)
    if meta.get("registers") and job["program_id"] == "sampler":
        return gw.parsers.run(results.renamed_result, data,  # type: ignore[no-any-return]
                              meta["registers"], timeout=RESULT_SECONDS)
    return data


def logs(gw: Gateway, tenant: str, job_id: str) -> str:
    """IBM answers a job's log whenever asked; so does the facade (what is logged so far)."""
    gw.store.owned(tenant, job_id)
    return "".join(line + "\n" for line in gw.store.logs(job_id))


def metrics(gw: Gateway, tenant: str, job_id: str) -> dict[str, Any]:
    job = gw.store.owned(tenant, job_id)
    return metrics_view(job, service.metrics(gw, tenant, job_id))


def update_tags(gw: Gateway, tenant: str, job_id: str, body: Any) -> None:
    try:
        tags = TAGS.load(body if isinstance(body, dict) else {})["tags"]
    except ValidationError as exc:
        raise InvalidJobInput(f"tags: {exc.messages}", errors={"tags": [str(exc.messages)]}
                              ) from None
    service.update_tags(gw, gw.store.owned(tenant, job_id), tags)


def cancel(gw: Gateway, tenant: str, job_id: str) -> None:
    service.cancel(gw, tenant, job_id)


def delete(gw: Gateway, tenant: str, job_id: str) -> None:
    service.delete(gw, tenant, job_id)

