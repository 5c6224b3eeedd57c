"""Request bodies are read here: JSON as the RFC defines it, and no deeper than the limit.

orjson reads it, in C and strictly: `NaN` and `Infinity` (JSON has no such numbers, and Python's
`json` would take them and serve them back as invalid JSON), numbers that overflow a double
(`1e400`), lone surrogates (`"\\ud800"`, a string no encoder takes) and bytes that are not UTF-8
are all errors, each refused here as a 400 naming what is wrong and where. Nesting is bounded
before the parse, from the text (a 422 `limit-exceeded`): a deep body costs one linear pass, never
a deep stack. Parsing stays in C (no per-value hooks): a 5 MB body of numbers must not hold the
process.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import orjson

from core import collector
from core.errors import LimitExceeded, MalformedJson


def load_json(data: bytes, max_depth: int) -> Any:
    """The decoded body; MalformedJson, or LimitExceeded when it is nested too deep."""
    depth = _nesting(data, max_depth)
    if depth > max_depth:
        raise LimitExceeded(f"the JSON body is nested {depth} levels deep; at most {max_depth} "
                            "(GATEWAY_MAX_JSON_DEPTH)", limit="json_depth", value=depth,
                            maximum=max_depth, setting="GATEWAY_MAX_JSON_DEPTH")
    try:
        with collector.paused():
            return orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise MalformedJson(f"invalid JSON at line {exc.lineno}, column {exc.colno} (char "
                            f"{exc.pos}): {_explain(exc, data)}", line=exc.lineno,
                            column=exc.colno) from None


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
    """orjson's message, said for the API's clients (its words say what was expected)."""
    message = exc.msg
    found = next((c for c in _CONSTANTS if data.startswith(c, exc.pos)), None)
    if found is not None:
        return f"{found.decode().lstrip('-')} is not a JSON number"
    if "infinity" in message:
        return "a number is too large (over a 64-bit float)"
    if "UTF-8" in message:
        return "the body is not UTF-8"
    if "surrogate" in message:
        return "a string holds invalid Unicode (a lone surrogate such as \\ud800)"
    if "zero-length" in message:
        return "the body is empty (expected a JSON object)"
    if "trailing comma" in message:
        return ("a trailing comma (expected another value after ',', or no ',' before the "
                "closing bracket)")
    return message
