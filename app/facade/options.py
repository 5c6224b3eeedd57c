"""The client's options as a gateway job's `options`.

Issue 24 gives the gateway every runtime option, as the nested dict of the library's names
(resilience_level, twirling, dynamical_decoupling, ...). Until that lands, the gateway's schema
takes only the options below; the rest are left out here (`dropped` says which), so that a
client's job runs rather than being refused for an option a simulator ignores anyway."""

from __future__ import annotations

from typing import Any

OPTIMIZATION_LEVEL = 0  # the client sends ISA circuits: the gateway keeps their layout as is


def native_options(client: dict[str, Any], cost: Any = None) -> dict[str, Any]:
    """The gateway job's options from the client's (and IBM's `cost`: max_execution_time)."""
    options: dict[str, Any] = {"optimization_level": OPTIMIZATION_LEVEL}
    seed = ((client.get("simulator") or {}).get("seed_simulator")
            if isinstance(client.get("simulator"), dict) else None)
    if isinstance(seed, int) and not isinstance(seed, bool) and seed >= 0:
        options["seed"] = seed
    limit = cost or client.get("max_execution_time")
    if isinstance(limit, int) and not isinstance(limit, bool) and limit > 0:
        options["max_execution_time"] = limit
    return options


def dropped(client: dict[str, Any]) -> list[str]:
    """The client's options the gateway does not take yet."""
    return sorted(set(client) - {"simulator", "max_execution_time"})
