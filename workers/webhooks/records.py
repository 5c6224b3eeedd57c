"""What an attempt comes to (delivered, dropped, retrying at a time, failed) and how it is
recorded: a line in the endpoint's attempts, and the state of the job's notification."""

from __future__ import annotations

import random
import time
from datetime import UTC, datetime
from typing import Any

from core.clock import now_iso, rfc3339
from core.store.outbox import CALLBACK_PREFIX, Claim
from workers.webhooks.sending import Answer

JITTER = 0.1  # each retry comes up to 10 % sooner or later than the schedule says


def outcome(answer: Answer, claim: Claim, schedule: list[float], dropped: bool,
            recovered: bool) -> tuple[str, float | None]:
    """(outcome, when to try again): a recovered delivery (its deliverer died) goes again at
    once; a failed one after the schedule's next delay, while it has one."""
    if answer.ok:
        return "delivered", None
    if dropped:
        return "dropped", None
    if claim.attempt > len(schedule):
        return "failed", None
    delay = 0.0 if recovered else schedule[claim.attempt - 1]
    return "retrying", time.time() + delay * random.uniform(1 - JITTER, 1 + JITTER)


def attempt(claim: Claim, answer: Answer, sent: dict[str, Any], result: str,
            retry_at: float | None) -> dict[str, Any]:
    """A line of the endpoint's attempts (`GET /v1/webhooks/{id}/deliveries`)."""
    return {"webhook_id": claim.event_id, "type": sent.get("type", ""), "job_id": job_of(sent),
            "attempt": claim.attempt, "at": iso(time.time() - answer.seconds),
            "status_code": answer.status, "error": answer.error,
            "duration_ms": round(answer.seconds * 1000, 1), "outcome": result,
            "next_attempt_at": iso(retry_at) if retry_at else None}


def notice(claim: Claim, answer: Answer, sent: dict[str, Any], url: str, result: str,
           retry_at: float | None) -> dict[str, Any]:
    """How the notification stands, for the job's page (`GET /v1/jobs/{id}/notifications`)."""
    callback = claim.endpoint.startswith(CALLBACK_PREFIX)
    return {"endpoint_id": None if callback else claim.endpoint, "url": url,
            "type": sent.get("type", ""), "webhook_id": claim.event_id, "state": result,
            "attempts": claim.attempt, "status_code": answer.status, "error": answer.error,
            "created": sent.get("timestamp") or now_iso(), "updated": now_iso(),
            "next_attempt_at": iso(retry_at) if retry_at else None}


def job_of(sent: dict[str, Any]) -> str | None:
    """The job a sent event is about (None for other events)."""
    return (sent.get("data") or {}).get("id") if sent.get("type", "").startswith("job.") else None


def iso(seconds: float) -> str:
    return rfc3339(datetime.fromtimestamp(seconds, UTC))
