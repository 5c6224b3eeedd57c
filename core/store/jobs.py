"""Jobs in Redis: records, status changes, events, logs, interim results, tags and indexes.

Keys (prefix `gw` by default), owned by this module:
    {p}:job:{id}            hash: the job record (status, timestamps, tenant, backend, ...)
    {p}:job:{id}:inputs     zlib-compressed JSON of the submitted program inputs
    {p}:job:{id}:result     zlib-compressed JSON of the normalised result
    {p}:job:{id}:runtime    zlib-compressed JSON in qiskit_ibm_runtime's RuntimeEncoder format
    {p}:job:{id}:samples    zlib-compressed JSON: a sampler's shots, packed (core/results.py)
    {p}:job:{id}:events     stream of events (status, interim, log, result, error): the job's
                            log lines and interim results are read from it
    {p}:t:{tenant}:{facet}  sorted sets indexing a tenant's jobs, scored by creation time (µs)
                            (`listing.py` pages through them)
    {p}:t:{tenant}:events   stream of every status change of the tenant's jobs
Everything about one job expires `retention` seconds after it reaches a final state. Every status
change is one call of `lua/transition.lua`, given every key it touches. The other families:
`leases.py` (running jobs), `idempotency.py`, `stats.py`, `snapshots.py` (device properties),
`api_keys.py`, `stream_tokens.py`, `rates.py`, `dispatch.py`, `quotas.py`, `ibm.py`,
`webhooks.py` (endpoints and the subscriptions a change reads) and `outbox.py` (the webhook
events a change posts).

On Redis Cluster: a job's own keys would share the tag `{p}:job:{{id}}`, a tenant's indexes and
stream the tag `{p}:t:{{tenant}}`; but one status change touches both, and the running set and
the stats, so the whole family must share one slot (a prefix with a hash tag, `{gw}`): Cluster
then adds failover, not sharding. Creating a job is a transaction over the same keys.
(Jobs logged before this version kept their log lines in `:logs` and `:interim` lists too;
`delete` still removes those.)
"""

from __future__ import annotations

import json
import time
import uuid
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from redis.client import Pipeline

from core import jsonable
from core.clock import iso_to_micros, now_iso
from core.documents import LIVE_FIELDS, assemble, static_json
from core.errors import JobNotFound
from core.states import ALLOWED_FROM, FINAL_STATES, TIMESTAMP_FIELD, JobStatus
from core.store.connection import BLOCK_SLICE_SECONDS, Connection, SentAlong, run_script
from core.store.dispatch import dispatched_key, waiting_key
from core.store.leases import lease_key, running_key
from core.store.outbox import notices_key, outbox_key
from core.store.records import compress, decode_record, encode_record, plausible_id
from core.store.stats import durations_key, transitions_key
from core.store.webhooks import subscriptions_key

_LUA = Path(__file__).with_name("lua")
BLOB_SUFFIXES = (":inputs", ":result", ":runtime", ":samples")  # what a tenant stores
INDEXED_FACETS = ("program_id", "backend", "session_id")
# Write fields onto a job record only while it exists (a deleted job must not come back).
_SET_IF_EXISTS = """
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
for i = 1, #ARGV, 2 do redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end
return 1
"""
# Append log lines and interim results (as events) only while the job exists, and let what
# is appended to a final job expire with it. KEYS[1] record, KEYS[2] events, ARGV[1] JSON
# [[event kind, event data], ...] (as transition.lua takes them).
_APPEND_IF_EXISTS = """
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
for _, entry in ipairs(cjson.decode(ARGV[1])) do
  redis.call('XADD', KEYS[2], '*', 'kind', entry[1], 'data', entry[2])
end
local ttl = redis.call('PTTL', KEYS[1])
if ttl > 0 then redis.call('PEXPIRE', KEYS[2], ttl) end
return 1
"""
Appends = Sequence[tuple[str, Any]]  # ("log", line) or ("interim", result), in order


