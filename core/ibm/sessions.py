"""Upstream sessions: a gateway session on an IBM device is one with an IBM Quantum session.

As qiskit-ibm-runtime does, the upstream session is created at once (`Session(backend)` and
`Batch(backend)` POST /sessions in their constructors), when the gateway session is created;
its jobs are sent with its id (`workers/runtimes/ibm/submit.py`), and closing (PATCH
accepting_jobs false) and cancelling (DELETE …/close) reach IBM. Its state and TTLs are read
back from IBM (`details`). Only public library calls: `Session`/`Batch`, `Session.from_id`.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from core.ibm.account import Account

KEPT = 64  # upstream session objects a process keeps (sending a job needs one)
# IBM's fields of GET /sessions/{id} that the gateway's answer takes from it, and their names
# in `Session.details()`
READ_BACK = {"state": "state", "accepting_jobs": "accepting_jobs", "max_ttl": "max_time",
             "interactive_ttl": "interactive_timeout", "active_ttl": "active_timeout",
             "started_at": "started_at", "activated_at": "activated_at",
             "closed_at": "closed_at", "last_job_started": "last_job_started",
             "last_job_completed": "last_job_completed", "elapsed_time": "usage_time"}


class UpstreamSessions:
    def __init__(self, account: Account) -> None:
        self.account = account
        self._kept: OrderedDict[str, Any] = OrderedDict()

    def create(self, backend_name: str, mode: str, max_ttl: int) -> str:
        """A new IBM Quantum session (dedicated) or batch on the device; its id."""
        from qiskit_ibm_runtime import Batch, Session

        backend = self.account.backend(backend_name)
        kind = Session if mode == "dedicated" else Batch
        made = self.account.call(f"creating a {mode} session on {backend_name}", kind,
                                 backend, max_ttl)
        self._keep(made)
        return str(made.session_id)

    def session(self, upstream_id: str) -> Any:
        """The library's session object, to send a job in (read once per process)."""
        if upstream_id in self._kept:
            self._kept.move_to_end(upstream_id)
            return self._kept[upstream_id]
        from qiskit_ibm_runtime import Session

        found = self.account.call("reading the session", Session.from_id, upstream_id,
                                  self.account.service())
        self._keep(found)
        return found

    def end(self, upstream_id: str, how: str) -> None:
        """`closed`: IBM takes no new jobs, its queued ones run; otherwise they are cancelled."""
        upstream = self.session(upstream_id)
        if how == "closed":
            self.account.call("closing the session", upstream.close)
        else:
            self.account.call("cancelling the session", upstream.cancel)

    def details(self, upstream_id: str) -> dict[str, Any]:
        """IBM's own answer about the session (`Session.details()`), in its REST API's names."""
        found = self.account.call("reading the session", self.session(upstream_id).details)
        return {name: (found or {}).get(theirs) for name, theirs in READ_BACK.items()
                if theirs in (found or {})}

    def _keep(self, upstream: Any) -> None:
        self._kept[str(upstream.session_id)] = upstream
        while len(self._kept) > KEPT:
            self._kept.popitem(last=False)
