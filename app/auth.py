"""Bearer-key authentication: every /v1 route needs `Authorization: Bearer <key>`."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import g, request

from app.gateway import gateway
from core.errors import Unauthorized

MAX_KEY_LENGTH = 256


def bearer_key() -> str | None:
    scheme, _, key = request.headers.get("Authorization", "").partition(" ")
    key = key.strip()
    if scheme.lower() != "bearer" or not key or len(key) > MAX_KEY_LENGTH:
        return None
    return key


def authenticate() -> str:
    """The tenant of the request's key; Unauthorized when there is none or it is unknown."""
    key = bearer_key()
    if key is None:
        raise Unauthorized("Send 'Authorization: Bearer <api key>'.")
    tenant = gateway().tenants.tenant_of(key)
    if tenant is None:
        raise Unauthorized("The API key is not valid (unknown or revoked).")
    return tenant


def auth_required(view: Callable[..., Any]) -> Callable[..., Any]:
    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        g.tenant = authenticate()
        return view(*args, **kwargs)

    return wrapper
