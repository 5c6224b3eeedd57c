"""Fair dispatch on a real Redis, without workers: the order tenants are served in, the running
cap, parked tokens and queue positions (`core/store/dispatch.py`, `lua/dispatch.lua`). Jobs
change status through the store's transition script, which keeps their place in step."""

from __future__ import annotations

import uuid

import pytest
import redis

from core.states import JobStatus
from core.store.connection import Connection
from core.store.dispatch import Dispatch
from core.store.jobs import JobStore
from core.store.quotas import Quotas

NO_WORKERS = "no-such-workers-set"


@pytest.fixture
def connection(redis_url: str) -> Connection:
    return Connection.open(redis_url, f"fair-{uuid.uuid4().hex[:8]}")


def waiting_jobs(connection: Connection, dispatch: Dispatch, tenant: str, count: int) -> list[str]:
    """`count` QUEUED job records of `tenant`, each pushed in its tenant's line."""
    store = JobStore(connection)
    ids = [f"{tenant}{i}" for i in range(count)]
    for job_id in ids:
        connection.text.hset(store.key(job_id), mapping={
            "id": job_id, "status": "QUEUED", "tenant": tenant, "score": 1})
        dispatch.push(tenant, job_id)
    return ids


def served(dispatch: Dispatch, count: int, cap: int = 100) -> list[str]:
    taken = [dispatch.take(cap, NO_WORKERS) for _ in range(count)]
    return [t[1] if t else "-" for t in taken]


def test_a_newcomer_is_served_before_a_flooders_backlog_then_in_turn(
        connection: Connection) -> None:
    dispatch = Dispatch(connection)
    waiting_jobs(connection, dispatch, "a", 10)
    assert served(dispatch, 2) == ["a0", "a1"]
    waiting_jobs(connection, dispatch, "b", 1)
    waiting_jobs(connection, dispatch, "c", 2)
    assert served(dispatch, 6) == ["b0", "c0", "a2", "c1", "a3", "a4"]


def test_a_tenant_at_its_running_cap_waits_and_a_jobs_end_wakes_a_parked_token(
        connection: Connection) -> None:
    dispatch = Dispatch(connection)
    Quotas(connection).set("a", "max_running", 1)
    waiting_jobs(connection, dispatch, "a", 3)
    waiting_jobs(connection, dispatch, "b", 1)
    assert served(dispatch, 3) == ["a0", "b0", "-"]  # a0 has not ended: a waits, b goes
    run(connection, "b0")
    assert dispatch.release(100, NO_WORKERS) == 0  # a is still at its cap
    assert served(dispatch, 1) == ["-"]  # another token parks: two now
    run(connection, "a0")
    assert dispatch.release(100, NO_WORKERS) == 1  # one slot: one token wakes
    assert served(dispatch, 2) == ["a1", "-"]


def test_a_started_job_counts_until_it_ends_or_is_queued_again(connection: Connection) -> None:
    dispatch = Dispatch(connection, lease_grace=0.0)  # no time to start: only started jobs count
    waiting_jobs(connection, dispatch, "a", 3)
    assert served(dispatch, 1, cap=1) == ["a0"]
    change(connection, "a0", JobStatus.RUNNING, lease=("worker-1", 60))
    assert served(dispatch, 1, cap=1) == ["-"]
    change(connection, "a0", JobStatus.QUEUED)  # handed back (and lined up again: not here)
    assert served(dispatch, 1, cap=1) == ["a1"]
    change(connection, "a1", JobStatus.RUNNING, lease=("worker-1", 60))
    assert served(dispatch, 1, cap=1) == ["-"]
    change(connection, "a1", JobStatus.DONE)  # ended, by any path
    assert served(dispatch, 1, cap=1) == ["a2"]


def test_the_default_cap_leaves_one_worker_for_the_others(connection: Connection,
                                                         redis_url: str) -> None:
    dispatch = Dispatch(connection)
    workers = f"{connection.prefix}:workers"
    redis.Redis.from_url(redis_url).sadd(workers, "w1", "w2", "w3")
    waiting_jobs(connection, dispatch, "a", 3)
    assert [dispatch.take(0, workers) is not None for _ in range(3)] == [True, True, False]


