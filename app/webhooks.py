"""/v1/webhooks: a tenant's webhook endpoints, their secrets, test events and deliveries; and
/v1/jobs/{id}/notifications, what was sent about one job."""

from __future__ import annotations

from typing import Any

from flask import g
from flask.views import MethodView
from werkzeug.routing import BaseConverter

from app.api import GatewayBlueprint, problems
from app.auth import auth_required
from app.examples import WEBHOOK_EXAMPLES
from app.gateway import gateway
from app.schemas_webhooks import (
    AttemptListSchema,
    CallbackSecretSchema,
    NotificationListSchema,
    WebhookCreatedSchema,
    WebhookCreateSchema,
    WebhookEventSchema,
    WebhookListSchema,
    WebhookSchema,
)
from app.services import webhooks as service

webhooks = GatewayBlueprint("webhooks", __name__, url_prefix="/v1",
                            description="Webhooks: signed, retried notifications of job events")
LOCATION = {"Location": {"schema": {"type": "string"}, "description": "the endpoint's URL"}}
NO_STORE = {"Cache-Control": "no-store"}  # an answer with a secret is a credential


@webhooks.route("/webhooks")
class Webhooks(MethodView):
    @auth_required
    @webhooks.doc(operationId="createWebhook", description=(
        "Events are POSTed as `WebhookEvent` with the Standard Webhooks headers, at least once, "
        "retried with backoff (GATEWAY_WEBHOOK_RETRY_SCHEDULE) until a 2xx; a retry keeps its "
        "`webhook-id`. No redirect is followed."))
    @webhooks.arguments(WebhookCreateSchema, examples=WEBHOOK_EXAMPLES)
    @webhooks.response(201, WebhookCreatedSchema, headers=LOCATION)
    @problems(webhooks, 400, 401, 415, 501)
    def post(self, payload: dict[str, Any]) -> Any:
        """Create a webhook endpoint; the answer holds its secret, shown this once"""
        created = service.create(gateway(), g.tenant, payload)
        return created, 201, {"Location": f"/v1/webhooks/{created['id']}", **NO_STORE}

    @auth_required
    @webhooks.doc(operationId="listWebhooks")
    @webhooks.response(200, WebhookListSchema)
    @problems(webhooks, 401)
    def get(self) -> Any:
        """List the tenant's webhook endpoints"""
        return {"webhooks": service.listed(gateway(), g.tenant)}


class EndpointIdConverter(BaseConverter):
    """An endpoint id in a path: any segment but `callback-secret` (POST only)."""

    regex = r"(?!callback-secret$)[^/]+"


@webhooks.route("/webhooks/<endpoint_id:endpoint_id>")
class Webhook(MethodView):
    @auth_required
    @webhooks.doc(operationId="getWebhook")
    @webhooks.response(200, WebhookSchema)
    @problems(webhooks, 401, 404)
    def get(self, endpoint_id: str) -> Any:
        """Read a webhook endpoint"""
        return service.get(gateway(), g.tenant, endpoint_id)

    @auth_required
    @webhooks.doc(operationId="deleteWebhook")
    @webhooks.response(204)
    @problems(webhooks, 401, 404)
    def delete(self, endpoint_id: str) -> Any:
        """Delete a webhook endpoint (its waiting deliveries are dropped)"""
        service.delete(gateway(), g.tenant, endpoint_id)
        return "", 204


@webhooks.post("/webhooks/<endpoint_id>/rotate")
@auth_required
@webhooks.doc(operationId="rotateWebhookSecret")
@webhooks.response(200, WebhookCreatedSchema)
@problems(webhooks, 401, 404, 501)
def rotate(endpoint_id: str) -> Any:
    """A new secret for the endpoint, shown this once; the previous one also signs for 24 h"""
    return service.rotate(gateway(), g.tenant, endpoint_id), 200, NO_STORE


@webhooks.post("/webhooks/<endpoint_id>/enable")
@auth_required
@webhooks.doc(operationId="enableWebhook")
@webhooks.response(200, WebhookSchema)
@problems(webhooks, 401, 404)
def enable(endpoint_id: str) -> Any:
    """Turn on again an endpoint that was disabled for failing"""
    return service.enable(gateway(), g.tenant, endpoint_id)


@webhooks.post("/webhooks/<endpoint_id>/test")
@auth_required
@webhooks.doc(operationId="testWebhook")
@webhooks.response(202, WebhookEventSchema, description="The event, as it will be sent")
@problems(webhooks, 401, 404)
def test(endpoint_id: str) -> Any:
    """Send a `webhook.test` event to the endpoint"""
    return service.test(gateway(), g.tenant, endpoint_id), 202


@webhooks.get("/webhooks/<endpoint_id>/deliveries")
@auth_required
@webhooks.doc(operationId="listWebhookDeliveries")
@webhooks.response(200, AttemptListSchema)
@problems(webhooks, 401, 404)
def deliveries(endpoint_id: str) -> Any:
    """The endpoint's recent delivery attempts: time, status code or error, duration"""
    return {"deliveries": service.attempts(gateway(), g.tenant, endpoint_id)}


@webhooks.post("/webhooks/callback-secret")
@auth_required
@webhooks.doc(operationId="createCallbackSecret")
@webhooks.response(201, CallbackSecretSchema)
@problems(webhooks, 401, 501)
def callback_secret() -> Any:
    """A new secret that signs the events of jobs' `callback_url`s, shown this once"""
    return service.callback_secret(gateway(), g.tenant), 201, NO_STORE


@webhooks.get("/jobs/<job_id>/notifications")
@auth_required
@webhooks.doc(operationId="listJobNotifications")
@webhooks.response(200, NotificationListSchema)
@problems(webhooks, 401, 404)
def notifications(job_id: str) -> Any:
    """The webhook notifications of a job's events: where each went and how"""
    return {"notifications": service.notifications(gateway(), g.tenant, job_id)}
