"""Schemas of results and of live events: documentation only (the views send stored JSON as it
is), so that generated clients get a named type for each, and schemathesis checks them."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from app.schemas import Status

PUB_DATA = (
    "Sampler: one entry per classical register, `{counts, num_shots, num_bits}`, with `shape` "
    "for a parameter sweep (then `counts` is nested by that shape) and, with "
    "`?include=samples`, `samples`: one bitstring per shot, in shot order, nested like `counts`. "
    "Estimator: `evs`, `stds` and `ensemble_standard_error`, each a number or nested lists "
    "following the broadcast shape.")


def ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


class PubResultSchema(Schema):
    data = fields.Dict(keys=fields.String(), required=True, metadata={"description": PUB_DATA})
    metadata = fields.Dict(required=True, metadata={
        "description": "estimator: `target_precision` and `shots` (⌈1/precision²⌉, as IBM "
                       "Quantum counts them); IBM Quantum jobs: what IBM sends"})


class ResultSchema(Schema):
    pub_results = fields.List(fields.Nested(PubResultSchema), required=True)
    metadata = fields.Dict(required=True)


class InterimResultSchema(Schema):
    pub_index = fields.Integer(required=True)
    result = fields.Nested(PubResultSchema, required=True)


class InterimResultsSchema(Schema):
    interim_results = fields.List(fields.Nested(InterimResultSchema), required=True)


class ResultLinkSchema(Schema):
    href = fields.String(required=True, metadata={"description": "GET it for the result"})
    bytes = fields.Integer(required=True, metadata={"description": "its stored, compressed size"})


class StatusEventDataSchema(Schema):
    status = Status(required=True)
    at = fields.String(required=True, metadata={"format": "date-time"})


class LogEventDataSchema(Schema):
    line = fields.String(required=True)


class ErrorEventDataSchema(Schema):
    message = fields.String(required=True)


class TenantStatusEventDataSchema(Schema):
    job_id = fields.String(required=True)
    status = Status(required=True)
    at = fields.String(required=True, metadata={"format": "date-time"})


# what `data:` holds for each `event:` kind of a job's stream
JOB_EVENT_DATA = {"status": "StatusEventData", "log": "LogEventData",
                  "interim": "InterimResult", "result": "Result", "error": "ErrorEventData"}
EVENT_DATA_SCHEMAS = {"StatusEventData": StatusEventDataSchema,
                      "LogEventData": LogEventDataSchema, "ErrorEventData": ErrorEventDataSchema,
                      "ResultLink": ResultLinkSchema, "InterimResult": InterimResultSchema,
                      "Result": ResultSchema}


class JobEventSchema(Schema):
    """One server-sent event of a job's stream, as its `id:`, `event:` and `data:` (JSON) lines.
    `data` by `event`: status → StatusEventData, log → LogEventData, interim → InterimResult,
    result → Result (or ResultLink when large), error → ErrorEventData."""

    id = fields.String(required=True, metadata={"example": "1732441502123-0"})
    event = fields.String(required=True, validate=validate.OneOf(list(JOB_EVENT_DATA)))
    data = fields.Raw(required=True, metadata={"title": "JobEventData", "oneOf": [
        ref(name) for name in ("StatusEventData", "LogEventData", "InterimResult", "Result",
                               "ResultLink", "ErrorEventData")]})


class TenantEventSchema(Schema):
    """One server-sent event of the tenant's stream: `event: status`, `data:` a status change."""

    id = fields.String(required=True, metadata={"example": "1732441502123-0"})
    event = fields.String(required=True, validate=validate.OneOf(["status"]))
    data = fields.Nested(TenantStatusEventDataSchema, required=True)
