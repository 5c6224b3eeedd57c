"""Which runtime options mean something on a local simulator: those that do not are refused
(422, the reason under the option's path), where the library would warn and drop them.

- `execution.meas_type` other than `classified`: kerneled and averaged IQ points come from a
  device's measurement traces; a simulator has none.
- On the ideal simulator (no noise), mitigation and noise handling have nothing to act on: an
  explicit `resilience_level` above 0, any `resilience.*` option, twirling or dynamical
  decoupling enabled, a repetition delay. The library's defaults (the estimator's
  `resilience_level` 1) are simply not applied there.
- On a noisy replica, `execution.rep_delay` must be within the device's `rep_delay_range`
  (its configuration, in seconds).
"""

from __future__ import annotations

from typing import Any

from core import catalog
from core.errors import InvalidJobInput

IDEAL_HAS_NO = "the ideal simulator has no noise"


def check_local(options: dict[str, Any], backend: dict[str, Any]) -> None:
    """InvalidJobInput naming every option with no meaning on this local simulator."""
    errors: dict[str, list[str]] = {}
    execution = options.get("execution") or {}
    if execution.get("meas_type", "classified") != "classified":
        errors["options.execution.meas_type"] = [
            f"{execution['meas_type']} returns IQ data from a device's measurement traces; a "
            "simulator has none: use classified (the default)"]
    if backend.get("noisy"):
        errors.update(_rep_delay(execution.get("rep_delay"), backend["name"]))
    else:
        errors.update(_on_ideal(options))
    if errors:
        first = next(iter(errors.items()))
        raise InvalidJobInput(f"{first[0]}: {first[1][0]}", errors=errors)


def _on_ideal(options: dict[str, Any]) -> dict[str, list[str]]:
    """Every mitigation or noise option given explicitly, with why it means nothing here."""
    found = {}
    if (options.get("resilience_level") or 0) > 0:
        found["options.resilience_level"] = [
            f"{IDEAL_HAS_NO} to mitigate: use resilience_level 0, or a noisy replica (fake_*)"]
    for name in options.get("resilience") or {}:
        found[f"options.resilience.{name}"] = [
            f"{IDEAL_HAS_NO} to mitigate: leave resilience out, or use a noisy replica"]
    twirling = options.get("twirling") or {}
    for name in ("enable_gates", "enable_measure"):
        if twirling.get(name):
            found[f"options.twirling.{name}"] = [
                f"{IDEAL_HAS_NO} for twirling to average out: use a noisy replica"]
    if (options.get("dynamical_decoupling") or {}).get("enable"):
        found["options.dynamical_decoupling.enable"] = [
            f"{IDEAL_HAS_NO} and no idle-qubit decoherence to decouple: use a noisy replica"]
    if (options.get("execution") or {}).get("rep_delay") is not None:
        found["options.execution.rep_delay"] = [
            "the ideal simulator has no repetition delay (a device's time between shots)"]
    return found


def _rep_delay(rep_delay: float | None, name: str) -> dict[str, list[str]]:
    if rep_delay is None:
        return {}
    conf = catalog.fake_backend(name).configuration()
    low, high = getattr(conf, "rep_delay_range", None) or (None, None)
    if not getattr(conf, "dynamic_reprate_enabled", False) or low is None or high is None:
        return {"options.execution.rep_delay": [
            f"{name} has no configurable repetition delay (dynamic_reprate_enabled is false)"]}
    if not low <= rep_delay <= high:
        return {"options.execution.rep_delay": [
            f"must be within {name}'s rep_delay_range, {low} to {high} seconds"]}
    return {}
