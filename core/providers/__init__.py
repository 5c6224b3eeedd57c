"""Where jobs run: one object per provider, and the registry that picks one for a backend.

A provider answers everything the API and the workers ask that differs between the local
simulators and IBM Quantum: its catalog, its admission checks, how a job is lined up to run and
withdrawn, and the operations that go upstream while a job is not final (cancel, tags, live
metrics, queue position). Workers run a provider's jobs from the RQ task it names (`task`).

Adding a provider (another cloud, another simulator) is one module with a class that has the
methods of `Provider`, and one line in `Providers.build`: the API, the workers and the job
transitions (`core/transitions.py`) ask the registry, never a provider by name.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

from core.errors import BackendNotFound

if TYPE_CHECKING:
    from redis.client import Pipeline
    from rq import Queue

    from core.admission import Inspection
    from core.config import Config
    from core.ibm.context import Ibm
    from core.store.dispatch import Dispatch
    from core.store.leases import Leases
    from core.store.stats import Stats


class Provider(Protocol):
    name: str  # what a job record's `provider` says
    imports: bool  # it can follow jobs submitted elsewhere (`import_job`)

    @property
    def recovers(self) -> bool:
        """This process can recover its jobs (`troubles`)."""

    # -- the catalog ----------------------------------------------------------------------------
    def backends(self) -> list[dict[str, Any]]: ...

    def backend(self, name: str) -> dict[str, Any] | None:
        """The backend's summary, None when it is not this provider's (BackendsNotRead when
        it cannot tell yet)."""

    def document(self, name: str, kind: str) -> Any:
        """`properties` or `configuration` of one of its backends (None when it has none)."""

    def readiness(self) -> tuple[str, dict[str, Any] | None, str | None]:
        """Its state in a few words, details for /readyz, and why it cannot take jobs yet."""

    # -- admission ------------------------------------------------------------------------------
    def limits(self) -> dict[str, Any]:
        """The limits of its own that `GET /v1/backends/{name}` shows beside the gateway's."""

    def admit(self, program_id: str, pubs: list[dict[str, Any]],
              inspection: Inspection, backend: dict[str, Any],
              options: dict[str, Any] | None = None) -> None:
        """Its own checks of a parsed job (the cost model, uniform shots)."""

    def check_options(self, program_id: str, options: dict[str, Any],
                      backend: dict[str, Any]) -> None:
        """InvalidJobInput naming each runtime option that has no meaning on this backend
        (their shape and the library's own rules are checked before)."""

    def check_room(self, tenant: str) -> None:
        """QuotaExceeded when the tenant may not line up one more job here."""

    def usage_estimation(self, inspection: Inspection, backend: dict[str, Any]) -> dict[str, Any]:
        """A job's `usage_estimation` (`quantum_seconds`: what it is expected to run)."""

    # -- a job's line -----------------------------------------------------------------------------
    def line_up(self, record: dict[str, Any], attempt: int, pipe: Pipeline | None = None,
                first: bool = False) -> None:
        """Make sure something will run the QUEUED job (in `pipe`'s transaction if given);
        `first`: before the tenant's other waiting jobs (a retry)."""

    def withdraw(self, record: dict[str, Any]) -> None:
        """A cancelled or deleted job stops waiting."""

    # -- upstream, while the job is not final ---------------------------------------------------
    def cancel(self, record: dict[str, Any]) -> None:
        """Cancel where it runs first (a refusal raises, and the job stays as it is)."""

    def update_tags(self, record: dict[str, Any], tags: list[str]) -> None: ...

    def live_metrics(self, record: dict[str, Any]) -> dict[str, Any] | None: ...

    def queue_info(self, record: dict[str, Any]) -> dict[str, Any]: ...

    # -- sessions (`core/sessions.py`) -------------------------------------------------------------
    def open_session(self, backend: str, mode: str, max_ttl: int) -> str | None:
        """The upstream session a new gateway session is one with (None: the gateway's own)."""

    def end_session(self, upstream_id: str, how: str) -> None:
        """Close (`closed`) or cancel the upstream session."""

    def session_details(self, upstream_id: str) -> dict[str, Any]:
        """The upstream session's state and TTLs, as IBM's REST API names them."""

    # -- recovery (the workers' sweeper) ----------------------------------------------------------
    def troubles(self, jobs: list[dict[str, Any]]) -> dict[str, str]:
        """Of these jobs of its own (id, status, tenant, rq_attempt), not final and unchanged
        for a lease period, what would keep each from moving on: "unwatched" (RUNNING where no
        sweeper looks), or a word for "nothing will run it" that `Transitions.reline` cures."""

    def sweep(self, stats: Stats) -> None:
        """Its own chores at every pass of every worker's sweeper."""


class Providers:
    """Every provider of this gateway, asked in order: the first that knows a backend runs it."""

    def __init__(self, *providers: Provider) -> None:
        self.all = providers
        self._by_name = {provider.name: provider for provider in providers}

    @classmethod
    def build(cls, config: Config, queue: Queue, dispatch: Dispatch, stats: Stats,
              leases: Leases, ibm: Ibm) -> Providers:
        from core.providers.ibm import IbmQuantum
        from core.providers.local import LocalSimulators

        local = LocalSimulators(config, queue, dispatch, stats, leases, ibm.store)
        return cls(local, IbmQuantum(ibm))

    def backends(self) -> list[dict[str, Any]]:
        return [backend for provider in self.all for backend in provider.backends()]

    def find(self, name: str) -> tuple[Provider, dict[str, Any]]:
        """The provider of a backend, and the backend's summary; BackendNotFound if none."""
        for provider in self.all:
            found = provider.backend(name)
            if found is not None:
                return provider, found
        raise BackendNotFound(f"No backend named '{name}'; GET /v1/backends lists them.")

    def importer(self) -> Any:
        """The provider that imports jobs submitted elsewhere (`POST /v1/jobs/import`)."""
        return next(provider for provider in self.all if provider.imports)

    def of(self, record: dict[str, Any]) -> Provider:
        """The provider a job was submitted to."""
        return self._by_name[record.get("provider") or "local"]
