"""All request and response schemas of the API; the OpenAPI document is generated from them."""

from __future__ import annotations

from marshmallow import (
    INCLUDE,
    Schema,
    ValidationError,
    fields,
    validate,
    validates_schema,
)

from app.errors import PROBLEM_BASE, TITLES
from app.fields import AwareDateTime, Dict, Float, Integer, List, Nested, Raw, String
from app.schemas_base import StrictSchema
from app.schemas_options import check_options
from app.streaming.events import valid_event_id
from core.documents import STATUSES, JobSchema, Status, UsageEstimationSchema
from core.webhooks.destinations import MAX_URL_CHARS
from core.webhooks.events import JOB_EVENTS

JOB_EVENT_TYPES = list(JOB_EVENTS.values())

# the job's schema is core's (the webhooks send it)
__all__ = ["STATUSES", "JobSchema", "Status", "StrictSchema"]
PROGRAMS = ("sampler", "estimator")
MAX_WAIT_SECONDS = 60  # longest ?wait= and ?timeout=
TAG = String(validate=validate.Length(min=1, max=64))
QUEUE_REASONS = ("waiting_for_worker", "tenant_running_cap", "no_worker")


class PubSchema(StrictSchema):
    error_messages = {"type": "must be an object with `circuit`, e.g. "
                              '{"circuit": "OPENQASM 3.0; ...", "shots": 1024}'}

    circuit = String(required=True, validate=validate.Length(min=1),
                     metadata={"description": "OpenQASM 2 or 3 program"})
    parameter_values = Dict(
        keys=String(), values=Raw(),
        metadata={"description": "values by parameter name: a number or (nested) lists of them"})
    shots = Integer(strict=True, validate=validate.Range(min=1),
                    metadata={"description": "sampler only; default GATEWAY_DEFAULT_SHOTS"})
    observables = Raw(metadata={
        "description": "estimator only: a Pauli string, a {pauli: coefficient} object, "
                       "or nested lists of these"})
    precision = Float(strict=True, validate=validate.Range(min=0, min_inclusive=False),
                      metadata={"description": "estimator only: target precision"})


# PUB fields one program has no use for: refused, never silently ignored
NOT_FOR = {
    "sampler": {"observables": "the sampler takes no observables (the estimator does)",
                "precision": "the sampler takes no precision; set shots"},
    "estimator": {"shots": "the estimator takes no shots; set precision"},
}


class JobSubmitSchema(StrictSchema):
    error_messages = {"type": "must be an object with `program_id`, `backend` and `pubs`, e.g. "
                              '{"program_id": "sampler", "backend": "aer_simulator", '
                              '"pubs": [{"circuit": "OPENQASM 3.0; ..."}]}'}

    program_id = String(required=True, validate=validate.OneOf(PROGRAMS))
    backend = String(required=True, validate=validate.Length(min=1, max=128))
    pubs = List(Nested(PubSchema), required=True)
    options = Raw(metadata={
        "anyOf": [{"$ref": "#/components/schemas/SamplerOptions"},
                  {"$ref": "#/components/schemas/EstimatorOptions"}],
        "description": "the sampler's options for `program_id: sampler` (SamplerOptions), the "
                       "estimator's for `estimator` (EstimatorOptions): qiskit-ibm-runtime "
                       "0.51's executor option trees, plus `seed` and `optimization_level`. "
                       "An option with no meaning on the backend is refused (422); see the "
                       "README's table"})
    tags = List(TAG, validate=validate.Length(max=32))
    session_id = String(allow_none=True, validate=validate.Length(min=1, max=128))
    callback_url = String(validate=validate.Length(min=1, max=MAX_URL_CHARS), metadata={
        "description": "a one-off webhook for this job's events, under the same rules as an "
                       "endpoint's, signed with the tenant's callback secret "
                       "(POST /v1/webhooks/callback-secret)"})
    callback_events = List(String(validate=validate.OneOf(JOB_EVENT_TYPES)),
                           validate=validate.Length(min=1), metadata={
        "description": "which of the job's events go to callback_url (default: all)"})

    @validates_schema(skip_on_field_errors=False)
    def _program_options(self, data: dict, **_: object) -> None:
        if data.get("program_id") in PROGRAMS and "options" in data:
            check_options(data["program_id"], data["options"])

    @validates_schema
    def _program_fields(self, data: dict, **_: object) -> None:
        program = data.get("program_id", "")
        refused = {}
        for i, pub in enumerate(data.get("pubs") or []):
            said = {name: [message] for name, message in NOT_FOR.get(program, {}).items()
                    if name in pub}
            if program == "estimator" and "observables" not in pub:
                said["observables"] = ["is required by the estimator"]
            if said:
                refused[i] = said
        if refused:
            raise ValidationError({"pubs": refused})


