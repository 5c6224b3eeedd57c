"""Standard Webhooks signatures, and webhook secrets sealed at rest.

A secret is `whsec_` and the base64 of 32 random bytes; a signature is `v1,` and the base64 of
HMAC-SHA256, keyed by those bytes, over `{webhook-id}.{webhook-timestamp}.{body}`: what the
`standardwebhooks` libraries verify (the tests verify every delivery with the Python one).

A secret must be recoverable to sign, so it cannot be kept as a hash: Redis holds it sealed,
AES-256-GCM under a key derived (HKDF-SHA256) from GATEWAY_WEBHOOK_SECRET_KEY, with the
endpoint's id as associated data (a sealed secret copied onto another endpoint does not open).
The setting may list several keys, comma-separated: the first seals, each opens what it sealed,
so the setting's key can be replaced while the secrets sealed under the old one are rotated.
Without the setting no endpoint can be created (WebhooksNotConfigured).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from core.errors import WebhooksNotConfigured

SECRET_PREFIX = "whsec_"
MIN_KEY_CHARS = 32
NONCE_BYTES = 12


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def sign(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    """`v1,<signature>` of one attempt (the timestamp is the attempt's, in seconds)."""
    key = base64.b64decode(secret.removeprefix(SECRET_PREFIX))
    signed = f"{message_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


def signature_header(secrets_: list[str], message_id: str, timestamp: int, body: bytes) -> str:
    """One signature per secret, space-separated: after a rotation the previous secret signs
    too for a while, so receivers can switch without losing a delivery."""
    return " ".join(sign(secret, message_id, timestamp, body) for secret in secrets_)


class Sealer:
    """Seals and opens webhook secrets with the keys of GATEWAY_WEBHOOK_SECRET_KEY."""

    def __init__(self, settings: list[str]) -> None:
        short = [key for key in settings if len(key) < MIN_KEY_CHARS]
        if short:
            raise ValueError(f"GATEWAY_WEBHOOK_SECRET_KEY: each key needs {MIN_KEY_CHARS}+ "
                             "random characters (e.g. `openssl rand -hex 32`)")
        self._keys = [_derive(setting) for setting in settings]

    @property
    def configured(self) -> bool:
        return bool(self._keys)

    def seal(self, secret: str, owner: str) -> str:
        """`secret`, encrypted for Redis; only `open` with the same `owner` reads it."""
        if not self._keys:
            raise WebhooksNotConfigured("Webhooks are off on this gateway: its operator has not "
                                        "set GATEWAY_WEBHOOK_SECRET_KEY.")
        key_id, key = self._keys[0]
        nonce = secrets.token_bytes(NONCE_BYTES)
        sealed = AESGCM(key).encrypt(nonce, secret.encode(), owner.encode())
        return f"{key_id}:{base64.b64encode(nonce + sealed).decode()}"

    def open(self, sealed: str, owner: str) -> str:
        """The secret; ValueError when no configured key sealed it (or it was tampered with)."""
        key_id, _, text = sealed.partition(":")
        for known_id, key in self._keys:
            if known_id == key_id:
                data = base64.b64decode(text)
                try:
                    plain = AESGCM(key).decrypt(data[:NONCE_BYTES], data[NONCE_BYTES:],
                                                owner.encode())
                except InvalidTag:
                    break
                return plain.decode()
        raise ValueError("a webhook secret sealed under a key GATEWAY_WEBHOOK_SECRET_KEY does "
                         "not list (or altered)")


def _derive(setting: str) -> tuple[str, bytes]:
    """(key id, AES key) of one key of the setting; the id names the key without revealing it."""
    key = HKDF(hashes.SHA256(), 32, salt=None, info=b"gateway webhook secrets").derive(
        setting.encode())
    return hashlib.sha256(key).hexdigest()[:8], key
