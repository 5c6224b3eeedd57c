"""Bearer-key authentication: every /v1 route needs `Authorization: Bearer <key>`."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import g, request

from app.gateway import gateway
from app.ratelimits import Count
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
    Over its rate, the key gets 429; so does a client address after a burst of wrong keys
    (except with a key this process knows valid: guessing is slowed, valid keys are not)."""
    tenant, count = identify()
    gateway().rates.send(count)
    return tenant


def identify() -> tuple[str, Count]:
    """`authenticate`, but the request's count against its key's rate is not sent yet."""
    key = bearer_key()
    if key is None:
        raise Unauthorized("Send 'Authorization: Bearer <api key>'.")
    gw, address = gateway(), request.remote_addr or ""
    if not gw.tenants.remembers(key):
        gw.rates.auth_blocked(address)
    tenant = gw.tenants.tenant_of(key)
    if tenant is None:
        gw.rates.auth_failed(address)
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
