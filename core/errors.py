"""Domain exceptions: raised deep down, named for what happened. `app/errors.py` maps each kind
to its HTTP status and problem type, in one table; nothing here knows about HTTP."""

from __future__ import annotations

from typing import Any


class GatewayError(Exception):
    """Base class: `detail` is said to the client, `extra` becomes members of the problem."""

    def __init__(self, detail: str = "", **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra


class JobNotFound(GatewayError):
    """No such job, or another tenant's (the two are told apart by no one)."""

    @classmethod
    def of(cls, job_id: str) -> JobNotFound:
        return cls(f"No job '{job_id}' here; GET /v1/jobs lists yours.")


class BackendNotFound(GatewayError):
    pass


class BackendsNotRead(GatewayError):
    """The IBM Quantum account's devices have not been read yet (the gateway is starting): a
    name that is no local backend may still be one of them."""


class JobNotFinished(GatewayError):
    pass


class JobFailed(GatewayError):
    pass


class JobCancelled(GatewayError):
    pass


class InvalidJobState(GatewayError):
    """The operation does not fit the job's status (cancelling a final job, say)."""


class IdempotencyConflict(GatewayError):
    """An Idempotency-Key used again with another body."""


class InvalidJobInput(GatewayError):
    """A submission that cannot run; `errors` maps field paths to messages."""


class UnreadableProgram(InvalidJobInput):
    """A program the parsers, or the linear checks before them, cannot read: where it breaks
    (`line`, `column`) when known."""


class MalformedJson(GatewayError):
    """A body that is not JSON the API accepts; `line` and `column` where it breaks, if known."""


class InvalidEventId(GatewayError):
    """A well-formed Last-Event-ID this stream never issued (it is ahead of the stream)."""


class Unauthorized(GatewayError):
    """No key, an unknown or revoked key, or a stream token that does not open this stream."""


class IbmNotConfigured(GatewayError):
    """No upstream job can be found from a gateway without an IBM Quantum account."""


class UpstreamFailed(GatewayError):
    """IBM Quantum did not do what was asked (after the client's own retries)."""


class ParsersBusy(GatewayError):
    """Every parse process of this API process is busy: try again shortly."""


class StreamsFull(GatewayError):
    """This API process holds as many event streams as it has room for (the rest of its
    connections are kept for other requests): try again, on another process or a moment later."""


class QuotaExceeded(GatewayError):
    """Over one of the tenant's quotas; `retry_after` (s), `limit`, `remaining`, `policy` become
    the Retry-After and RateLimit headers."""


class LimitExceeded(InvalidJobInput):
    """A request over one of the gateway's limits; `extra` names the limit, the value, the
    maximum (both in the limit's one unit) and the setting that sets it."""

    @classmethod
    def of(cls, field: str, message: str, limit: str, value: Any, maximum: Any,
           setting: str, unit: str = "") -> LimitExceeded:
        """`field: message; at most maximum [unit] (setting)`, with the numbers as members."""
        if setting not in message:
            message = f"{message}; at most {maximum}{' ' + unit if unit else ''} ({setting})"
        return cls(f"{field}: {message}", errors={field: [message]}, limit=limit, value=value,
                   maximum=maximum, setting=setting)


class SessionNotFound(GatewayError):
    """No such session, or another tenant's (told apart by no one)."""


class InvalidSessionState(InvalidJobState):
    """The operation does not fit the session's state (a job into a closed one, closing twice)."""


class WebhookNotFound(GatewayError):
    """No such webhook endpoint, or another tenant's (told apart by no one)."""


class InvalidWebhook(GatewayError):
    """A webhook endpoint (or a job's callback) that cannot be: `errors` maps fields to messages."""


class DestinationRefused(InvalidWebhook):
    """A webhook's URL that the gateway will not call: not http(s), plain HTTP where HTTPS is
    required, or a name that resolves to an address it must not reach (loopback, private,
    link-local, multicast, cloud metadata) unless GATEWAY_WEBHOOK_ALLOW_NETWORKS allows it."""


class WebhooksNotConfigured(GatewayError):
    """Webhook secrets cannot be kept: GATEWAY_WEBHOOK_SECRET_KEY is not set."""
