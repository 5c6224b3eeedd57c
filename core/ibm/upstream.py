"""How gateway jobs and IBM Quantum jobs correspond: the tag that links them, the status words,
the metrics, and what IBM's primitives require of a job. Used by the API and the workers."""

from __future__ import annotations

from typing import Any

from core.errors import InvalidJobInput
from core.jsonable import jsonable
from core.states import JobStatus

PROVIDER = "ibm_quantum"
TAG_PREFIX = "gateway-job:"


def gateway_tag(job_id: str) -> str:
    """The tag that marks an upstream job as this gateway job (IBM has no idempotency key)."""
    return f"{TAG_PREFIX}{job_id}"


def tagged_job_id(tags: list[str]) -> str | None:
    """The gateway job id an upstream job is tagged with, if any."""
    return next((tag.removeprefix(TAG_PREFIX) for tag in tags if tag.startswith(TAG_PREFIX)), None)


def check_uniform(program_id: str, pubs: list[dict[str, Any]]) -> None:
    """IBM's primitives run every PUB of a job with the same shots (sampler) or precision."""
    field = "shots" if program_id == "sampler" else "precision"
    for index, pub in enumerate(pubs[1:], start=1):
        if pub.get(field) != pubs[0].get(field):
            message = f"IBM Quantum runs all PUBs of a job with the same {field}; split the job"
            raise InvalidJobInput(message, errors={f"pubs.{index}.{field}": [message]})


def upstream_status(reported: Any) -> JobStatus:
    """The client's status word as ours (the same words; anything new counts as queued)."""
    try:
        return JobStatus(str(reported).upper())
    except ValueError:
        return JobStatus.QUEUED


def summarise_metrics(upstream: dict[str, Any]) -> dict[str, Any]:
    """IBM's metrics, with usage where local jobs keep theirs."""
    usage = upstream.get("usage") or {}
    return {"usage": {"quantum_seconds": usage.get("quantum_seconds"),
                      "seconds": usage.get("seconds")},
            "upstream": jsonable(upstream)}
