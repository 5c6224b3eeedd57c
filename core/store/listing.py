"""A tenant's jobs, page by page, from the index sorted sets `jobs.py` keeps as jobs change.

Each facet (`jobs`, `status:X`, `backend:X`, `tag:X`, ...) is a sorted set of job ids scored by
creation time; a page walks the smallest of the indexes a filter names, in one Lua call
(`lua/list.lua`), keeping ids found in all of them. Index entries of expired jobs are dropped as
a page meets them (from the indexes it walked), and by `prune_indexes` for the rest.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import redis

from core.store.jobs import INDEXED_FACETS, JobStore
from core.store.records import decode_record

LIST_SCRIPT = (Path(__file__).with_name("lua") / "list.lua").read_text()
LIST_SCAN_BUDGET = 5000  # index entries one walk may examine before it hands back a cursor
LIST_WALKS = 3  # walks one page may take past expired jobs before it answers short, with a cursor
Page = tuple[list[dict[str, Any]], tuple[int, str] | None]  # jobs, and the next page's cursor


def list_jobs(store: JobStore, tenant: str, filters: dict[str, Any],
              cursor: tuple[int, str] | None, limit: int) -> Page:
    """A page of the tenant's jobs, newest first, and the cursor of the next page (or None)."""
    indexes = [store.index_key(tenant, "jobs")]
    if filters.get("status"):
        indexes.append(store.index_key(tenant, "status", filters["status"]))
    indexes += [store.index_key(tenant, f, filters[f]) for f in INDEXED_FACETS if filters.get(f)]
    indexes += [store.index_key(tenant, "tag", tag) for tag in filters.get("tags") or []]
    indexes = _smallest_first(store.redis, indexes)
    after, before = filters.get("created_after"), filters.get("created_before")
    walk = store.redis.register_script(LIST_SCRIPT)
    jobs: list[dict[str, Any]] = []
    for _ in range(LIST_WALKS):
        reply = walk(keys=indexes, args=[
            before if before is not None else "+inf", after if after is not None else "-inf",
            cursor[0] if cursor else "", cursor[1] if cursor else "", limit - len(jobs) + 1,
            LIST_SCAN_BUDGET])
        found, cursor, gone = _page(store, reply, limit - len(jobs))
        jobs += found
        if not gone or cursor is None:
            break
        _drop(store, indexes, gone)  # the page is short of them: walk on, from its cursor
    return jobs, cursor


def _page(store: JobStore, reply: list[str], limit: int) -> tuple[
        list[dict[str, Any]], tuple[int, str] | None, list[str]]:
    """The jobs of one walk, the cursor after it, and the ids whose job has expired."""
    pairs = list(zip(reply[0::2], reply[1::2], strict=False))
    next_cursor = None
    if len(reply) % 2 == 1:  # the scan budget ran out: resume from the last entry examined
        next_cursor = (int(float(reply[-2])), reply[-1])
        pairs = pairs[:-1]
    elif len(pairs) > limit:
        pairs = pairs[:limit]
        next_cursor = (int(float(pairs[-1][1])), pairs[-1][0])
    pipe = store.redis.pipeline(transaction=False)
    for job_id, _score in pairs:
        pipe.hgetall(store.key(job_id))
    raws = pipe.execute()
    gone = [job_id for (job_id, _score), raw in zip(pairs, raws, strict=True) if not raw]
    return [decode_record(raw) for raw in raws if raw], next_cursor, gone


def _drop(store: JobStore, indexes: list[str], gone: list[str]) -> None:
    pipe = store.redis.pipeline(transaction=False)
    for key in indexes:
        pipe.zrem(key, *gone)
    pipe.execute()


def _smallest_first(client: redis.Redis, keys: list[str]) -> list[str]:
    if len(keys) == 1:
        return keys
    pipe = client.pipeline(transaction=False)
    for key in keys:
        pipe.zcard(key)
    sizes = pipe.execute()
    return [key for _size, key in sorted(zip(sizes, keys, strict=False))]


def unfinished(store: JobStore) -> list[str]:
    """Ids of every QUEUED or RUNNING job, across tenants (for the sweeper's checks). Walks the
    `status:` indexes; a tag named like one adds ids whose status the caller checks anyway."""
    found: set[str] = set()
    for status in ("QUEUED", "RUNNING"):
        pattern = store.index_key("*", "status", status)
        for key in store.redis.scan_iter(match=pattern, count=500, _type="zset"):
            found.update(store.redis.zrange(key, 0, -1))
    return sorted(found)


def prune_indexes(store: JobStore, batch: int = 1000) -> int:
    """Drop index entries of expired jobs (listing drops them too, but only from the indexes it
    walks). Looks only at entries older than the retention; returns how many it removed."""
    horizon = (time.time() - store.retention) * 1_000_000
    removed = 0
    for key in store.redis.scan_iter(match=f"{store.prefix}:t:*", count=500, _type="zset"):
        old = store.redis.zrangebyscore(key, "-inf", horizon, start=0, num=batch)
        if not old:
            continue
        pipe = store.redis.pipeline(transaction=False)
        for job_id in old:
            pipe.exists(store.key(job_id))
        gone = [job_id for job_id, alive in zip(old, pipe.execute(), strict=True) if not alive]
        if gone:
            removed += int(store.redis.zrem(key, *gone))
    return removed
