"""Request bodies are read here: JSON as the RFC defines it, and no deeper than the limit.

orjson reads it, in C and strictly: `NaN` and `Infinity` (JSON has no such numbers, and Python's
`json` would take them and serve them back as invalid JSON), numbers that overflow a double
(`1e400`), lone surrogates (`"\\ud800"`, a string no encoder takes) and bytes that are not UTF-8
are all errors, each refused here as a 400 naming what is wrong. Nesting is bounded before the
parse, from the text: a deep body costs one linear pass, never a deep stack. Parsing stays in C
(no per-value hooks): a 5 MB body of numbers must not hold the process.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import orjson

from core import collector


class MalformedJson(ValueError):
    """The body is not JSON the API accepts; args[0] says why."""


def load_json(data: bytes, max_depth: int) -> Any:
    """The decoded body, or MalformedJson."""
    if _nesting(data, max_depth) > max_depth:
        raise MalformedJson(f"JSON nested deeper than {max_depth} levels "
                            "(GATEWAY_MAX_JSON_DEPTH)")
    try:
        with collector.paused():
            return orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise MalformedJson(_explain(exc, data)) from None


_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"')  # alternatives never overlap: linear
_BRACKETS = bytes.maketrans(b"[{]}", b"\x01\x01\xff\xff")
_NOT_BRACKETS = bytes(c for c in range(256) if c not in b"[]{}")


def _nesting(data: bytes, max_depth: int) -> int:
    """How deep the brackets outside strings go, at C speed (0 when there are too few
    brackets to go over the limit: most bodies)."""
    if data.count(b"[") + data.count(b"{") <= max_depth:
        return 0
    brackets = _STRING.sub(b"", data).translate(_BRACKETS, _NOT_BRACKETS)
    steps = np.frombuffer(brackets, dtype=np.int8)
    return int(np.cumsum(steps, dtype=np.int64).max()) if steps.size else 0


_CONSTANTS = (b"NaN", b"Infinity", b"-Infinity")


def _explain(exc: orjson.JSONDecodeError, data: bytes) -> str:
    """orjson's message, said for the API's clients."""
    message = exc.msg
    found = next((c for c in _CONSTANTS if data.startswith(c, exc.pos)), None)
    if found is not None:
        return f"{found.decode().lstrip('-')} is not a JSON number"
    if "infinity" in message:
        return "a number is too large (over a 64-bit float)"
    if "UTF-8" in message:
        return "invalid JSON: the body is not UTF-8"
    if "surrogate" in message:
        return "a string holds invalid Unicode (a lone surrogate such as \\ud800)"
    return f"invalid JSON: {message} (line {exc.lineno}, column {exc.colno})"
