"""What the backend views do, for every provider (`core/providers`): the local simulators and
the account's IBM Quantum devices (from the cache the workers keep). Plain functions."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from app.gateway import Gateway


def backends(gw: Gateway) -> list[dict[str, Any]]:
    return gw.providers.backends()


def backend_summary(gw: Gateway, name: str) -> dict[str, Any]:
    """The backend's summary; BackendNotFound (or BackendsNotRead, while a provider cannot
    tell yet) when no provider has it."""
    return gw.providers.find(name)[1]


def backend_document(gw: Gateway, name: str, kind: str) -> Any:
    """`properties` or `configuration` of a backend (None for the ideal simulator)."""
    return gw.providers.find(name)[0].document(name, kind)
