"""A deliverer process's work: one feeder thread fans events out of the outbox and recovers the
deliveries of deliverers that died; sender threads take the fairly next due delivery under a
lease, attempt it, and settle it (the keys: `core/store/outbox.py`).

At least once: an event leaves the outbox only in the call that queues its deliveries, and a
delivery leaves its queue only under a lease, which its settlement ends. A deliverer killed
mid-delivery leaves the lease to run out (twice the timeout, and 2 s); the next feeder to look
queues the delivery again, at once, as its next attempt, with the same `webhook-id`.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from dataclasses import dataclass
from typing import Any

import redis

from core import metrics
from core.clock import now_iso
from core.errors import DestinationRefused, InvalidWebhook
from core.store.outbox import CALLBACK_PREFIX, Claim, callback_endpoint
from core.webhooks import Webhooks, events
from core.webhooks.signing import signature_header
from workers.webhooks import records
from workers.webhooks.sending import USER_AGENT, Answer, post

log = logging.getLogger("gateway.webhooks")
FEED_WAIT_SECONDS = 0.25  # the feeder's blocking wait on the outbox; then it looks at leases
ENDPOINT_DELETED = "the endpoint was deleted"  # its attempts log is gone with it


@dataclass(frozen=True)
class Target:
    """Where one delivery goes and what signs it; `dropped` says why it goes nowhere."""

    url: str = ""
    secrets: tuple[str, ...] = ()
    endpoint: dict[str, Any] | None = None
    dropped: str = ""


class Deliverer:
    def __init__(self, webhooks: Webhooks) -> None:
        self.webhooks = webhooks
        config = webhooks.config
        self.timeout = config.WEBHOOK_TIMEOUT_SECONDS
        self.schedule = config.WEBHOOK_RETRY_SCHEDULE
        self.lease_seconds = 2 * self.timeout + 2
        self.keep_seconds = int(sum(self.schedule) + len(self.schedule) * self.lease_seconds
                                + 24 * 3600)  # an event's body outlives its last retry
        self.disable_after_ms = config.WEBHOOK_DISABLE_AFTER_DAYS * 86_400_000
        self.wake = threading.Condition()

    # -- the feeder -------------------------------------------------------------------------
    def feed(self, stop: threading.Event) -> None:
        """Fan events out as they come; between them, recover deliveries whose lease ran out
        and wake the senders when something is due (a retry's time came)."""
        outbox = self.webhooks.outbox
        while not stop.is_set():
            try:
                entry = outbox.take(FEED_WAIT_SECONDS)
                queued = self.fan_out(entry) if entry is not None else 0
                for claim in outbox.expired():
                    self.settle(claim, Answer(None, "its deliverer stopped answering (the "
                                              "lease ran out)", 0.0),
                                outbox.body(claim.event_id), recovered=True)
                    queued += 1
                if queued or (entry is None and outbox.anything_due()):
                    self.wake_senders(max(queued, 1))
            except redis.RedisError as exc:  # the deliverer outlives a Redis outage
                log.warning("webhook outbox unreachable: %s: %s", type(exc).__name__, exc)
                stop.wait(1.0)

    def fan_out(self, entry: str) -> int:
        """Queue the entry's deliveries; how many."""
        outbox = self.webhooks.outbox
        try:
            event = json.loads(entry)
            body = events.body(event)
        except (ValueError, KeyError, TypeError):
            log.exception("an outbox entry that cannot be read was dropped")
            outbox.discard(entry)
            return 0
        targets = list(event.get("endpoints") or [])
        if event.get("callback"):
            targets.append(callback_endpoint(event["tenant"]))
        return len(targets) if outbox.fan_out(entry, event, body, targets,
                                              self.keep_seconds) else 0

    def wake_senders(self, count: int) -> None:
        """As many idle senders as there may be deliveries for (each asks Redis when woken)."""
        with self.wake:
            self.wake.notify(count)

    # -- the senders ------------------------------------------------------------------------
    def send_forever(self, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                claim = self.webhooks.outbox.claim(self.lease_seconds)
                if claim is None:
                    with self.wake:
                        self.wake.wait(1.0)
                    continue
                self.wake_senders(1)  # there may be more: a peer looks while this one sends
                self.send(claim)
            except redis.RedisError as exc:
                log.warning("webhook delivery: Redis unreachable: %s: %s",
                            type(exc).__name__, exc)
                stop.wait(1.0)
            except Exception:  # a bug must not silence the gateway's notifications
                log.exception("webhook delivery failed")
                stop.wait(1.0)

    def send(self, claim: Claim) -> None:
        body = self.webhooks.outbox.body(claim.event_id)
        target = self.target(claim, body)
        if body is None or target.dropped:
            answer = Answer(None, target.dropped or "the event expired", 0.0)
        else:
            answer = self.attempt(claim, target, body)
        self.settle(claim, answer, body, target)

    def target(self, claim: Claim, body: bytes | None) -> Target:
        """The endpoint's URL and secrets now (it may have been rotated, disabled, deleted)."""
        endpoints = self.webhooks.endpoints
        endpoint = None
        if claim.endpoint.startswith(CALLBACK_PREFIX):
            kept = endpoints.callback_secrets(claim.tenant)
            if not kept:
                return Target(dropped="the tenant has no callback secret")
            url = json.loads(body)["data"].get("callback_url", "") if body else ""
        else:
            endpoint = endpoints.find(claim.endpoint)
            if endpoint is None:
                return Target(dropped=ENDPOINT_DELETED)
            if not endpoint["enabled"]:
                return Target(endpoint["url"], dropped="the endpoint is disabled")
            kept, url = endpoint, endpoint["url"]
        return Target(url, self.secrets(kept, claim.endpoint), endpoint)

    def secrets(self, kept: dict[str, Any], owner: str) -> tuple[str, ...]:
        """The secrets that sign: the current one, and for a while after a rotation the
        previous one; none when they cannot be opened (the setting's key changed)."""
        sealed = [kept["secret"]]
        if float(kept.get("previous_until") or 0) > time.time():
            sealed.append(kept["previous_secret"])
        try:
            return tuple(self.webhooks.sealer.open(secret, owner) for secret in sealed)
        except ValueError:
            return ()

    def attempt(self, claim: Claim, target: Target, body: bytes) -> Answer:
        if not target.secrets:
            return Answer(None, "its secret cannot be opened: GATEWAY_WEBHOOK_SECRET_KEY does "
                                "not hold the key that sealed it", 0.0)
        try:
            destination = self.webhooks.destinations.check(target.url)
        except (DestinationRefused, InvalidWebhook) as exc:  # DNS may have changed since
            return Answer(None, exc.detail, 0.0)
        stamp = int(time.time())
        headers = {"Content-Type": "application/json", "User-Agent": USER_AGENT,
                   "webhook-id": claim.event_id, "webhook-timestamp": str(stamp),
                   "webhook-signature": signature_header(list(target.secrets), claim.event_id,
                                                         stamp, body)}
        return post(destination, headers, body, self.timeout)

    # -- settling -----------------------------------------------------------------------------
    def settle(self, claim: Claim, answer: Answer, body: bytes | None = None,
               target: Target | None = None, recovered: bool = False) -> None:
        """Record the attempt, and queue the next one if the schedule has room."""
        dropped = (target is not None and bool(target.dropped)) or body is None
        result, retry_at = records.outcome(answer, claim, self.schedule, dropped, recovered)
        metrics.webhook_delivered(result, answer.seconds)
        sent = json.loads(body) if body else {}
        attempt = records.attempt(claim, answer, sent, result, retry_at)
        notice = records.notice(claim, answer, sent, target.url, result, retry_at) \
            if target else None
        gone = target is not None and target.dropped == ENDPOINT_DELETED
        self.webhooks.outbox.settle(claim, retry_at, None if gone else attempt,
                                    records.job_of(sent), notice)
        if target is not None and target.endpoint is not None:
            self.keep_health(target.endpoint, answer, result)

    def keep_health(self, endpoint: dict[str, Any], answer: Answer, result: str) -> None:
        """Success clears an endpoint's failing streak; failing for DISABLE_AFTER_DAYS
        disables it."""
        endpoints = self.webhooks.endpoints
        if answer.ok:
            if endpoint.get("failing_since"):
                endpoints.succeeded(endpoint["id"])
            return
        if result == "dropped":
            return
        now_ms = time.time() * 1000
        since = endpoints.failing(endpoint["id"], now_ms)
        if since is not None and now_ms - since >= self.disable_after_ms:
            self.disable(endpoint, since)

    def disable(self, endpoint: dict[str, Any], failing_since_ms: float) -> None:
        """Disable it, and tell the tenant's other endpoints that asked (`webhook.disabled`)."""
        endpoints, outbox = self.webhooks.endpoints, self.webhooks.outbox
        tenant = endpoint["tenant"]
        if not endpoints.switch(tenant, endpoint["id"], False, {"disabled_at": now_iso()}):
            return  # another deliverer did
        log.warning("webhook endpoint %s of tenant %s disabled: failing since %s",
                    endpoint["id"], tenant, records.iso(failing_since_ms / 1000))
        shown = events.endpoint_document(endpoints.find(endpoint["id"]) or endpoint)
        others = [e for e in outbox.subscribed(tenant, events.WEBHOOK_DISABLED)
                  if e != endpoint["id"]]
        if others:
            outbox.post(events.entry(events.WEBHOOK_DISABLED, tenant, now_iso(), shown, others))
