"""Schemas of results and of live events: documentation only (the views send stored JSON as it
is), so that generated clients get a named type for each, and schemathesis checks them."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from app.schemas import Status


def ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


SHAPE = ("the PUB's broadcast shape, `[]` when nothing is swept; each list beside it has one "
         "element per parameter set, in C order over this shape (one element when nothing is "
         "swept)")


def shape_field() -> fields.List:
    return fields.List(fields.Integer(), required=True, metadata={"description": SHAPE})


NOT_FINITE = ("; null where a value is not a finite number (JSON has no NaN or infinity): a ZNE "
              "extrapolation can leave a standard deviation unbounded")


def value() -> fields.Float:
    """An estimator's number: null where it is not finite (NOT_FINITE)."""
    return fields.Float(allow_none=True)


def per_set(values: fields.Field, description: str) -> fields.List:
    """A list of one element per parameter set (see SHAPE)."""
    return fields.List(values, required=True, metadata={"description": description})


class SamplerRegisterSchema(Schema):
    """One classical register of a sampler PUB."""

    shape = shape_field()
    num_shots = fields.Integer(required=True, metadata={"description": "shots per parameter set"})
    num_bits = fields.Integer(required=True)
    counts = per_set(fields.Dict(keys=fields.String(), values=fields.Integer()),
                     "per parameter set, how many shots gave each bitstring (bit 0 rightmost)")
    samples = fields.List(fields.List(fields.String()), metadata={
        "description": "with `?include=samples` only: per parameter set, one bitstring per "
                       "shot, in shot order"})


class EstimatorPubDataSchema(Schema):
    shape = shape_field()
    evs = per_set(value(), f"expectation values{NOT_FINITE}")
    stds = per_set(value(), f"their standard deviations{NOT_FINITE}")
    ensemble_standard_error = per_set(value(), (
        "standard errors under the shot-noise assumption; equal to `stds` without twirling "
        f"(always, on the simulators){NOT_FINITE}"))
    # zero-noise extrapolation (options.resilience.zne_mitigation) only
    evs_noise_factors = fields.List(value(), metadata={"description": (
        "ZNE only: the value at each noise factor, in C order over `shape`, then the "
        f"factors{NOT_FINITE}")})
    stds_noise_factors = fields.List(value(), metadata={
        "description": f"ZNE only: their standard deviations, in the same order{NOT_FINITE}"})
    ensemble_stds_noise_factors = fields.List(value(), metadata={"description": (
        f"ZNE only: their standard errors under the shot-noise assumption{NOT_FINITE}")})
    evs_extrapolated = fields.List(value(), metadata={"description": (
        "ZNE only: each extrapolator's values, in C order over `shape`, then the extrapolators, "
        f"then `zne.extrapolated_noise_factors`{NOT_FINITE}")})
    stds_extrapolated = fields.List(value(), metadata={
        "description": f"ZNE only: their standard deviations, in the same order{NOT_FINITE}"})


class PubMetadataSchema(Schema):
    """The same members for every program and backend; null where one has no meaning."""

    shots = fields.Integer(required=True, allow_none=True, metadata={
        "description": "the shots of each parameter set. Estimator: those IBM Quantum ran, "
                       "or on a simulator ⌈1/precision²⌉ (as IBM Quantum counts them), null "
                       "for exact values (precision 0)"})
    target_precision = fields.Float(required=True, allow_none=True, metadata={
        "description": "estimator: the precision the values were estimated to (0: exact); "
                       "sampler: null"})
    resilience = fields.Dict(metadata={"description": (
        "estimator with ZNE only: `{\"zne\": {\"extrapolators\": [...]}}`, the extrapolator "
        "chosen for each value")})
    num_randomizations = fields.Integer(metadata={
        "description": "twirled sampler only: the randomizations run"})


class PubResultSchema(Schema):
    """Which of the two `data` is, its caller knows: it chose the program."""

    data = fields.Raw(required=True, metadata={"title": "PubData", "oneOf": [
        ref("SamplerPubData"), ref("EstimatorPubData")]})
    metadata = fields.Nested(PubMetadataSchema, required=True)


class MitigationSchema(Schema):
    """What ran on a noisy replica to mitigate errors, with the library's finalized options."""

    resilience_level = fields.Integer(allow_none=True, metadata={
        "description": "the estimator's level (0-2); null for the sampler"})
    twirling = fields.Dict(allow_none=True, metadata={
        "description": "the twirling options run; null when nothing was twirled"})
    measure_mitigation = fields.Boolean(metadata={"description": "TREX ran"})
    zne = fields.Dict(allow_none=True, metadata={"description": "ZNE's options; null when off"})
    pec = fields.Dict(allow_none=True, metadata={"description": "PEC's options; null when off"})
    dynamical_decoupling = fields.Dict(allow_none=True, metadata={
        "description": "the DD options run; null when off"})
    executions = fields.Integer(metadata={"description": (
        "circuit executions run: randomizations x measurement bases x parameter sets x noise "
        "factors, plus TREX's calibration")})
    shots_per_execution = fields.Integer()
    shots = fields.Integer(metadata={"description": "executions x shots_per_execution"})


class ResultMetadataSchema(Schema):
    version = fields.Integer(required=True, metadata={
        "description": "2 on every backend: results of V2 primitives"})
    mitigation = fields.Nested(MitigationSchema, metadata={"description": (
        "noisy replicas, when the job ran the executor primitives' way (an estimator; a sampler "
        "with twirling or DD): what ran")})


class ResultSchema(Schema):
    pub_results = fields.List(fields.Nested(PubResultSchema), required=True)
    metadata = fields.Nested(ResultMetadataSchema, required=True)


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
# the parts of a result that are named types of their own
RESULT_SCHEMAS = {"SamplerRegister": SamplerRegisterSchema,
                  "EstimatorPubData": EstimatorPubDataSchema, "PubMetadata": PubMetadataSchema,
                  "ResultMetadata": ResultMetadataSchema}
# a sampler PUB's `data`: a map, so written as JSON schema
SAMPLER_PUB_DATA = {"type": "object", "additionalProperties": ref("SamplerRegister"),
                    "description": "a sampler PUB's registers, by name"}


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
