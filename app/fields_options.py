"""The fields of a job's `options` (`app/schemas_options.py`) that marshmallow has no match
for: the library's unions ("auto" or a number, one extrapolator or a list of them), a strict
boolean, and the options the gateway refuses with a reason (`LEFT_OUT`). Each says how OpenAPI
describes it (`openapi`, read by `app/api.py`).
"""

from __future__ import annotations

import json
from typing import Any

from marshmallow import validate

from app.fields import Said, String

MAX_NOISE_FACTORS = 16  # list lengths are bounded so that checking options costs little
MAX_EXTRAPOLATED = 64
MAX_JOB_TAGS = 32
EXTRAPOLATORS = ["linear", "exponential", "double_exponential",
                 *(f"polynomial_degree_{k}" for k in range(1, 8)), "fallback"]
LOG_LEVELS = ["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]

# paths (below `options`) the library has and the gateway refuses, with the reason
LEFT_OUT = {
    "experimental": "experimental: the library may change them freely",
    "execution.scheduler_timing": "experimental in the library (subject to change without "
                                  "notice)",
    "execution.stretch_values": "experimental in the library (subject to change without "
                                "notice)",
    "environment.max_execution_time": "deprecated in the library; set options."
                                      "max_execution_time",
    "environment.image": "the runtime image is IBM's to choose",
    "simulator.angle_decimals": "an internal setting of the library's local "
                                "simulation",
    "simulator.warn_absent": "an internal setting of the library's local simulation",
    "simulator.layer_noise_model": "a learned noise model is a list of qiskit objects "
                                   "(box instructions, PauliLindbladMap), not JSON",
    "resilience.layer_noise_model": "a learned noise model is a list of qiskit objects "
                                    "(box instructions, PauliLindbladMap), not JSON; so PEC "
                                    "and PEA, which need one, cannot run here",
}


class Boolean(Said):
    """true or false, nothing else (not 1, not "yes")."""

    default_error_messages = {"invalid": "must be true or false"}
    openapi: dict[str, Any] = {"type": "boolean"}

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> bool:
        if not isinstance(value, bool):
            raise self.make_error("invalid")
        return value


class NumberOrAuto(Said):
    """A number at least `minimum` (an integer if `integer`), or "auto"."""

    def __init__(self, minimum: float, *, integer: bool = False, exclusive: bool = False,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.minimum, self.integer, self.exclusive = minimum, integer, exclusive
        kind = "an integer" if integer else "a number"
        bound = f"above {minimum}" if exclusive else f"at least {minimum}"
        self.error_messages["invalid"] = f'must be "auto" or {kind} {bound}'
        number: dict[str, Any] = {"type": "integer" if integer else "number"}
        number["exclusiveMinimum" if exclusive else "minimum"] = minimum
        self.openapi: dict[str, Any] = {"oneOf": [number, {"type": "string", "enum": ["auto"]}]}

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> Any:
        if value == "auto" and isinstance(value, str):
            return value
        if not _number(value, self.integer) or value < self.minimum or (
                self.exclusive and value == self.minimum):
            raise self.make_error("invalid")
        return value


class NumbersOrAuto(Said):
    """A list of numbers, each at least `minimum`, or "auto"."""

    def __init__(self, minimum: float, min_length: int, max_length: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.minimum, self.min_length, self.max_length = minimum, min_length, max_length
        self.error_messages["invalid"] = (
            f'must be "auto" or a list of {min_length} to {max_length} numbers, each at least '
            f"{minimum}")
        self.openapi: dict[str, Any] = {"oneOf": [
            {"type": "array", "items": {"type": "number", "minimum": minimum},
             "minItems": min_length, "maxItems": max_length},
            {"type": "string", "enum": ["auto"]}]}

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> Any:
        if value == "auto" and isinstance(value, str):
            return value
        if not isinstance(value, list) or not self.min_length <= len(value) <= self.max_length \
                or not all(_number(item) and item >= self.minimum for item in value):
            raise self.make_error("invalid")
        return value


class OneOrMany(Said):
    """One of `choices`, or a list of them."""

    def __init__(self, choices: list[str], max_length: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.choices, self.max_length = choices, max_length
        self.error_messages["invalid"] = (f"must be one of {', '.join(choices)}, or a list of "
                                          f"at most {max_length} of them")
        one = {"type": "string", "enum": choices}
        many = {"type": "array", "items": one, "minItems": 1, "maxItems": max_length}
        self.openapi: dict[str, Any] = {"oneOf": [one, many]}

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> Any:
        items = value if isinstance(value, list) else [value]
        if not 1 <= len(items) <= self.max_length or not all(
                isinstance(item, str) and item in self.choices for item in items):
            raise self.make_error("invalid")
        return value


class Refused(Said):
    """An option the library has and the gateway does not take: any value is refused."""

    refuses = True  # not listed among the fields an object takes

    def __init__(self, reason: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.error_messages["invalid"] = f"not taken: {reason}"
        self.openapi: dict[str, Any] = {"not": {}}

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> Any:
        raise self.make_error("invalid")


def _number(value: Any, integer: bool = False) -> bool:
    kinds = int if integer else (int, float)
    return isinstance(value, kinds) and not isinstance(value, bool) and value == value \
        and abs(value) != float("inf")


def said(description: str, default: Any) -> dict[str, Any]:
    """The description, ending with the library's default; the default also as `x-default`
    (not OpenAPI's `default`: generated clients would then make every such option required)."""
    return {"description": f"{description}. Default: {json.dumps(default)}",
            "x-default": default}


def choice(choices: list[Any], description: str, default: Any) -> String:
    return String(validate=validate.OneOf(choices), metadata=said(description, default))


def flag(description: str, default: bool | None) -> Boolean:
    return Boolean(allow_none=default is None, metadata=said(description, default))


def auto(description: str, minimum: float = 1, integer: bool = True) -> NumberOrAuto:
    return NumberOrAuto(minimum, integer=integer, metadata=said(description, "auto"))


def refused(path: str) -> Refused:
    return Refused(LEFT_OUT[path], metadata={"description": f"not taken: {LEFT_OUT[path]}"})
