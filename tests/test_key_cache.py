"""API processes remember the tenants of keys they saw; a revocation must still take at once."""

from __future__ import annotations

import uuid

import httpx

from core.store.api_keys import KeyStore


def test_a_revoked_key_is_refused_at_once_by_every_api_process(keys: KeyStore,
                                                                server: str) -> None:
    key_id, key = keys.create(f"t-{uuid.uuid4().hex[:12]}")
    with httpx.Client(base_url=server, headers={"Authorization": f"Bearer {key}"}) as http:
        # new connections each time, so that both gunicorn processes see (and remember) the key
        for _ in range(20):
            assert http.get("/v1/jobs", headers={"Connection": "close"}).status_code == 200
        assert keys.revoke(key_id)
        refused = [http.get("/v1/jobs", headers={"Connection": "close"}).status_code
                   for _ in range(20)]
    assert refused == [401] * 20