class JobImportSchema(StrictSchema):
    error_messages = {"type": 'must be an object with `runtime_job_id`, e.g. '
                              '{"runtime_job_id": "d0a1b2c3"}'}

    runtime_job_id = String(
        required=True, validate=validate.Regexp(r"^[A-Za-z0-9_-]{1,64}$",
                                                error="an IBM Quantum job id: letters and digits"),
        metadata={"description": "the job's id on IBM Quantum"})


class JobStateSchema(Schema):
    id = fields.String(required=True)
    status = Status(required=True)
    final = fields.Boolean(required=True)


class IdempotencyKeySchema(Schema):
    idempotency_key = String(data_key="Idempotency-Key", validate=validate.Length(
        min=1, max=255), metadata={"description": "same key and same body: the same job again "
                                                  "(200); same key, other body: 409"})


class PageArgsSchema(Schema):
    """A page of a listing: up to `limit` items, after `cursor`."""

    limit = Integer(load_default=20, validate=validate.Range(min=1, max=100),
                    metadata={"description": "items per page (default 20)"})
    cursor = String(validate=validate.Length(min=1, max=200), metadata={
        "description": "the previous page's `next_cursor`"})


class JobListArgsSchema(PageArgsSchema):
    status = Status()
    program_id = String(validate=validate.OneOf(PROGRAMS))
    backend = String(validate=validate.Length(min=1, max=128))
    tags = List(TAG, validate=validate.Length(max=32))
    session_id = String(validate=validate.Length(min=1, max=128))
    created_after = AwareDateTime(default_timezone=None)
    created_before = AwareDateTime(default_timezone=None)


class JobListSchema(Schema):
    jobs = fields.List(fields.Nested(JobSchema), required=True)
    next_cursor = fields.String(allow_none=True, required=True)


class ResultArgsSchema(Schema):
    format = String(load_default="json", validate=validate.OneOf(["json", "runtime"]),
                    metadata={"description": "`runtime`: qiskit_ibm_runtime's "
                                             "RuntimeEncoder JSON, for RuntimeDecoder"})
    wait = Float(load_default=0.0, validate=validate.Range(min=0, max=MAX_WAIT_SECONDS),
                 metadata={"description": "seconds to wait for a final status"})
    include = List(String(validate=validate.OneOf(["samples"])), metadata={
        "description": "`samples`: each sampler register also lists every shot's bitstring"})


class WaitArgsSchema(Schema):
    timeout = Float(load_default=float(MAX_WAIT_SECONDS),
                    validate=validate.Range(min=0, max=MAX_WAIT_SECONDS))


class TagsSchema(StrictSchema):
    error_messages = {"type": 'must be an object with `tags`, e.g. {"tags": ["bell"]}'}

    tags = List(TAG, required=True, validate=validate.Length(max=32))


class TimestampsSchema(Schema):
    created = fields.String(allow_none=True, metadata={"format": "date-time"})
    queued = fields.String(allow_none=True, metadata={"format": "date-time"})
    running = fields.String(allow_none=True, metadata={"format": "date-time"})
    finished = fields.String(allow_none=True, metadata={"format": "date-time"})


