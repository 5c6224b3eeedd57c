"""The client's options as a gateway job's `options` (issue 24's trees: the library's names).

SamplerV2/EstimatorV2 leave mitigation to the server: their options (resilience_level,
twirling, dynamical_decoupling, default_shots, ...) go to the gateway job as they are, and the
gateway's schema takes or refuses them as it does on /v1/jobs. The executor primitives apply
theirs on the client (its samplex items, its post-processing): of those only the simulator's
seed goes along, or the gateway would twirl or mitigate a second time."""

from __future__ import annotations

from typing import Any

OPTIMIZATION_LEVEL = 0  # the client sends ISA circuits: the gateway keeps their layout as is


def native_options(client: dict[str, Any], program: str, cost: Any = None) -> dict[str, Any]:
    """The gateway job's options: the client's, IBM's `cost` as max_execution_time, and
    optimization level 0. The client's `simulator.seed_simulator` is the gateway's own option
    too: its local runtime seeds the simulation with it (before the gateway's `seed`)."""
    if program == "executor":
        seed = (client.get("simulator") or {}).get("seed_simulator")
        options: dict[str, Any] = {"simulator": {"seed_simulator": seed}} if seed is not None \
            else {}
    else:
        options = dict(client)
    options["optimization_level"] = OPTIMIZATION_LEVEL
    if isinstance(cost, int) and not isinstance(cost, bool) and cost > 0:
        options["max_execution_time"] = cost
    return options
