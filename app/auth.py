"""Bearer-key authentication: every /v1 route needs `Authorization: Bearer <key>`."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import g, request

from app.gateway import gateway
from app.ratelimits import Count
from core.documents import job_json
from core.errors import Unauthorized
from core.store.api_keys import digest

MAX_KEY_LENGTH = 256


def bearer_key() -> str | None:
    scheme, _, key = request.headers.get("Authorization", "").partition(" ")
    key = key.strip()
    if scheme.lower() != "bearer" or not key or len(key) > MAX_KEY_LENGTH:
        return None
    return key


def authenticate() -> str:
    """The tenant of the request's key; Unauthorized when there is none or it is unknown.
    Over its rate, the key gets 429; so do a client address's wrong keys after a burst of them.
    A valid key is never refused for other requests' wrong keys, whatever address they share
    (a NAT, a proxy): the throttle spares the gateway guessing traffic, and the keys' 128+ bits
    of entropy, not the throttle, are what keep them from being guessed."""
    tenant, count = identify()
    gateway().rates.send(count)
    return tenant


def identify() -> tuple[str, Count]:
    """`authenticate`, but the request's count against its key's rate is not sent yet."""
    key = bearer_key()
    if key is None:
        raise Unauthorized("Send 'Authorization: Bearer <api key>'.")
    gw = gateway()
    failures = gw.rates.auth_failures(request.remote_addr or "")
    tenant = gw.tenants.tenant_of(key, along=failures)  # one round trip for both
    if tenant is None:
        failures.add()  # 429 once the address is over its failures, 401 before
        raise Unauthorized("The API key is not valid (unknown or revoked).")
    return tenant, gw.rates.request(tenant, digest(key))


def auth_required(view: Callable[..., Any]) -> Callable[..., Any]:
    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        g.tenant = authenticate()
        return view(*args, **kwargs)

    return wrapper


def auth_required_for_job(view: Callable[..., Any]) -> Callable[..., Any]:
    """`auth_required` for a view that reads the caller's job (`callers_job`) before anything
    else: the request's count rides with that read, one round trip for both (the polls)."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        g.tenant, g.count = identify()
        try:
            return view(*args, **kwargs)
        finally:
            count = g.pop("count", None)
            if count is not None:  # the view ended before its read (bad arguments): count alone
                gateway().rates.send(count)

    return wrapper


def callers_job(job_id: str) -> dict[str, Any]:
    """The caller's job `job_id`, read with the request's count (`auth_required_for_job`)."""
    return gateway().store.owned(g.tenant, job_id, along=g.pop("count", None))


def callers_job_json(job_id: str) -> str:
    """`callers_job` as its JSON document, as the store keeps it beside the record: a poll
    reads two fields and runs no schema (a job stored before documents were kept: its record,
    through the schema)."""
    store = gateway().store
    found = store.document(g.tenant, job_id, along=g.pop("count", None))
    return found if found is not None else job_json(store.owned(g.tenant, job_id))
