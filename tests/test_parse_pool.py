"""The parse processes: whatever a call does, the caller gets an answer or a refusal within the
timeout and the memory limit, and the pool goes on (no server needed)."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from core.errors import InvalidJobInput, LimitExceeded
from core.parse_pool import ParsePool


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


@pytest.mark.parametrize(("call", "args"), [(spin, ()), (time.sleep, (30,)),
                                             (allocate, (2 * 2**30,))])
def test_a_call_over_its_time_or_memory_is_refused_and_the_pool_goes_on(
        pool: ParsePool, call: object, args: tuple) -> None:
    started = time.monotonic()
    with pytest.raises(LimitExceeded) as refused:
        pool.run(call, *args)  # type: ignore[arg-type]
    assert time.monotonic() - started < 5
    assert "GATEWAY_PARSE" in refused.value.extra["setting"]
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
