"""Dedicated sessions in fair dispatch, on a real Redis without workers: the express line, the
reservation a session's job holds, its lapse after interactive_ttl, and the worker always left
to the others (`core/store/sessions.py`, `lua/dispatch.lua`)."""

from __future__ import annotations

import time
import uuid

import pytest

from core import sessions as rules
from core.clock import iso_to_micros
from core.states import JobStatus
from core.store.connection import Connection
from core.store.dispatch import Dispatch
from core.store.jobs import JobStore
from core.store.quotas import Quotas
from core.store.sessions import SessionStore
from tests.test_dispatch import change, run, waiting_jobs


@pytest.fixture
def connection(redis_url: str) -> Connection:
    return Connection.open(redis_url, f"sess-{uuid.uuid4().hex[:8]}")


@pytest.fixture
def workers(connection: Connection) -> str:
    """RQ's set of live workers, as the dispatch script counts them: three."""
    key = f"{connection.prefix}:workers"
    connection.text.sadd(key, "w1", "w2", "w3")
    return key


def dedicated(connection: Connection, tenant: str, interactive_ttl: int = 60,
              max_ttl: int = 600) -> str:
    record = rules.new_record(tenant, "aer_simulator", "dedicated", max_ttl, interactive_ttl)
    answer = SessionStore(connection).create(record, iso_to_micros(record["created"]), (5, 5),
                                             rules.event(record, "open"))
    assert answer == "ok"
    return str(record["id"])


def session_job(connection: Connection, dispatch: Dispatch, tenant: str, job_id: str,
                session_id: str) -> str:
    connection.text.hset(JobStore(connection).key(job_id), mapping={
        "id": job_id, "status": "QUEUED", "tenant": tenant, "session_id": session_id,
        "score": 1})
    dispatch.push(tenant, job_id, session_id=session_id)
    return job_id


def served(dispatch: Dispatch, count: int, workers: str) -> list[str]:
    taken = [dispatch.take(100, workers) for _ in range(count)]
    return [t[1] if t else "-" for t in taken]


def test_a_sessions_job_goes_ahead_of_every_line_and_keeps_a_worker_free(
        connection: Connection, workers: str) -> None:
    dispatch = Dispatch(connection)
    waiting_jobs(connection, dispatch, "f", 10)  # a flood, at no cap of its own (100)
    session = dedicated(connection, "s")
    assert [t[1] for t in [dispatch.take(100, workers)] if t] == ["f0"]
    session_job(connection, dispatch, "s", "s-loop-1", session)
    assert dispatch.take(100, workers) == ("s", "s-loop-1")  # ahead of f's backlog
    run(connection, "s-loop-1")
    dispatch.release(100, workers, "s-loop-1")  # its reservation is idle now, for 60 s
    # three workers: f0 runs, one is kept for the session: f may take one more, not two
    assert served(dispatch, 2, workers) == ["f1", "-"]
    session_job(connection, dispatch, "s", "s-loop-2", session)
    assert dispatch.take(100, workers) == ("s", "s-loop-2")  # the kept worker takes it at once


def test_the_reservation_lapses_after_interactive_ttl_without_a_job(
        connection: Connection, workers: str) -> None:
    dispatch = Dispatch(connection)
    session = dedicated(connection, "s", interactive_ttl=1)
    session_job(connection, dispatch, "s", "s1", session)
    assert dispatch.take(100, workers) == ("s", "s1")
    run(connection, "s1")
    dispatch.release(100, workers, "s1")
    waiting_jobs(connection, dispatch, "f", 5)
    assert served(dispatch, 3, workers) == ["f0", "f1", "-"]  # one worker kept for the session
    assert SessionStore(connection).reservations([session])[0] is not None
    time.sleep(1.2)  # interactive_ttl passes with no job: the worker is the flood's again
    assert served(dispatch, 1, workers) == ["f2"]
    assert SessionStore(connection).reservations([session]) == [None]


def test_a_reservation_never_takes_the_last_worker(connection: Connection) -> None:
    one = f"{connection.prefix}:one-worker"
    connection.text.sadd(one, "w1")
    dispatch = Dispatch(connection)
    session = dedicated(connection, "s")
    session_job(connection, dispatch, "s", "s1", session)
    assert dispatch.take(100, one) == ("s", "s1")
    run(connection, "s1")
    dispatch.release(100, one, "s1")
    waiting_jobs(connection, dispatch, "f", 2)
    assert served(dispatch, 1, one) == ["f0"]  # the only worker: others keep it


