"""What the webhook views do: keep a tenant's endpoints and secrets, post test events, and read
how deliveries went. Nothing here calls out: the deliverer (`workers/webhooks/`) does."""

from __future__ import annotations

import secrets
import time
from typing import Any

from app.gateway import Gateway
from core.clock import now_iso
from core.errors import InvalidWebhook, LimitExceeded
from core.store.outbox import callback_endpoint
from core.webhooks import events
from core.webhooks.events import endpoint_document
from core.webhooks.signing import new_secret

ROTATION_GRACE_SECONDS = 24 * 3600  # the previous secret also signs this long after a rotation
NO_CALLBACK_SECRET = ("this tenant has no callback secret yet: create it with "
                      "POST /v1/webhooks/callback-secret")


def create(gw: Gateway, tenant: str, payload: dict[str, Any]) -> dict[str, Any]:
    """A new endpoint (its URL checked as a delivery would), with its secret: the only time
    the secret is shown."""
    gw.webhooks.destinations.check(payload["url"])
    endpoint_id = f"wh_{secrets.token_hex(12)}"
    secret = new_secret()
    record = {"id": endpoint_id, "tenant": tenant, "url": payload["url"],
              "events": payload["events"], "description": payload.get("description", ""),
              "created": now_iso(), "secret": gw.webhooks.sealer.seal(secret, endpoint_id)}
    most = gw.config.WEBHOOK_MAX_ENDPOINTS
    if not gw.webhooks.endpoints.create(record, most):
        raise LimitExceeded(f"a tenant has at most {most} webhook endpoints "
                            "(GATEWAY_WEBHOOK_MAX_ENDPOINTS); delete one first",
                            limit="webhook_endpoints", value=most + 1, maximum=most,
                            setting="GATEWAY_WEBHOOK_MAX_ENDPOINTS")
    return {**endpoint_document({**record, "enabled": True}), "secret": secret}


def listed(gw: Gateway, tenant: str) -> list[dict[str, Any]]:
    return [endpoint_document(record) for record in gw.webhooks.endpoints.listed(tenant)]


def get(gw: Gateway, tenant: str, endpoint_id: str) -> dict[str, Any]:
    return endpoint_document(gw.webhooks.endpoints.get(tenant, endpoint_id))


def delete(gw: Gateway, tenant: str, endpoint_id: str) -> None:
    """Gone at once; deliveries of it still waiting are dropped when their turn comes."""
    gw.webhooks.endpoints.delete(tenant, endpoint_id)


def rotate(gw: Gateway, tenant: str, endpoint_id: str) -> dict[str, Any]:
    """A new secret, shown once; the previous one signs too for ROTATION_GRACE_SECONDS."""
    record = gw.webhooks.endpoints.get(tenant, endpoint_id)
    secret = new_secret()
    gw.webhooks.endpoints.update(tenant, endpoint_id, _rotated(gw, record, secret, endpoint_id))
    return {**endpoint_document(record), "secret": secret}


def enable(gw: Gateway, tenant: str, endpoint_id: str) -> dict[str, Any]:
    """A disabled endpoint gets events again (what was dropped meanwhile is not resent)."""
    gw.webhooks.endpoints.switch(tenant, endpoint_id, True, {},
                                 drop=("failing_since", "disabled_at"))
    return get(gw, tenant, endpoint_id)


def test(gw: Gateway, tenant: str, endpoint_id: str) -> dict[str, Any]:
    """Post a `webhook.test` event for this endpoint alone; the event as it will be sent."""
    gw.webhooks.endpoints.get(tenant, endpoint_id)
    entry = events.entry(events.WEBHOOK_TEST, tenant, now_iso(), {
        "webhook_id": endpoint_id, "message": "a test event, sent on request"}, [endpoint_id])
    gw.webhooks.outbox.post(entry)
    return {"id": entry["id"], "type": entry["type"], "timestamp": entry["at"],
            "data": entry["data"]}


def attempts(gw: Gateway, tenant: str, endpoint_id: str) -> list[dict[str, Any]]:
    gw.webhooks.endpoints.get(tenant, endpoint_id)
    return gw.webhooks.outbox.attempts(endpoint_id)


def notifications(gw: Gateway, tenant: str, job_id: str) -> list[dict[str, Any]]:
    """How the job's notifications went: to which endpoint or callback, each event's state."""
    gw.store.owned(tenant, job_id)
    return gw.webhooks.outbox.notices(job_id)


def callback_secret(gw: Gateway, tenant: str) -> dict[str, str]:
    """A new secret for the tenant's jobs' callback URLs, shown once (the previous one, if
    any, signs too for ROTATION_GRACE_SECONDS)."""
    owner = callback_endpoint(tenant)
    secret = new_secret()
    kept = gw.webhooks.endpoints.callback_secrets(tenant)
    gw.webhooks.endpoints.keep_callback_secrets(tenant, _rotated(gw, kept, secret, owner))
    return {"secret": secret}


def callback_fields(gw: Gateway, tenant: str, payload: dict[str, Any]) -> dict[str, str]:
    """A submission's `callback_url` and `callback_events`, checked, as its record keeps them."""
    url = payload.get("callback_url")
    if url is None:
        if "callback_events" in payload:
            raise InvalidWebhook("callback_events: only with a callback_url",
                                 errors={"callback_events": ["only with a callback_url"]})
        return {}
    gw.webhooks.destinations.check(url, field="callback_url")
    if not gw.webhooks.endpoints.callback_secrets(tenant):
        raise InvalidWebhook(f"callback_url: {NO_CALLBACK_SECRET}",
                             errors={"callback_url": [NO_CALLBACK_SECRET]})
    wanted = payload.get("callback_events") or list(events.JOB_EVENTS.values())
    return {"callback_url": url, "callback_events": events.wrapped(wanted)}


def _rotated(gw: Gateway, kept: dict[str, Any], secret: str, owner: str) -> dict[str, Any]:
    fields = {"secret": gw.webhooks.sealer.seal(secret, owner)}
    if kept.get("secret"):
        fields.update(previous_secret=kept["secret"],
                      previous_until=str(time.time() + ROTATION_GRACE_SECONDS))
    return fields