class UsageSchema(Schema):
    seconds = fields.Float(allow_none=True, metadata={"description": "seconds the runtime worked"})
    quantum_seconds = fields.Float(allow_none=True)


class CircuitMetricsSchema(Schema):
    width = fields.Integer()
    depth = fields.Integer()
    transpiled_depth = fields.Integer()
    size = fields.Integer()


class MetricsSchema(Schema):
    timestamps = fields.Nested(TimestampsSchema, required=True)
    usage = fields.Nested(UsageSchema, required=True)
    usage_estimation = fields.Nested(UsageEstimationSchema, metadata={
        "description": "absent for an imported IBM Quantum job"})
    num_pubs = fields.Integer(required=True)
    num_shots = fields.Integer(required=True)
    circuits = fields.List(fields.Nested(CircuitMetricsSchema))
    attempts = fields.Integer()
    upstream = fields.Dict(allow_none=True, metadata={
        "description": "IBM Quantum jobs: IBM's own metrics (timestamps, usage, queue position)"})


class QueueInfoSchema(Schema):
    position = fields.Integer(allow_none=True, required=True,
                              metadata={"description": "1 = next; null once running or final"})
    estimated_start_time = fields.String(allow_none=True, metadata={"format": "date-time"})
    estimated_completion_time = fields.String(allow_none=True, metadata={
        "format": "date-time", "description": "a running job: never in the past"})
    reason = fields.String(allow_none=True, required=True, validate=validate.OneOf(
        QUEUE_REASONS), metadata={"description": "why a waiting local job does not run yet: "
                                  "`waiting_for_worker` (its turn for a free worker), "
                                  "`tenant_running_cap` (as many of its tenant's jobs run as "
                                  "`max_running` allows), `no_worker` (no worker is alive); "
                                  "null otherwise"})
    detail = fields.String(allow_none=True, required=True,
                           metadata={"description": "the reason, in a sentence"})


class InputsSchema(Schema):
    pubs = fields.List(fields.Dict(), required=True)
    options = fields.Dict()


class BackendLimitsSchema(Schema):
    max_qubits = fields.Integer(metadata={"description": "widest circuit accepted here"})
    max_statevector_qubits = fields.Integer(allow_none=True, metadata={
        "description": "local simulators: widest non-Clifford circuit (active qubits) whose "
                       "state vector fits in a worker's memory"})
    worker_memory_bytes = fields.Integer(allow_none=True, metadata={
        "description": "local simulators: what one simulation may use"})
    max_clbits = fields.Integer()
    max_operations = fields.Integer(metadata={
        "description": "operations a circuit may expand to (loops and gates counted out)"})
    max_gate_depth = fields.Integer()
    max_pubs = fields.Integer()
    max_shots = fields.Integer(metadata={"description": "per PUB"})
    max_total_shots = fields.Integer(metadata={
        "description": "shots x parameter sets over all PUBs of a job"})
    max_parameter_sets = fields.Integer()
    max_broadcast = fields.Integer(metadata={"description": "parameter sets x observables"})
    max_circuit_chars = fields.Integer()
    max_execution_time = fields.Float(metadata={"description": "seconds a job may run"})
    mitigation_counts = fields.String(metadata={
        "description": "how the runtime options' mitigation (twirling, ZNE, PEC, TREX) counts "
                       "in these limits and in usage_estimation"})


class BackendSchema(Schema):
    name = fields.String(required=True)
    provider = fields.String(validate=validate.OneOf(["local", "ibm_quantum"]), required=True)
    num_qubits = fields.Integer(required=True)
    basis_gates = fields.List(fields.String(), required=True)
    simulated = fields.Boolean(required=True)
    noisy = fields.Boolean()
    operational = fields.Boolean()
    description = fields.String()
    version = fields.String()
    processor_type = fields.Dict(allow_none=True)
    pending_jobs = fields.Integer(metadata={"description": "IBM Quantum devices: jobs queued"})
    status_msg = fields.String(metadata={"description": "IBM Quantum devices: e.g. active"})
    limits = fields.Nested(BackendLimitsSchema, metadata={
        "description": "GET /v1/backends/{name} only: the gateway's limits for jobs here"})


