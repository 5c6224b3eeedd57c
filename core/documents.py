"""A job as the API answers it (`GET /v1/jobs/{id}`), in one schema both sides use: the API
dumps its responses with it, and the webhook deliverer (which imports no Flask) the `data` of a
job event, so the two cannot drift. `app/schemas.py` documents it in openapi.yaml."""

from __future__ import annotations

import json
from typing import Any

from marshmallow import Schema, ValidationError, fields, missing, validate

from core.states import FINAL_STATES, JobStatus

STATUSES = [s.value for s in JobStatus]
# what every field of a request says when it is missing, null, or fails a validator (the API's
# fields, `app/fields.py`, say it too)
FIELD_MESSAGES: dict[str, Any] = {"required": "is required", "null": "must not be null",
                                  "validator_failed": "is not valid"}


class Status(fields.Field):
    """A job status; documented as a reference to the one `JobStatus` schema (see app/api.py)."""

    default_error_messages = FIELD_MESSAGES

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> str | None:
        return None if value is None else JobStatus(value).value

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        if value not in STATUSES:
            raise ValidationError(f"must be one of {', '.join(STATUSES)}")
        return str(value)


class UsageEstimationSchema(Schema):
    quantum_seconds = fields.Float(metadata={
        "description": "local simulators: the seconds a worker is expected to run the job, from "
                       "the cost model (qubits, operations, shots, parameter sets, noise); IBM "
                       "Quantum: the shots times the devices' repetition delay"})


class JobSchema(Schema):
    id = fields.String(required=True)
    job_id = fields.Function(lambda job: job["id"], required=True, metadata={
        "type": "string", "description": "same as id (RuntimeJob.job_id)"})
    status = Status(required=True)
    final = fields.Method("_final", required=True, metadata={"type": "boolean"})
    program_id = fields.String(required=True, metadata={
        "description": "sampler or estimator (an imported IBM Quantum job: IBM's primitive id)"})
    primitive_id = fields.Function(lambda job: job["program_id"], required=True,
                                   metadata={"type": "string"})
    backend = fields.String(required=True)
    provider = fields.String(required=True, validate=validate.OneOf(["local", "ibm_quantum"]))
    creation_date = fields.String(attribute="created", required=True,
                                  metadata={"format": "date-time"})
    updated = fields.String(required=True, metadata={"format": "date-time"})
    tags = fields.List(fields.String(), required=True)
    session_id = fields.String(allow_none=True, dump_default=None, required=True)
    image = fields.String(dump_default="", required=True)
    instance = fields.String(allow_none=True, dump_default=None, required=True)
    version = fields.Integer(dump_default=2, required=True)
    usage_estimation = fields.Nested(UsageEstimationSchema, metadata={
        "description": "absent for an imported IBM Quantum job"})
    error_message = fields.String(allow_none=True, dump_default=None, required=True)
    runtime_job_id = fields.String(metadata={
        "description": "IBM Quantum jobs: the job's id on IBM Quantum, once it was sent there"})
    callback_url = fields.String(metadata={
        "description": "where this job's own webhook events go (`callback_url` at submit)"})
    callback_events = fields.Method("_callback_events", metadata={
        "type": "array", "items": {"type": "string"},
        "description": "the events sent to callback_url"})

    def _final(self, job: dict) -> bool:
        return JobStatus(job["status"]).final

    def _callback_events(self, job: dict) -> Any:
        """Kept as `,a,b,` (the transition script finds a name in it): a list here."""
        found = job.get("callback_events")
        return found.strip(",").split(",") if found else missing


JOB = JobSchema()


def job_document(record: dict[str, Any]) -> dict[str, Any]:
    """The job as `GET /v1/jobs/{id}` answers it, from its decoded record."""
    return JOB.dump(record)


def job_json(record: dict[str, Any]) -> str:
    """`job_document` as JSON."""
    return json.dumps(job_document(record), separators=(",", ":"), ensure_ascii=False)


# The document's fields that change after a job is created (`final` follows `status`): every
# other one is written once, at creation, so the store keeps that part as JSON beside the record
# (its `doc` field) and a read adds these, raw from the record (`assemble`). A write after
# creation of any other document field must rewrite `doc` (tests/test_job_document_stored.py).
LIVE_FIELDS = ("status", "updated", "tags", "instance", "error_message", "runtime_job_id")
_FINAL = frozenset(status.value for status in FINAL_STATES)


def static_json(record: dict[str, Any]) -> str:
    """The document less its live fields, as JSON (kept beside a new job's record)."""
    static = {k: v for k, v in job_document(record).items() if k not in (*LIVE_FIELDS, "final")}
    return json.dumps(static, separators=(",", ":"), ensure_ascii=False)


def assemble(static: str, live: list[str | None]) -> str:
    """The document as JSON from `static_json` and the LIVE_FIELDS as the record stores them
    (strings, tags as JSON; None when absent), as JobSchema would dump them."""
    status, updated, tags, instance, error_message, runtime_job_id = live
    parts = [static[:-1]]
    if status is not None:
        parts.append(f',"status":{json.dumps(status)},'
                     f'"final":{"true" if status in _FINAL else "false"}')
    if updated is not None:
        parts.append(f',"updated":{json.dumps(updated)}')
    parts.append(f',"tags":{tags or "[]"},"instance":{json.dumps(instance)},'
                 f'"error_message":{json.dumps(error_message, ensure_ascii=False)}')
    if runtime_job_id is not None:
        parts.append(f',"runtime_job_id":{json.dumps(runtime_job_id)}')
    return "".join(parts) + "}"
