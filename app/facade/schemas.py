"""What the facade's routes take and answer, for openapi.yaml. IBM's bodies are free-form JSON
written by qiskit-ibm-runtime (RuntimeEncoder, the quantum program converters): they are
described here loosely, by the members the facade reads."""

from __future__ import annotations

from marshmallow import EXCLUDE, Schema, fields, validate

from app.schemas import TAG

FREE_FORM = {"type": "object", "additionalProperties": True}
IBM_ERROR = {
    "type": "object", "description": "IBM Quantum's error shape (the client raises its usual "
    "RequestsApiError / IBMNotAuthorizedError / RuntimeJobNotFound from it)",
    "required": ["errors", "status_code"],
    "properties": {
        "errors": {"type": "array", "items": {"type": "object", "properties": {
            "code": {"type": "integer"}, "message": {"type": "string"},
            "more_info": {"type": "string"}}}},
        "error": {"type": "object", "properties": {"code": {"type": "integer"},
                                                   "message": {"type": "string"}}},
        "trace": {"type": "string"}, "status_code": {"type": "integer"}},
}
BELL_QPY = ("eJwL9Az29gwRZGJjZIAAxoJCKEuGgSuNgQPIYIJiBjQ2K4hIzixKLs0s0TUxg4oyVNcWMoJVMTLCjIIBxmSIDA"
            "tjbmpiMbokCo8VqygCeLgnlqRCzGdDchsWMxmdI+BqC8Fi7Lg1gIFTYlFRZmoRFh2MOFzkC/ROaRHEjmSwCAk6"
            "GJOhav4jAZg6ALKmJz8=")  # a Bell circuit as RuntimeEncoder writes it (QPY)
TOKEN_REQUEST = {
    "required": True, "content": {"application/x-www-form-urlencoded": {"examples": {
        "apikey": {"summary": "what the client's IAM authenticator sends",
                   "value": {"grant_type": "urn:ibm:params:oauth:grant-type:apikey",
                             "apikey": "gw_1a2b3c4d_..."}}}, "schema": {
        "type": "object", "required": ["apikey"],
        "properties": {"grant_type": {"type": "string",
                                      "example": "urn:ibm:params:oauth:grant-type:apikey"},
                       "apikey": {"type": "string", "description": "a gateway API key"}}}}}}
TOKEN = {"type": "object", "properties": {
    "access_token": {"type": "string", "description": "JWT-shaped bearer token for /ibm/api/v1"},
    "refresh_token": {"type": "string"}, "token_type": {"type": "string"},
    "expires_in": {"type": "integer"}, "expiration": {"type": "integer"}}}
JOB_REQUEST = {
    "required": True, "content": {"application/json": {"examples": {
        "sampler": {"summary": "SamplerV2.run([bell], shots=100), as the client sends it",
                    "value": {"program_id": "sampler", "backend": "aer_simulator",
                              "params": {"pubs": [[{"__type__": "QuantumCircuit",
                                                    "__value__": BELL_QPY}, None, 100]],
                                         "options": {}, "version": 2,
                                         "support_qiskit": True}}}}, "schema": {
        "type": "object", "required": ["program_id", "backend", "params"],
        "additionalProperties": True,
        "properties": {
            "program_id": {"type": "string", "enum": ["sampler", "estimator", "executor"]},
            "backend": {"type": "string"},
            "params": {"type": "object", "additionalProperties": True, "description":
                       "sampler/estimator: RuntimeEncoder JSON (`pubs`, `options`, `version`);"
                       " executor: the quantum program model (`schema_version`, "
                       "`quantum_program`, `options`)"},
            "tags": {"type": "array", "items": {"type": "string"}},
            "session_id": {"type": "string"}, "cost": {"type": "integer"},
            "log_level": {"type": "string"}, "private": {"type": "boolean"}}}}}}
TAGS_REQUEST = {"required": True, "content": {"application/json": {
    "examples": {"tags": {"summary": "job.update_tags([...])",
                          "value": {"tags": ["bell", "demo"]}}}, "schema": {
    "type": "object", "required": ["tags"],
    "properties": {"tags": {"type": "array", "items": {"type": "string"}}}}}}}

SESSION_REQUEST = {"required": True, "content": {"application/json": {
    "examples": {"session": {"summary": "Session(backend) as the client opens it",
                             "value": {"mode": "dedicated", "backend": "aer_simulator",
                                       "instance": "crn:v1:...", "max_ttl": 28800}}},
    "schema": {"type": "object", "required": ["backend"], "additionalProperties": True,
               "properties": {"mode": {"type": "string", "enum": ["dedicated", "batch"]},
                              "backend": {"type": "string"}, "instance": {"type": "string"},
                              "max_ttl": {"type": "integer"}}}}}}
CLOSE_REQUEST = {"required": True, "content": {"application/json": {
    "examples": {"close": {"summary": "session.close()", "value": {"accepting_jobs": False}}},
    "schema": {"type": "object", "required": ["accepting_jobs"],
               "properties": {"accepting_jobs": {"type": "boolean", "enum": [False]}}}}}}


class JobListArgsSchema(Schema):
    class Meta:
        unknown = EXCLUDE  # e.g. exclude_params: jobs are listed without their params anyway

    limit = fields.Integer(load_default=10, validate=validate.Range(min=1, max=100))
    offset = fields.Integer(load_default=0, validate=validate.Range(min=0, max=1000))
    backend = fields.String(validate=validate.Length(min=1, max=128))
    pending = fields.Boolean()
    program = fields.String(validate=validate.Length(min=1, max=64))
    tags = fields.List(TAG, validate=validate.Length(max=32))
    session_id = fields.String(validate=validate.Length(min=1, max=128))
    created_after = fields.AwareDateTime(default_timezone=None)
    created_before = fields.AwareDateTime(default_timezone=None)
    sort = fields.String(validate=validate.OneOf(["ASC", "DESC"]))
    exclude_params = fields.Boolean()


class BackendListArgsSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    provider = fields.String()


class DocumentArgsSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    calibration_id = fields.String()
    updated_before = fields.String()