def new_job_id() -> str:
    return uuid.uuid4().hex


def job_key(prefix: str, job_id: str) -> str:
    """The job record's key (`JobStore.key`; Lua scripts of other families get "" as a prefix)."""
    return f"{prefix}:job:{job_id}"


@dataclass(frozen=True)
class Transition:
    ok: bool
    previous: str  # status before the call ("" when the job does not exist)


class JobStore:
    """Reads and writes jobs; every status change is one atomic Lua call."""

    def __init__(self, connection: Connection, retention: int = 7 * 24 * 3600) -> None:
        self.redis = connection.text
        self.binary = connection.binary
        self.prefix = connection.prefix
        self.retention = retention
        self._transition = self.redis.register_script((_LUA / "transition.lua").read_text())
        self._set_if_exists = self.redis.register_script(_SET_IF_EXISTS)
        self._append_if_exists = self.redis.register_script(_APPEND_IF_EXISTS)
        self.blocking = connection.blocking  # long polls: a pool apart from short commands
        self.durable = connection.durable  # creations and final changes wait for a replica

    # -- keys -----------------------------------------------------------------------------
    def key(self, job_id: str, suffix: str = "") -> str:
        return f"{self.prefix}:job:{job_id}{suffix}"

    def index_key(self, tenant: str, facet: str, value: str = "") -> str:
        return f"{self.prefix}:t:{tenant}:{facet}" + (f":{value}" if value else "")

    def tenant_events_key(self, tenant: str) -> str:
        return f"{self.prefix}:t:{tenant}:events"

    def _index_keys(self, record: dict[str, Any]) -> list[str]:
        tenant = record["tenant"]
        keys = [self.index_key(tenant, "jobs"), self.index_key(tenant, "status", record["status"])]
        keys += [self.index_key(tenant, f, record[f]) for f in INDEXED_FACETS if record.get(f)]
        keys += [self.index_key(tenant, "tag", tag) for tag in record.get("tags") or []]
        return keys

    # -- create and read --------------------------------------------------------------------
    def create(
        self,
        record: dict[str, Any],
        inputs: dict[str, Any] | bytes,
        enqueue: Callable[[Pipeline, dict[str, Any]], None] | None = None,
    ) -> dict[str, Any]:
        """Store a new job, index it and log its first status; `enqueue` joins the transaction
        (given the pipeline and the record as stored). `inputs` as a document, or compressed
        already (`records.compress`). On a replica before this returns (`Connection.durable`):
        the client is told 202 next."""
        created = now_iso()
        record = {**record, "created": created, "updated": created}
        record["score"] = iso_to_micros(created)
        if record["status"] == JobStatus.QUEUED:
            record["queued"] = created
        job_id, tenant = record["id"], record["tenant"]
        event = json.dumps({"status": record["status"], "at": created})
        pipe = self.redis.pipeline(transaction=True)
        stored = encode_record(record)
        stored["doc"] = static_json(decode_record(stored))
        pipe.hset(self.key(job_id), mapping=stored)  # type: ignore[arg-type]
        blob = inputs if isinstance(inputs, bytes) else compress(inputs)
        pipe.set(self.key(job_id, ":inputs"), blob)  # type: ignore[arg-type]
        for index in self._index_keys(record):
            pipe.zadd(index, {job_id: record["score"]})
        pipe.xadd(self.key(job_id, ":events"), {"kind": "status", "data": event})
        pipe.xadd(
            self.tenant_events_key(tenant),
            {"kind": "status", "data": _tenant_event(job_id, record["status"], created)},
            maxlen=10000,
            approximate=True,
        )
        pipe.hincrby(transitions_key(self.prefix), record["status"], 1)
        if enqueue is not None:
            enqueue(pipe, record)
        self.durable.execute(pipe)
        return decode_record(stored)

    def get(self, job_id: str) -> dict[str, Any] | None:
        raw = self.redis.hgetall(self.key(job_id))
        return decode_record(raw) if raw else None

    def owned(self, tenant: str, job_id: str, along: SentAlong | None = None) -> dict[str, Any]:
        """The job if it exists and belongs to `tenant`; otherwise JobNotFound, alike for both.
        `along`: commands sent in the same round trip and settled first (a request's count)."""
        if along is None:
            record = self.get(job_id) if plausible_id(job_id) else None
        else:
            pipe = self.redis.pipeline(transaction=False)
            replies = along.queue(pipe)
            plausible = plausible_id(job_id)
            if plausible:
                pipe.hgetall(self.key(job_id))
            found = pipe.execute()
            along.settle(found[:replies])
            raw = found[replies] if plausible else None
            record = decode_record(raw) if raw else None
        if record is None or record["tenant"] != tenant:
            raise JobNotFound.of(job_id)
        return record

    def document(self, tenant: str, job_id: str, along: SentAlong | None = None) -> str | None:
        """The job's JSON document (what `GET /v1/jobs/{id}` answers) from the part kept ready
        beside its record (`doc`) and the record's live fields, read with `along` in one round
        trip: no schema, no decoding of the record. None for a job stored before documents were
        kept (read its record then). JobNotFound, as `owned`, for another tenant's job."""
        pipe = self.redis.pipeline(transaction=False)
        replies = along.queue(pipe) if along is not None else 0
        plausible = plausible_id(job_id)
        if plausible:
            pipe.hmget(self.key(job_id), ("tenant", "doc", *LIVE_FIELDS))
        found = pipe.execute() if len(pipe) else []
        if along is not None:
            along.settle(found[:replies])
        owner, static, *live = found[replies] if plausible else (None, None)
        if owner is None or owner != tenant:
            raise JobNotFound.of(job_id)
        return None if static is None else assemble(static, live)

    def fields(self, job_ids: Sequence[str], *names: str) -> list[dict[str, Any]]:
        """These fields of each job, decoded, in one round trip (a job gone: no fields)."""
        pipe = self.redis.pipeline(transaction=False)
        for job_id in job_ids:
            pipe.hmget(self.key(job_id), names)
        return [decode_record({name: value for name, value in zip(names, row, strict=True)
                               if value is not None}) for row in pipe.execute()]

    def blob(self, job_id: str, suffix: str) -> bytes | None:
        """Decompressed JSON bytes of `:inputs`, `:result` or `:runtime`."""
        data = self.binary.get(self.key(job_id, suffix))
        return zlib.decompress(data) if data else None  # type: ignore[arg-type]

    def get_with_inputs(self, job_id: str) -> tuple[dict[str, Any] | None, dict[str, Any]]:
        """The record and its inputs, in one round trip (what a worker reads to run a job)."""
        pipe = self.binary.pipeline(transaction=False)
        pipe.hgetall(self.key(job_id))
        pipe.get(self.key(job_id, ":inputs"))
        raw, data = pipe.execute()
        record = decode_record({k.decode(): v.decode() for k, v in raw.items()}) if raw else None
        return record, json.loads(zlib.decompress(data)) if data else {}

    def inputs(self, job_id: str) -> dict[str, Any]:
        data = self.blob(job_id, ":inputs")
        return json.loads(data) if data else {}

    # -- status -----------------------------------------------------------------------------
    def transition(
        self,
        job_id: str,
        tenant: str,
        to: JobStatus,
        fields: dict[str, Any] | None = None,
        blobs: dict[str, bytes] | None = None,
        event: tuple[str, Any] | None = None,
        appends: Appends = (),
        lease: tuple[str, float] | None = None,
        ran_for: float | None = None,
        notice: tuple[str, str] | None = None,
    ) -> Transition:
        """Move `job_id` (of `tenant`) to `to` if the table allows, with `fields`, `blobs`,
        `appends` (log lines and interim results) and an `event`, all in one round trip. A
        final change logs appends and event before its status event (a client that stops
        reading at a final status has seen everything), others after it. With `lease` (worker,
        seconds), the worker takes the job's lease; a final change drops it, remembering
        `ran_for` (for queue estimates). `notice` (webhook event, its id): posted to the webhook
        outbox with the change when the tenant's endpoints or the job's callback want it. A
        final change is on a replica before this returns (`Connection.durable`). Only
        `core/transitions.py` calls this."""
        now = now_iso()
        sources = sorted(ALLOWED_FROM[to])
        blob_keys = [self.key(job_id, suffix) for suffix in (blobs or {})]
        extra = encode_record(fields or {})
        keys = [self.key(job_id), self.key(job_id, ":events"), running_key(self.prefix),
                lease_key(self.prefix, job_id), transitions_key(self.prefix),
                durations_key(self.prefix), self.tenant_events_key(tenant),
                self.index_key(tenant, "status", to.value),
                waiting_key(self.prefix, tenant), dispatched_key(self.prefix, tenant),
                subscriptions_key(self.prefix, tenant), outbox_key(self.prefix),
                *(self.index_key(tenant, "status", s.value) for s in sources),
                self.key(job_id, ":inputs"), *blob_keys]
        args = [
            to.value, "," + ",".join(s.value for s in sources) + ",", now,
            TIMESTAMP_FIELD.get(to, ""), json.dumps(extra),
            "1" if to in FINAL_STATES else "0", self.retention, tenant,
            json.dumps({"status": to.value, "at": now}), _tenant_event(job_id, to.value, now),
            event[0] if event else "", jsonable.dumps(event[1]) if event else "",
            _appends(appends), _lease(lease),
            "" if ran_for is None else str(round(ran_for, 4)), 1,
            *(notice or ("", "")), f",{notice[0]}," if notice else "",
            *(blobs or {}).values(),
        ]
        if to in FINAL_STATES and self.durable.replicas:
            pipe = self.redis.pipeline(transaction=False)
            run_script(self._transition, keys, args, pipe)
            (ok, previous), = self.durable.execute(pipe)
        else:
            ok, previous = self._transition(keys=keys, args=args)
        return Transition(ok == "ok", previous)

    def status(self, job_id: str) -> str | None:
        return self.redis.hget(self.key(job_id), "status")

    def wait_final(self, job_id: str, timeout: float) -> str | None:
        """Block on the job's event stream until it is final or `timeout` runs out; the status."""
        deadline = time.monotonic() + timeout
        pipe = self.blocking.pipeline(transaction=False)
        pipe.hget(self.key(job_id), "status")
        pipe.xrevrange(self.key(job_id, ":events"), count=1)
        status, last = pipe.execute()
        last_id = last[0][0] if last else "0-0"
        while status and status not in FINAL_STATES:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            # short blocks: well under the client's socket timeout, and a deleted job is noticed
            block = max(1, int(min(remaining, BLOCK_SLICE_SECONDS) * 1000))
            reply = self.blocking.xread({self.key(job_id, ":events"): last_id}, block=block)
            for _stream, entries in reply or []:
                for entry_id, event in entries:
                    last_id = entry_id
                    if event.get("kind") == "status":
                        status = json.loads(event["data"])["status"]
            if not reply:
                status = self.blocking.hget(self.key(job_id), "status")
        return status

    # -- events, logs, interim results --------------------------------------------------------
    def append_event(self, job_id: str, kind: str, data: Any) -> None:
        self.redis.xadd(self.key(job_id, ":events"), {"kind": kind,
                                                      "data": jsonable.dumps(data)})

    def events(
        self, job_id: str, after: str = "-", count: int = 1000
    ) -> list[tuple[str, str, Any]]:
        start = after if after == "-" else f"({after}"
        entries = self.redis.xrange(self.key(job_id, ":events"), min=start, count=count)
        return [(eid, e["kind"], json.loads(e["data"])) for eid, e in entries]

    def append(self, job_id: str, appends: Appends) -> bool:
        """Log lines and interim results, each with its event, atomically; only while the job
        exists (a worker writing after a delete must not recreate keys that never expire)."""
        if not appends:
            return True
        return bool(self._append_if_exists(keys=[self.key(job_id), self.key(job_id, ":events")],
                                           args=[_appends(appends)]))

    def add_log(self, job_id: str, *lines: str) -> None:
        self.append(job_id, [("log", line) for line in lines])

    def logs(self, job_id: str) -> list[str]:
        """The job's log lines, from its events (they are read rarely; each was an event)."""
        return [data["line"] for data in self._events_of(job_id, "log")]

    def interim(self, job_id: str) -> list[Any]:
        """The job's interim results, one per finished PUB, from its events."""
        return self._events_of(job_id, "interim")

    def _events_of(self, job_id: str, kind: str) -> list[Any]:
        """The data of the job's events of `kind`, oldest first."""
        entries = self.redis.xrange(self.key(job_id, ":events"))
        return [json.loads(e["data"]) for _id, e in entries if e["kind"] == kind]

    # -- tags, delete ------------------------------------------------------------------------------
    def set_tags(self, job_id: str, tags: list[str]) -> None:
        """Replace the tags and their index entries in one transaction."""
        record = self.get(job_id)
        if record is None:
            raise JobNotFound.of(job_id)
        pipe = self.redis.pipeline(transaction=True)
        for tag in record["tags"]:
            pipe.zrem(self.index_key(record["tenant"], "tag", tag), job_id)
        for tag in tags:
            pipe.zadd(self.index_key(record["tenant"], "tag", tag), {job_id: record["score"]})
        pipe.hset(self.key(job_id), "tags", json.dumps(tags))
        pipe.execute()

    def delete(self, job_id: str) -> None:
        record = self.get(job_id)
        if record is None:
            return
        pipe = self.redis.pipeline(transaction=True)
        for index in self._index_keys(record):
            pipe.zrem(index, job_id)
        for suffix in ("", ":inputs", ":result", ":runtime", ":samples", ":events", ":logs",
                       ":interim"):
            pipe.delete(self.key(job_id, suffix))
        pipe.zrem(running_key(self.prefix), job_id)
        pipe.delete(notices_key(self.prefix, job_id))
        pipe.execute()

    def stored_bytes(self, tenant: str) -> int:
        """What the tenant's jobs keep here: inputs and results, compressed, as stored."""
        ids = self.redis.zrange(self.index_key(tenant, "jobs"), 0, -1)
        total = 0
        for start in range(0, len(ids), 500):
            pipe = self.binary.pipeline(transaction=False)
            for job_id in ids[start:start + 500]:
                for suffix in BLOB_SUFFIXES:
                    pipe.strlen(self.key(job_id, suffix))
            total += sum(pipe.execute())
        return total

    def annotate(self, job_id: str, fields: dict[str, Any]) -> bool:
        """Set fields on the record if the job still exists (a deleted job must not come back)."""
        flat = [item for pair in encode_record(fields).items() for item in pair]
        return bool(self._set_if_exists(keys=[self.key(job_id)], args=flat))

    def event_stream_key(self, job_id: str) -> str:
        return self.key(job_id, ":events")


def _append_entries(appends: Appends) -> list[tuple[str, str]]:
    """(event kind, event data) of each log line or interim result."""
    return [("log", json.dumps({"line": value})) if kind == "log" else
            ("interim", jsonable.dumps(value)) for kind, value in appends]


def _appends(appends: Appends) -> str:
    return json.dumps(_append_entries(appends), ensure_ascii=False)


def _lease(lease: tuple[str, float] | None) -> str:
    if lease is None:
        return ""
    worker, seconds = lease
    return json.dumps({"worker": worker, "ms": str(int(seconds * 1000)), "at": str(time.time())})


def _tenant_event(job_id: str, status: str, at: str) -> str:
    return json.dumps({"job_id": job_id, "status": status, "at": at})