def test_cancelled_jobs_are_skipped_and_positions_count_every_tenants_turns(
        connection: Connection) -> None:
    dispatch = Dispatch(connection)
    a = waiting_jobs(connection, dispatch, "a", 4)
    b = waiting_jobs(connection, dispatch, "b", 2)
    # turns: a0 b0 a1 b1 a2 a3
    assert [dispatch.position("a", job) for job in a] == [1, 3, 5, 6]
    assert [dispatch.position("b", job) for job in b] == [2, 4]
    dispatch.forget("a", "a1")
    change(connection, "a0", JobStatus.CANCELLED)  # leaves its line as it changes
    assert dispatch.position("a", "a1") is None and dispatch.position("a", "a0") is None
    assert served(dispatch, 4) == ["a2", "b0", "a3", "b1"]
    assert served(dispatch, 1) == ["-"] and dispatch.waiting("a") == 0


def test_a_job_whose_worker_died_before_starting_it_waits_again(connection: Connection) -> None:
    dispatch = Dispatch(connection, lease_grace=0.0)
    waiting_jobs(connection, dispatch, "a", 2)
    assert served(dispatch, 1) == ["a0"]  # ... and that worker is gone: no lease, still QUEUED
    assert dispatch.wake_parked(100, NO_WORKERS) == 1  # a sweeper: one token to enqueue again
    assert served(dispatch, 1) == ["a0"]
    run(connection, "a0")  # this time
    assert dispatch.wake_parked(100, NO_WORKERS) == 0
    assert served(dispatch, 2) == ["a1", "-"]


def test_a_slow_worker_that_starts_a_job_waiting_again_keeps_it_counted(
        connection: Connection) -> None:
    dispatch = Dispatch(connection, lease_grace=0.0)
    waiting_jobs(connection, dispatch, "a", 2)
    assert served(dispatch, 1, cap=1) == ["a0"]
    assert dispatch.wake_parked(1, NO_WORKERS) == 1  # taken long ago: it waits again
    change(connection, "a0", JobStatus.RUNNING, lease=("slow-worker", 60))  # ... yet it starts
    assert served(dispatch, 1, cap=1) == ["-"]  # a0 runs: the cap holds
    change(connection, "a0", JobStatus.DONE)
    assert served(dispatch, 1, cap=1) == ["a0"]  # its second place in line: a start refused,
    dispatch.drop("a", "a0")  # ... so its worker drops it
    assert dispatch.wake_parked(1, NO_WORKERS) == 1  # the token parked above, for a1
    assert dispatch.position("a", "a0") is None  # a0 does not wait again
    assert served(dispatch, 2, cap=1) == ["a1", "-"]


def test_a_dispatcher_that_knows_no_tenant_yet_learns_them_from_the_script(
        connection: Connection) -> None:
    """Each process passes the keys of the tenants it last saw; another process's new tenants
    make the script ask again with theirs, and nothing is written by the call that missed them."""
    first, second = Dispatch(connection), Dispatch(connection)
    waiting_jobs(connection, first, "a", 2)
    assert served(first, 1) == ["a0"]
    waiting_jobs(connection, second, "b", 1)
    waiting_jobs(connection, second, "c", 1)
    assert served(first, 3) == ["b0", "c0", "a1"]
    assert [second.position(t, "x") for t in ("a", "zz")] == [None, None]
    assert served(second, 1) == ["-"]


def run(connection: Connection, job_id: str) -> None:
    change(connection, job_id, JobStatus.RUNNING, lease=("worker-1", 60))
    change(connection, job_id, JobStatus.DONE)


def change(connection: Connection, job_id: str, to: JobStatus,
           lease: tuple[str, float] | None = None) -> None:
    """The job's status changes as its transitions change it (`core/transitions.py`)."""
    assert JobStore(connection).transition(job_id, job_id[0], to, lease=lease).ok
