"""The schemas of /v1/webhooks and of what a delivery sends (openapi.yaml is made from them)."""

from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate

from app.fields import List, String
from app.schemas import StrictSchema
from app.schemas_results import ref
from core.webhooks.destinations import MAX_URL_CHARS
from core.webhooks.events import EVENT_TYPES, WEBHOOK_TEST

OUTCOMES = ("delivered", "retrying", "failed", "dropped")
SECRET = fields.String(required=True, metadata={
    "description": "`whsec_…`: verify deliveries with it (Standard Webhooks); shown only in "
                   "this answer"})


def _distinct(names: list[str]) -> None:
    if len(set(names)) != len(names):
        raise ValidationError("each event once")


class WebhookCreateSchema(StrictSchema):
    error_messages = {"type": 'must be an object with `url` and `events`, e.g. '
                              '{"url": "https://ci.example.com/hooks", "events": ["job.done"]}'}

    url = String(required=True, validate=validate.Length(min=1, max=MAX_URL_CHARS),
                        metadata={"description": "https:// (http:// where the operator allows "
                                                 "it); not a loopback, private, link-local or "
                                                 "metadata address"})
    events = List(String(validate=validate.OneOf(EVENT_TYPES)), required=True,
                         validate=[validate.Length(min=1), _distinct])
    description = String(validate=validate.Length(max=256))


class WebhookSchema(Schema):
    id = fields.String(required=True)
    url = fields.String(required=True)
    events = fields.List(fields.String(), required=True)
    description = fields.String(dump_default="", required=True)
    created = fields.String(required=True, metadata={"format": "date-time"})
    enabled = fields.Boolean(required=True, metadata={
        "description": "false once it failed for GATEWAY_WEBHOOK_DISABLE_AFTER_DAYS (a "
                       "`webhook.disabled` event says so); `POST …/enable` turns it on again"})
    failing_since = fields.String(allow_none=True, dump_default=None, metadata={
        "format": "date-time", "description": "first failure since its last success"})
    disabled_at = fields.String(allow_none=True, dump_default=None,
                                metadata={"format": "date-time"})


class WebhookCreatedSchema(WebhookSchema):
    secret = SECRET


class WebhookListSchema(Schema):
    webhooks = fields.List(fields.Nested(WebhookSchema), required=True)


class CallbackSecretSchema(Schema):
    secret = SECRET


class AttemptSchema(Schema):
    webhook_id = fields.String(required=True, metadata={
        "description": "the `webhook-id` sent: the same at every attempt of an event"})
    type = fields.String(required=True)
    job_id = fields.String(allow_none=True, required=True)
    attempt = fields.Integer(required=True, metadata={"description": "1 for the first"})
    at = fields.String(required=True, metadata={"format": "date-time"})
    status_code = fields.Integer(allow_none=True, required=True,
                                 metadata={"description": "the receiver's answer, if any"})
    error = fields.String(allow_none=True, required=True,
                          metadata={"description": "why there was no 2xx answer"})
    duration_ms = fields.Float(required=True)
    outcome = fields.String(required=True, validate=validate.OneOf(OUTCOMES), metadata={
        "description": "delivered; retrying (at next_attempt_at); failed (the retry schedule "
                       "ran out); dropped (the endpoint is gone or disabled)"})
    next_attempt_at = fields.String(allow_none=True, dump_default=None,
                                    metadata={"format": "date-time"})


class AttemptListSchema(Schema):
    deliveries = fields.List(fields.Nested(AttemptSchema), required=True,
                             metadata={"description": "the last 100 attempts, newest first"})


class NotificationSchema(Schema):
    endpoint_id = fields.String(allow_none=True, required=True,
                                metadata={"description": "null for the job's callback_url"})
    url = fields.String(required=True)
    type = fields.String(required=True)
    webhook_id = fields.String(required=True)
    state = fields.String(required=True, validate=validate.OneOf(OUTCOMES))
    attempts = fields.Integer(required=True)
    status_code = fields.Integer(allow_none=True, required=True)
    error = fields.String(allow_none=True, required=True)
    created = fields.String(required=True, metadata={"format": "date-time"})
    updated = fields.String(required=True, metadata={"format": "date-time"})
    next_attempt_at = fields.String(allow_none=True, dump_default=None,
                                    metadata={"format": "date-time"})


class NotificationListSchema(Schema):
    notifications = fields.List(fields.Nested(NotificationSchema), required=True)


class TestEventDataSchema(Schema):
    webhook_id = fields.String(required=True, metadata={"description": "the endpoint's id"})
    message = fields.String(required=True)


class WebhookEventSchema(Schema):
    """What a delivery POSTs, with the headers `webhook-id` (its id, the same at each retry),
    `webhook-timestamp` and `webhook-signature` (`v1,` + base64 HMAC-SHA256 of
    `id.timestamp.body` under the endpoint's secret)."""

    id = fields.String(required=True, metadata={
        "description": "not in the body: the `webhook-id` header"})
    type = fields.String(required=True, validate=validate.OneOf([*EVENT_TYPES, WEBHOOK_TEST]))
    timestamp = fields.String(required=True, metadata={"format": "date-time"})
    data = fields.Raw(required=True, metadata={
        "description": "job.*: the job as GET /v1/jobs/{id} answered then; webhook.disabled: "
                       "the endpoint; webhook.test: {webhook_id, message}",
        "oneOf": [ref("Job"), ref("Webhook"), ref("TestEventData")]})
