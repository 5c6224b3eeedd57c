"""Fair dispatch on a real Redis, without workers: the order tenants are served in, the running
cap, parked tokens and queue positions (`core/store/dispatch.py`, `lua/dispatch.lua`)."""

from __future__ import annotations

import uuid

import pytest
import redis

from core.store.connection import Connection
from core.store.dispatch import Dispatch
from core.store.jobs import JobStore
from core.store.leases import Leases
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
        connection.text.hset(store.key(job_id), mapping={"status": "QUEUED", "tenant": tenant})
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
    assert dispatch.release("b", "b0", 100, NO_WORKERS) == 0  # a is still at its cap
    assert served(dispatch, 1) == ["-"]  # another token parks: two now
    assert dispatch.release("a", "a0", 100, NO_WORKERS) == 1  # one slot: one token wakes
    assert served(dispatch, 2) == ["a1", "-"]


def test_a_running_job_counts_while_it_holds_its_lease_and_no_longer(
        connection: Connection) -> None:
    dispatch = Dispatch(connection, lease_grace=0.0)  # no time to take a lease: only leases count
    waiting_jobs(connection, dispatch, "a", 3)
    assert served(dispatch, 1, cap=1) == ["a0"]
    Leases(connection).hold("a0", "worker-1", 60)
    set_status(connection, "a0", "RUNNING")
    assert served(dispatch, 1, cap=1) == ["-"]
    Leases(connection).release("a0")  # as when the job ends, by any path
    set_status(connection, "a0", "DONE")
    assert served(dispatch, 1, cap=1) == ["a1"]


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
    set_status(connection, "a0", "CANCELLED")  # and not forgotten
    assert dispatch.position("a", "a1") is None
    assert served(dispatch, 4) == ["a2", "b0", "a3", "b1"]
    assert served(dispatch, 1) == ["-"] and dispatch.waiting("a") == 0


def test_a_job_whose_worker_died_before_starting_it_waits_again(connection: Connection) -> None:
    dispatch = Dispatch(connection, lease_grace=0.0)
    waiting_jobs(connection, dispatch, "a", 2)
    assert served(dispatch, 1) == ["a0"]  # ... and that worker is gone: no lease, still QUEUED
    assert dispatch.wake_parked(100, NO_WORKERS) == 1  # a sweeper: one token to enqueue again
    assert served(dispatch, 1) == ["a0"]
    set_status(connection, "a0", "DONE")  # run this time
    assert served(dispatch, 2) == ["a1", "-"]


def set_status(connection: Connection, job_id: str, status: str) -> None:
    connection.text.hset(JobStore(connection).key(job_id), "status", status)
