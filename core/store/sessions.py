"""Sessions and batches in Redis: their records, and what dispatch keeps for dedicated ones.

Keys (prefix `gw` by default), owned by this module:
    {p}:session:{id}            hash: the session (id, tenant, backend, mode, max_ttl,
                                interactive_ttl, created, started_at, ends (epoch s, max_ttl's
                                end), accepting_jobs "1"/"0", ended ('' while open, else
                                closed/cancelled/expired), closed_at, upstream_id on IBM)
    {p}:sessions:{tenant}       sorted set: the tenant's sessions by creation (µs), for listing
    {p}:sessions:open           sorted set: every open session, scored by when max_ttl ends it
                                (the sweeper ends those past it)
    {p}:sessions:dedicated      sorted set: open dedicated sessions by their end (overall cap)
    {p}:sessions:dedicated:{tenant}  the same, one tenant's (its cap)
The dispatch keys of dedicated sessions (`dispatch.py` and `lua/dispatch.lua` use them):
    {p}:fair:reserved           hash: session id -> JSON {tenant, busy, till, ttl, ends}: the
                                reservation of one worker. `busy` is the session's job running
                                ('' when none); an idle one lapses at `till` (interactive_ttl after
                                its last job ended), every one at `ends`
    {p}:fair:express            sorted set: waiting jobs of open dedicated sessions, served
                                ahead of every tenant's line, in submission order
    {p}:fair:express_of         hash: express job id -> JSON {session, tenant, ttl, ends}
    {p}:fair:batch_of           hash: waiting job id of a batch -> the batch's id (a tenant whose
                                next job is of the batch it just served is served again first)
Every record change goes through `Connection.durable` (a client is told of it).
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from core.store.connection import Connection, run_script
from core.store.records import plausible_id

_LUA = Path(__file__).with_name("lua")


def session_key(prefix: str, session_id: str) -> str:
    return f"{prefix}:session:{session_id}"


def sessions_key(prefix: str, name: str) -> str:
    """`open`, `dedicated`, or a tenant's own list (`{tenant}`, `dedicated:{tenant}`)."""
    return f"{prefix}:sessions:{name}"


def reservations_key(prefix: str) -> str:
    return f"{prefix}:fair:reserved"


def batch_key(prefix: str) -> str:
    return f"{prefix}:fair:batch_of"


def express_key(prefix: str, name: str = "") -> str:
    """The express line, or (`of`) the session and tenant of each job in it."""
    return f"{prefix}:fair:express" + (f"_{name}" if name else "")


class SessionStore:
    def __init__(self, connection: Connection) -> None:
        self.redis = connection.text
        self.prefix = connection.prefix
        self.durable = connection.durable
        self._create = self.redis.register_script((_LUA / "session_create.lua").read_text())
        self._end = self.redis.register_script((_LUA / "session_end.lua").read_text())

    def key(self, session_id: str) -> str:
        return session_key(self.prefix, session_id)

    def events_key(self, tenant: str) -> str:
        """The tenant's event stream (`jobs.py` owns its spelling: this is the same key)."""
        return f"{self.prefix}:t:{tenant}:events"

    def create(self, record: dict[str, Any], created_us: int, caps: tuple[int, int],
               event: dict[str, Any]) -> str:
        """Store a new session; 'ok', or which dedicated cap ('tenant', 'all') it would pass."""
        p, tenant = self.prefix, record["tenant"]
        flat = [str(part) for item in _encode(record).items() for part in item]
        pipe = self.redis.pipeline(transaction=False)
        run_script(self._create, [
            self.key(record["id"]), sessions_key(p, tenant), sessions_key(p, "open"),
            sessions_key(p, "dedicated"), sessions_key(p, f"dedicated:{tenant}"),
            self.events_key(tenant),
        ], [time.time(), record["ends"], created_us,
            "1" if record["mode"] == "dedicated" else "0", *caps, record["id"],
            json.dumps(event), *flat], pipe)
        (answer,) = self.durable.execute(pipe)
        return str(answer)

    def find(self, session_id: str) -> dict[str, Any] | None:
        if not plausible_id(session_id):
            return None
        raw = self.redis.hgetall(self.key(session_id))
        return _decode(raw) if raw else None  # type: ignore[arg-type]

    def end(self, record: dict[str, Any], how: str, at: str, event: dict[str, Any]) -> bool:
        """The session takes no more jobs; False when it had ended already. A cancelled or
        expired one frees its worker now, a closed one when its reservation lapses."""
        p = self.prefix
        pipe = self.redis.pipeline(transaction=False)
        run_script(self._end, [
            self.key(record["id"]), sessions_key(p, "open"), sessions_key(p, "dedicated"),
            sessions_key(p, f"dedicated:{record['tenant']}"), self.events_key(record["tenant"]),
            reservations_key(p),
        ], [record["id"], how, at, json.dumps(event), "0" if how == "closed" else "1"], pipe)
        (done,) = self.durable.execute(pipe)
        return bool(done)

    def note(self, tenant: str, event: dict[str, Any]) -> None:
        """A state change that writes nothing else (a session becoming active)."""
        self.redis.xadd(self.events_key(tenant), {"kind": "session", "data": json.dumps(event)},
                        maxlen=10000, approximate=True)

    def annotate(self, session_id: str, fields: dict[str, str]) -> None:
        self.redis.hset(self.key(session_id), mapping=fields)  # type: ignore[arg-type]

    def page(self, tenant: str, before: float, limit: int) -> list[tuple[str, float]]:
        """(id, created µs) of the tenant's sessions created before `before`, newest first."""
        top = "+inf" if before == float("inf") else f"({int(before)}"
        found = self.redis.zrevrangebyscore(sessions_key(self.prefix, tenant), top, "-inf",
                                            start=0, num=limit, withscores=True)
        return [(session_id, score) for session_id, score in found]  # type: ignore[union-attr]

    def many(self, session_ids: list[str]) -> list[dict[str, Any] | None]:
        pipe = self.redis.pipeline(transaction=False)
        for session_id in session_ids:
            pipe.hgetall(self.key(session_id))
        return [_decode(raw) if raw else None for raw in pipe.execute()]

    def reservations(self, session_ids: list[str]) -> list[dict[str, Any] | None]:
        """The dispatch reservation each session holds (None: none)."""
        if not session_ids:
            return []
        found = self.redis.hmget(reservations_key(self.prefix), session_ids)
        return [json.loads(raw) if raw else None for raw in found]  # type: ignore[union-attr]

    def past_end(self, now: float, most: int = 100) -> list[str]:
        """Open sessions whose max_ttl has passed (the sweeper ends them)."""
        return self.redis.zrangebyscore(sessions_key(self.prefix, "open"), "-inf", now,
                                        start=0, num=most)  # type: ignore[return-value]


def _encode(record: dict[str, Any]) -> dict[str, str]:
    return {name: ("1" if value else "0") if isinstance(value, bool) else
            ("" if value is None else str(value)) for name, value in record.items()}


def _decode(raw: dict[str, str]) -> dict[str, Any]:
    record: dict[str, Any] = {name: value or None for name, value in raw.items()}
    record["accepting_jobs"] = raw.get("accepting_jobs") == "1"
    for name in ("max_ttl", "interactive_ttl"):
        record[name] = int(raw[name]) if raw.get(name) else None
    record["ends"] = float(raw.get("ends") or 0)
    return record
