"""IBM Quantum's `/sessions` routes for the tests' stand-in (`tests/ibm_standin.py`): create
(POST), read (GET), close (PATCH accepting_jobs false) and cancel (DELETE …/close), as
qiskit-ibm-runtime's `Session`, `Batch` and `Session.from_id` call them."""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any


def _iso(moment: float | None) -> str | None:
    if moment is None:
        return None
    return datetime.fromtimestamp(moment, UTC).isoformat(timespec="milliseconds").replace(
        "+00:00", "Z")


@dataclass
class UpstreamSession:
    id: str
    backend: str
    mode: str
    max_ttl: int
    interactive_ttl: int = 45
    created: float = field(default_factory=time.time)
    accepting_jobs: bool = True
    state: str = "open"
    closed_at: float | None = None
    activated_at: float | None = None

    def view(self) -> dict[str, Any]:
        end = self.closed_at or time.time()
        return {"id": self.id, "backend_name": self.backend, "mode": self.mode,
                "state": self.state, "accepting_jobs": self.accepting_jobs,
                "max_ttl": self.max_ttl, "interactive_ttl": self.interactive_ttl,
                "active_ttl": self.interactive_ttl if self.state == "active" else None,
                "started_at": _iso(self.created), "activated_at": _iso(self.activated_at),
                "closed_at": _iso(self.closed_at), "last_job_started": None,
                "last_job_completed": None, "elapsed_time": round(end - self.created, 3),
                "timestamps": []}


class SessionRoutes:
    """Mixed into the stand-in's request handler (`owner`, `_answer` are its)."""

    owner: Any

    def _answer(self, status: int, payload: Any, text: bool = False,
                headers: dict[str, str] | None = None) -> int:
        raise NotImplementedError

    def create_session(self, query: Any, body: bytes) -> int:
        payload = json.loads(body)
        made = UpstreamSession(id=f"s{uuid.uuid4().hex[:19]}", backend=payload["backend"],
                               mode=payload.get("mode", "dedicated"),
                               max_ttl=int(payload.get("max_ttl") or 28800))
        with self.owner.lock:
            self.owner.sessions[made.id] = made
        return self._answer(200, made.view())

    def get_session(self, session_id: str, query: Any, body: bytes) -> int:
        found = self.owner.sessions.get(session_id)
        if found is None:
            return self._no_session(session_id)
        return self._answer(200, found.view())

    def close_session(self, session_id: str, query: Any, body: bytes) -> int:
        found = self.owner.sessions.get(session_id)
        if found is None:
            return self._no_session(session_id)
        if json.loads(body).get("accepting_jobs") is False:
            with self.owner.lock:
                found.accepting_jobs, found.state = False, "closed"
                found.closed_at = found.closed_at or time.time()
        return self._answer(204, "", text=True)

    def cancel_session(self, session_id: str, query: Any, body: bytes) -> int:
        found = self.owner.sessions.get(session_id)
        if found is None:
            return self._no_session(session_id)
        with self.owner.lock:
            found.accepting_jobs, found.state = False, "closed"
            found.closed_at = found.closed_at or time.time()
            pending = [job.id for job in self.owner.jobs.values()
                       if job.session_id == session_id]
        for job_id in pending:
            self.owner.cancel(job_id)
        return self._answer(204, "", text=True)

    def _no_session(self, session_id: str) -> int:
        return self._answer(404, {"errors": [{"code": 1217,
                                              "message": f"Session not found: {session_id}"}]})
