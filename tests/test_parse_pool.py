"""The parse processes: whatever a call does, the caller gets an answer or a refusal within the
timeout and the memory limit, and the pool goes on (no server needed)."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.errors import InvalidJobInput, LimitExceeded
from core.parse_pool import ParsePool
from tests.waiting import eventually

ROOT = Path(__file__).resolve().parent.parent


def spin() -> None:
    while True:
        pass


def allocate(size: int) -> int:
    return len(bytearray(size))


def refuse() -> None:
    raise InvalidJobInput("pubs.0.circuit: no", errors={"pubs.0.circuit": ["no"]})


@pytest.fixture
def pool() -> Iterator[ParsePool]:
    parsers = ParsePool(1, timeout=1.0, memory_bytes=256 * 2**20)
    yield parsers
    parsers.close()


@pytest.mark.parametrize(("call", "args", "limit", "setting"), [
    (spin, (), "parse_seconds", "GATEWAY_PARSE_TIMEOUT_SECONDS"),
    (time.sleep, (30,), "parse_seconds", "GATEWAY_PARSE_TIMEOUT_SECONDS"),
    (allocate, (2 * 2**30,), "parse_memory_bytes", "GATEWAY_PARSE_MEMORY_BYTES"),
])
def test_a_call_over_its_time_or_memory_is_refused_and_the_pool_goes_on(
        pool: ParsePool, call: object, args: tuple, limit: str, setting: str) -> None:
    started = time.monotonic()
    with pytest.raises(LimitExceeded) as refused:
        pool.run(call, *args)  # type: ignore[arg-type]
    assert time.monotonic() - started < 5
    extra = refused.value.extra
    assert (extra["limit"], extra["setting"]) == (limit, setting)
    assert extra["maximum"] == (1.0 if limit == "parse_seconds" else 256 * 2**20)
    assert extra["value"] is None or extra["value"] >= extra["maximum"]
    assert setting in refused.value.detail
    assert pool.run(allocate, 1000) == 1000


def test_a_refusal_in_a_parse_process_is_raised_as_it_was(pool: ParsePool) -> None:
    with pytest.raises(InvalidJobInput) as refused:
        pool.run(refuse)
    assert refused.value.extra == {"errors": {"pubs.0.circuit": ["no"]}}


def test_a_refusal_leaves_the_process_for_the_next_call(pool: ParsePool) -> None:
    with pytest.raises(InvalidJobInput):
        pool.run(refuse)
    first = pool._idle[0].process.pid
    with pytest.raises(InvalidJobInput):
        pool.run(refuse)
    assert [parser.process.pid for parser in pool._idle] == [first]


def test_a_process_forked_on_a_thread_outlives_the_thread(pool: ParsePool) -> None:
    """Threads may fork parse processes (the first call forks, and in-process callers such as
    the bench submit from thread pools): the process must serve on once that thread ends."""
    caller = threading.Thread(target=pool.run, args=(allocate, 10))
    caller.start()
    caller.join()
    (parser,) = pool._idle
    # the thread is gone from the kernel too: a signal sent at its end has been sent
    eventually(lambda: not Path(f"/proc/self/task/{caller.native_id}").exists(), 10,
               "the calling thread to end")
    assert pool.run(allocate, 10) == 10
    assert parser.process.is_alive()
    assert [p.process.pid for p in pool._idle] == [parser.process.pid]


def test_parse_processes_end_soon_after_their_api_process(tmp_path: Path) -> None:
    """An API process killed outright leaves no parse process behind."""
    script = ("import sys, time; from core.parse_pool import ParsePool; "
              "pool = ParsePool(2, 1.0, 2**28); pool.start(); "
              "print(*[p.process.pid for p in pool._idle], flush=True); time.sleep(60)")
    api = subprocess.Popen([sys.executable, "-c", script], cwd=ROOT, stdout=subprocess.PIPE,
                           text=True)
    try:
        parsers = [int(pid) for pid in api.stdout.readline().split()]  # type: ignore[union-attr]
        assert len(parsers) == 2 and all(running(pid) for pid in parsers)
    finally:
        api.kill()
        api.wait()
    eventually(lambda: not any(running(pid) for pid in parsers), 10,
               "the parse processes to end")


def running(pid: int) -> bool:
    """Whether `pid` is a live process (an ended one not yet reaped counts as ended)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state not in ("Z", "X")
