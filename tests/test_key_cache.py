"""API processes remember the tenants of keys they saw; a revocation must still take at once."""

from __future__ import annotations

import threading
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


def test_revoking_a_key_ends_its_event_streams_and_those_opened_with_its_tokens(
        keys: KeyStore, server: str) -> None:
    key_id, key = keys.create(f"t-{uuid.uuid4().hex[:12]}")
    with httpx.Client(base_url=server, headers={"Authorization": f"Bearer {key}"},
                      timeout=30) as http:
        token = http.post("/v1/events/token").json()["token"]
        streams = [StreamReader(server, {"Authorization": f"Bearer {key}"}, {}),
                   StreamReader(server, {}, {"token": token})]
        for stream in streams:
            assert stream.opened.wait(10)
        assert keys.revoke(key_id)
        ended = [stream.ended.wait(KEY_CACHE_SECONDS + 1) for stream in streams]
    assert ended == [True, True]


KEY_CACHE_SECONDS = 5  # the default bound (the tests' servers keep it)


class StreamReader(threading.Thread):
    """Reads /v1/events until the server ends it."""

    def __init__(self, server: str, headers: dict[str, str], params: dict[str, str]) -> None:
        super().__init__(daemon=True)
        self.request = (server + "/v1/events", headers, params)
        self.opened, self.ended = threading.Event(), threading.Event()
        self.start()

    def run(self) -> None:
        url, headers, params = self.request
        with httpx.stream("GET", url, headers=headers, params=params, timeout=60) as response:
            assert response.status_code == 200
            self.opened.set()
            for _ in response.iter_lines():
                pass
        self.ended.set()
