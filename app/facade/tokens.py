"""The IAM token exchange: a gateway key, sent as IBM Cloud's "API key", becomes a short-lived
bearer token bound to it (revoking the key ends its tokens: every request checks the key).

The token is JWT-shaped because the client's IAM token manager reads its `iat` and `exp` to know
when to ask again; its signature part is a random stream token (`core/store/stream_tokens.py`,
scope `ibm-facade`), the only part the gateway trusts: the claims are never believed."""

from __future__ import annotations

import base64
import json
import time
from typing import Any

from flask import g, request

from app.auth import MAX_KEY_LENGTH
from app.gateway import gateway
from core.errors import Unauthorized
from core.store.api_keys import digest

SCOPE = "ibm-facade"
TOKEN_SECONDS = 900  # the client asks for a new one before it expires, with the key


def exchange(api_key: str) -> dict[str, Any]:
    """IAM's answer to `grant_type=...apikey&apikey=<gateway key>`."""
    gw = gateway()
    if not api_key or len(api_key) > MAX_KEY_LENGTH:
        raise Unauthorized("Send the gateway key as the IAM API key (apikey=...).")
    failures = gw.rates.auth_failures(request.remote_addr or "")
    tenant = gw.tenants.tenant_of(api_key, along=failures)
    if tenant is None:
        failures.add()
        raise Unauthorized("Provided API key could not be found.")
    issued = gw.tokens.issue(tenant, SCOPE, digest(api_key), TOKEN_SECONDS)
    now = int(time.time())
    claims = {"iat": now, "exp": now + TOKEN_SECONDS, "sub": tenant}
    signature = _encode(issued["token"].encode())  # a JWT's parts are canonical base64url
    token = f"{_encode(json.dumps({'alg': 'none', 'typ': 'JWT'}).encode())}." \
            f"{_encode(json.dumps(claims).encode())}.{signature}"
    return {"access_token": token, "refresh_token": "not-supported", "token_type": "Bearer",
            "expires_in": TOKEN_SECONDS, "expiration": now + TOKEN_SECONDS}


def _encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _stream_token(signature: str) -> str:
    """The stream token a JWT-shaped access token carries ("" if it carries none)."""
    if len(signature) > 2 * MAX_KEY_LENGTH:
        return ""
    try:
        return base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4)).decode()
    except ValueError:  # binascii.Error and UnicodeDecodeError are ValueErrors
        return ""


def authenticate() -> str:
    """The tenant of the request's bearer token (counted against its key's rate)."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    secret = _stream_token(token.strip().rpartition(".")[2])
    gw = gateway()
    grant = gw.tokens.grant_for(secret, SCOPE) if scheme.lower() == "bearer" else None
    if grant is None:
        raise Unauthorized("The access token is unknown or expired; ask "
                           "/ibm/identity/token for a new one.")
    tenant, key_digest = grant
    if gw.keys.tenant_of_digest(key_digest) != tenant:
        raise Unauthorized("The key this token was made from is revoked.")
    gw.rates.send(gw.rates.request(tenant, key_digest))
    g.tenant = tenant
    return tenant