class BackendListSchema(Schema):
    backends = fields.List(fields.Nested(BackendSchema), required=True)


class BackendConfigurationSchema(Schema):
    backend = fields.String(required=True)
    configuration = fields.Dict(allow_none=True, required=True, metadata={
        "description": "the device configuration as IBM Quantum sends it (for fake devices, "
                       "the one shipped with qiskit-ibm-runtime); null for an ideal simulator"})


class BackendPropertiesSchema(Schema):
    backend = fields.String(required=True)
    properties = fields.Dict(allow_none=True, required=True, metadata={
        "description": "calibration data as qiskit's BackendProperties.to_dict(); null for an "
                       "ideal simulator"})


PROBLEM_TYPES = "; ".join(f"`{kind}` ({title})" for kind, title in TITLES.items())


class ProblemSchema(Schema):
    """RFC 9457: open to extension members; those this gateway sends are listed."""

    class Meta:
        unknown = INCLUDE

    type = fields.String(required=True, metadata={
        "description": f"{PROBLEM_BASE}<kind>, one URI per kind of problem: {PROBLEM_TYPES}"})
    title = fields.String(required=True, metadata={"description": "one title per type"})
    status = fields.Integer(required=True)
    detail = fields.String(metadata={"description": "what is wrong and what to do, in words"})
    instance = fields.String()
    request_id = fields.String(allow_none=True)
    errors = fields.Dict(keys=fields.String(), values=fields.List(fields.String()), metadata={
        "description": "invalid input: messages by field path (e.g. `pubs.0.shots`; the whole "
                       "body's under `_schema`)"})
    limit = fields.String(metadata={"description": "limit-exceeded: which limit (e.g. `shots`); "
                                                   "too-many-requests: which quota or rate "
                                                   "(the RateLimit policy, e.g. `queued`)"})
    value = fields.Float(allow_none=True, metadata={
        "description": "limit-exceeded: the request's value, in the limit's unit (bytes, "
                       "seconds, counts); null when it cannot be known (a chunked body, a "
                       "parse process that ran out of memory)"})
    maximum = fields.Float(metadata={"description": "limit-exceeded: the most allowed, in the "
                                                    "same unit; too-many-requests: the quota or "
                                                    "rate"})
    setting = fields.String(metadata={
        "description": "limit-exceeded: the environment variable that sets the maximum"})
    line = fields.Integer(metadata={"description": "invalid JSON or an OpenQASM program that "
                                                   "does not parse: the line (from 1)"})
    column = fields.Integer(metadata={"description": "and the column (from 1)"})
    job_status = Status()  # 409 on a job: the job's status
    allowed = fields.List(fields.String(), metadata={"description": "405: the allowed methods"})


# -- live events (server-sent events) ------------------------------------------------------------
def _event_id(value: str) -> None:
    if value and not valid_event_id(value):
        raise ValidationError("an event id is '<milliseconds>-<sequence>', as sent in 'id:'")


def _event_id_field(data_key: str | None = None) -> fields.String:
    return String(validate=_event_id, data_key=data_key, metadata={
        "description": "resume after this event (the `id:` of the last event received)",
        "example": "1732441502123-0"})


class EventStreamArgsSchema(Schema):
    token = String(validate=validate.Length(min=1, max=128), metadata={
        "description": "a stream token from the matching `POST …/token` call, instead of the "
                       "Authorization header (for EventSource, which cannot send headers)"})
    last_event_id = _event_id_field()


class LastEventIdSchema(Schema):
    last_event_id_header = _event_id_field(data_key="Last-Event-ID")


class StreamTokenSchema(Schema):
    token = fields.String(required=True, metadata={"description": "send as `?token=`"})
    expires_at = fields.String(required=True, metadata={"format": "date-time"})
