"""The Redis data model on its own: retention, and the indexes that must forget expired jobs."""

from __future__ import annotations

import time

from core.states import JobStatus
from core.store.connection import Connection
from core.store.jobs import JobStore
from core.store.listing import list_jobs, prune_indexes
from tests.waiting import eventually


def test_final_jobs_expire_and_leave_no_index_entries(redis_url: str) -> None:
    store = JobStore(Connection.open(redis_url, "retention-test"), retention=1)
    record = {"id": f"r{time.time_ns()}", "tenant": "ret", "program_id": "sampler",
              "backend": "aer_simulator", "status": JobStatus.QUEUED, "tags": ["a"]}
    store.create(record, {"pubs": []})
    store.transition(record["id"], "ret", JobStatus.RUNNING)
    store.transition(record["id"], "ret", JobStatus.DONE, blobs={":result": b"x"})
    assert list_jobs(store, "ret", {}, None, 10)[0][0]["id"] == record["id"]
    eventually(lambda: store.get(record["id"]) is None
               and store.blob(record["id"], ":result") is None, 5, "the job to expire")
    assert list_jobs(store, "ret", {}, None, 10) == ([], None)  # listing drops what it walks
    tag_index = store.index_key("ret", "tag", "a")
    assert store.redis.zcard(tag_index) == 1  # not walked yet
    store.retention = 0  # everything is past the horizon now
    assert prune_indexes(store) >= 1
    assert store.redis.zcard(tag_index) == 0


def test_a_page_walks_on_past_expired_jobs(redis_url: str) -> None:
    store = JobStore(Connection.open(redis_url, "walk-test"))
    ids = [f"w{i}-{time.time_ns()}" for i in range(4)]
    for job_id in ids:
        store.create({"id": job_id, "tenant": "walk", "program_id": "sampler",
                      "backend": "aer_simulator", "status": JobStatus.QUEUED}, {"pubs": []})
    store.redis.delete(store.key(ids[3]), store.key(ids[2]))  # the newest two expired
    page, cursor = list_jobs(store, "walk", {}, None, 2)
    assert [job["id"] for job in page] == [ids[1], ids[0]] and cursor is None
    assert store.redis.zcard(store.index_key("walk", "jobs")) == 2


def test_rq_carries_only_a_dispatch_token_as_json(redis_url: str) -> None:
    import json
    import zlib

    import redis

    from core import queueing
    from core.store.dispatch import Dispatch

    raw = redis.Redis.from_url(redis_url)
    queue = queueing.job_queue(raw, "json-check")
    dispatch = Dispatch(Connection.open(redis_url, "json-check"))
    queueing.enqueue(queue, dispatch, "acme", "abc123", 1, 60)
    data = raw.hget("rq:job:abc123-1", "data")
    assert json.loads(zlib.decompress(data)) == ["workers.dispatch.run_next", None, [], {}]
    assert dispatch.waiting("acme") == 1
    queueing.remove(queue, dispatch, "acme", "abc123", 1)
    assert dispatch.waiting("acme") == 0 and queue.count == 0