def test_a_sessions_jobs_run_one_at_a_time_and_the_next_waits_for_the_first(
        connection: Connection, workers: str) -> None:
    dispatch = Dispatch(connection)
    session = dedicated(connection, "s")
    for n in (1, 2):
        session_job(connection, dispatch, "s", f"s{n}", session)
    assert dispatch.take(100, workers) == ("s", "s1")
    assert dispatch.take(100, workers) is None  # s2 waits for s1, like on the one device
    run(connection, "s1")
    assert dispatch.release(100, workers, "s1") == 1  # the parked token wakes for s2
    assert dispatch.take(100, workers) == ("s", "s2")


def test_a_cancelled_sessions_job_leaves_the_express_line(connection: Connection,
                                                          workers: str) -> None:
    dispatch = Dispatch(connection)
    session = dedicated(connection, "s")
    session_job(connection, dispatch, "s", "s1", session)
    session_job(connection, dispatch, "s", "s2", session)
    # it is lined up (the sweeper leaves it), second before every line
    assert dispatch.lined_up([("s", "s2")]) == {"s2"} and dispatch.position("s", "s2") == 2
    change(connection, "s2", JobStatus.CANCELLED)
    dispatch.forget("s", "s2")
    change(connection, "s1", JobStatus.CANCELLED)
    dispatch.forget("s", "s1")
    assert dispatch.take(100, workers) is None


def test_a_job_whose_worker_died_runs_again_ahead_of_the_lines(connection: Connection,
                                                               workers: str) -> None:
    """Its worker died running it: the sweeper queues it again (first), it keeps its place
    ahead of the lines, and its reservation is taken over, not leaked."""
    dispatch = Dispatch(connection)
    session = dedicated(connection, "s")
    session_job(connection, dispatch, "s", "s1", session)
    waiting_jobs(connection, dispatch, "f", 3)
    assert dispatch.take(100, workers) == ("s", "s1")
    change(connection, "s1", JobStatus.RUNNING,
           lease=("dead-worker", 60))
    change(connection, "s1", JobStatus.QUEUED)  # the sweeper
    dispatch.push("s", "s1", first=True, session_id=session)  # ... lines it up again
    assert dispatch.take(100, workers) == ("s", "s1")
    run(connection, "s1")
    dispatch.release(100, workers, "s1")
    (hold,) = SessionStore(connection).reservations([session])
    assert hold is not None and hold["busy"] == ""


def batch(connection: Connection, tenant: str) -> str:
    record = rules.new_record(tenant, "aer_simulator", "batch", 600, 60)
    SessionStore(connection).create(record, iso_to_micros(record["created"]), (5, 5),
                                    rules.event(record, "open"))
    return str(record["id"])


def test_a_batchs_jobs_are_dispatched_together_up_to_the_tenants_cap(
        connection: Connection, workers: str) -> None:
    dispatch = Dispatch(connection)
    waiting_jobs(connection, dispatch, "f", 5)
    assert served(dispatch, 1, workers) == ["f0"]
    together = batch(connection, "b")
    for n in range(4):
        session_job(connection, dispatch, "b", f"b{n}", together)
    # not b0, f1, b1, f2 as turns would go: the batch's jobs go out together
    assert served(dispatch, 4, workers) == ["b0", "b1", "b2", "b3"]
    assert served(dispatch, 1, workers) == ["f1"]
    Quotas(connection).set("c", "max_running", 2)
    capped = batch(connection, "c")
    for n in range(3):
        session_job(connection, dispatch, "c", f"c{n}", capped)
    assert served(dispatch, 3, workers) == ["c0", "c1", "f2"]  # c at its cap: f's turn


def test_a_job_taken_by_a_worker_that_died_before_starting_it_frees_the_reservation(
        connection: Connection, workers: str) -> None:
    """The worker took the session's job and died at once: the job waits again (in its
    tenant's line) and runs elsewhere; the reservation it held does not block the next one."""
    dispatch = Dispatch(connection, lease_grace=0.0)
    session = dedicated(connection, "s")
    session_job(connection, dispatch, "s", "s1", session)
    assert dispatch.take(100, workers) == ("s", "s1")  # ... and that worker is gone
    # the sweeper's passes: s1 waits again, and its token wakes (the next pass sees its line)
    assert sum(dispatch.wake_parked(100, workers) for _ in range(2)) == 1
    assert dispatch.take(100, workers) == ("s", "s1")  # another worker, from s's line
    run(connection, "s1")
    dispatch.release(100, workers)  # not taken from the express line here: no job id
    session_job(connection, dispatch, "s", "s2", session)
    assert dispatch.take(100, workers) == ("s", "s2")
