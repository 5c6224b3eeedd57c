"""The events a webhook endpoint can ask for, what the outbox holds for one, and the body every
delivery of it sends: `{"type", "timestamp", "data"}`.

A job's events are posted by its transitions (`core/transitions.py`) in the same atomic step as
the status change: `lua/transition.lua` for a change, `JobStore.create`'s transaction for a new
job. The entry then carries the job's record as it was at that moment, and the deliverer renders
it as `GET /v1/jobs/{id}` would have answered (`core/documents.py`). Other subjects (sessions,
when they come) add their types to EVENT_TYPES and post entries with their `data` rendered, like
`webhook.disabled` does.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

from core.clock import rfc3339
from core.documents import job_document
from core.states import JobStatus
from core.store.records import decode_record, encode_record

JOB_EVENTS = {JobStatus.QUEUED: "job.queued", JobStatus.RUNNING: "job.running",
              JobStatus.DONE: "job.done", JobStatus.ERROR: "job.error",
              JobStatus.CANCELLED: "job.cancelled"}
WEBHOOK_DISABLED = "webhook.disabled"  # an endpoint of the tenant failed too long
WEBHOOK_TEST = "webhook.test"  # sent on request to one endpoint, whatever it asked for
EVENT_TYPES = (*JOB_EVENTS.values(), WEBHOOK_DISABLED)  # what an endpoint may ask for
HIDDEN = ("secret", "previous_secret", "previous_until", "tenant")  # never shown


def job_event(status: JobStatus | str) -> str:
    """The event of a job entering `status` ("" for none: INITIALIZING)."""
    return JOB_EVENTS.get(JobStatus(status), "")


def new_event_id() -> str:
    """An event's id, sent as `webhook-id` with every attempt of every delivery of it."""
    return f"msg_{uuid.uuid4().hex}"


def wrapped(names: list[str] | tuple[str, ...]) -> str:
    """Event names as a job record keeps its callback's (`,a,b,`: one plain `find` per name)."""
    return "," + ",".join(names) + ","


def job_entry(event_id: str, event_type: str, record: dict[str, Any], at: str,
              endpoints: list[str]) -> dict[str, Any]:
    """The outbox entry of a job event posted from Python (a new job): what the transition
    script writes for the others."""
    callback = bool(record.get("callback_url")) and (
        wrapped([event_type]) in record.get("callback_events", wrapped([event_type])))
    flat = [item for pair in encode_record(record).items() for item in pair]
    return {"id": event_id, "type": event_type, "tenant": record["tenant"], "at": at,
            "job": flat, "endpoints": endpoints, "callback": callback}


def entry(event_type: str, tenant: str, at: str, data: dict[str, Any],
          endpoints: list[str]) -> dict[str, Any]:
    """The outbox entry of an event whose data is rendered already (not a job's)."""
    return {"id": new_event_id(), "type": event_type, "tenant": tenant, "at": at, "data": data,
            "endpoints": endpoints, "callback": False}


def job_of(event: dict[str, Any]) -> dict[str, Any] | None:
    """The decoded record a job event carries (None for other events)."""
    flat = event.get("job")
    return decode_record(dict(zip(flat[::2], flat[1::2], strict=True))) if flat else None


def body(event: dict[str, Any]) -> bytes:
    """What each delivery of `event` sends, the same bytes at every attempt."""
    record = job_of(event)
    data = job_document(record) if record is not None else event["data"]
    return json.dumps({"type": event["type"], "timestamp": event["at"], "data": data},
                      separators=(",", ":"), ensure_ascii=False).encode()


def endpoint_document(record: dict[str, Any]) -> dict[str, Any]:
    """An endpoint as the API shows it (and `webhook.disabled` sends it): never a secret."""
    shown = {k: v for k, v in record.items() if k not in HIDDEN}
    if record.get("failing_since"):
        moment = datetime.fromtimestamp(float(record["failing_since"]) / 1000, UTC)
        shown["failing_since"] = rfc3339(moment)
    return shown
