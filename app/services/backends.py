"""What the backend views do: the local simulators and the account's IBM Quantum devices (from
the cache the workers keep), and the account's health for /readyz. Plain functions."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from core import catalog
from core.errors import BackendNotFound, BackendsNotRead
from core.ibm.upstream import PROVIDER
from core.results import plain

if TYPE_CHECKING:
    from app.gateway import Gateway


def backends(gw: Gateway) -> list[dict[str, Any]]:
    local = list(catalog.local_backends().values())
    return local + (gw.ibm.state.backends() if gw.config.IBM_TOKEN else [])


def backend_summary(gw: Gateway, name: str) -> dict[str, Any]:
    """A local backend, else one of the account's devices (from the cache)."""
    try:
        return catalog.backend_summary(name)
    except BackendNotFound:
        if not gw.config.IBM_TOKEN:
            raise
        found = gw.ibm.state.backend(name)
        if found is None and not gw.ibm.state.backends_read():
            raise BackendsNotRead(
                f"The IBM Quantum account's devices are not known yet (the gateway is starting):"
                f" {name!r} may be one of them. Try again in a few seconds.") from None
        if found is None:
            raise
        return found


def backend_document(gw: Gateway, name: str, kind: str) -> Any:
    """`properties` or `configuration` of a backend (None for the ideal simulator)."""
    if backend_summary(gw, name)["provider"] == PROVIDER:
        return gw.ibm.state.backend_document(name, kind)
    if kind == "properties":
        return catalog.backend_properties(name)
    if name == catalog.IDEAL:
        return None
    return plain(catalog.fake_backend(name).configuration().to_dict())


def readiness(gw: Gateway) -> tuple[str, dict[str, Any] | None, str | None]:
    """The account's state in a few words, the details when one is configured, and why the
    gateway cannot take IBM jobs yet (None once it can): it must have read the account's devices
    once, or have failed to in a way it reports (the account marked unhealthy)."""
    if not gw.config.IBM_TOKEN:
        return "not configured (no QISKIT_IBM_TOKEN): local simulators only", None, None
    side = gw.ibm
    health = side.state.health()
    status = health.get("status", "unknown (not reached yet)")
    if health.get("reason"):
        status = f"{status}: {health['reason']}"
    read = side.state.backends_read()
    waiting = None if read or health.get("status") == "unhealthy" else (
        "the IBM Quantum account's devices are not read yet")
    return status, {"since": health.get("at"), "jobs_followed": side.state.following(),
                    "devices_read": read,
                    "backends": [b["name"] for b in side.state.backends()]}, waiting
