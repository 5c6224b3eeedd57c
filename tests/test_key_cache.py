"""API processes remember the tenants of keys they saw; a revocation must still take at once.

Which gunicorn process answered is read from /proc: the one holding the server's end of the
connection. So the test knows every process has seen (and remembered) the key before it is
revoked, and has refused it after, instead of hoping that 20 requests reached both."""

from __future__ import annotations

import subprocess
import threading
import uuid
from collections import Counter
from pathlib import Path

import httpx

from core.store.api_keys import KeyStore
from tests.waiting import eventually

ANSWERS_PER_PROCESS = 5  # the first answer starts following revocations; later ones remember


def test_a_revoked_key_is_refused_at_once_by_every_api_process(
        keys: KeyStore, api_server: tuple[str, subprocess.Popen]) -> None:
    base, master = api_server
    processes = gunicorn_workers(master.pid)
    assert len(processes) == 2
    key_id, key = keys.create(f"t-{uuid.uuid4().hex[:12]}")
    accepted = answers_from_every_process(base, key, processes)
    assert {status for _, status in accepted} == {200}
    assert keys.revoke(key_id)
    refused = answers_from_every_process(base, key, processes)
    assert {status for _, status in refused} == {401}, refused


def answers_from_every_process(base: str, key: str, processes: set[int]
                               ) -> list[tuple[int, int]]:
    """(process, status) of GET /v1/jobs over fresh connections, until every process has
    answered ANSWERS_PER_PROCESS times."""
    answers: list[tuple[int, int]] = []

    def every_process_answered() -> bool:
        with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {key}"}) as http:
            response = http.get("/v1/jobs")
            answers.append((serving_process(base, response, processes), response.status_code))
        counts = Counter(pid for pid, _ in answers)
        return all(counts[pid] >= ANSWERS_PER_PROCESS for pid in processes)
    eventually(every_process_answered, 60, "every API process to answer", interval=0)
    return answers


def gunicorn_workers(master: int) -> set[int]:
    children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    return {int(child) for child in children}


def serving_process(base: str, response: httpx.Response, processes: set[int]) -> int:
    """The process holding the server's end of the (still open) connection of `response`."""
    client_port = response.extensions["network_stream"].get_extra_info("client_addr")[1]
    server_port = int(base.rsplit(":", 1)[1])
    inode = next(fields[9] for fields in (line.split() for line in Path(
        "/proc/net/tcp").read_text().splitlines()[1:])
        if int(fields[1].split(":")[1], 16) == server_port
        and int(fields[2].split(":")[1], 16) == client_port and fields[3] == "01")  # ESTABLISHED
    for pid in processes:
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            try:
                if fd.readlink().name == f"socket:[{inode}]":
                    return pid
            except OSError:  # closed meanwhile
                continue
    raise AssertionError(f"no API process holds the connection from port {client_port}")


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
