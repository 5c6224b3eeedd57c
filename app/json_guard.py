"""Request bodies are read here: JSON as the RFC defines it, and no deeper than the limit.

Python's `json` accepts `NaN` and `Infinity` (JSON has no such numbers, and they would be served
back as invalid JSON), turns `1e400` into infinity, raises a bare ValueError on integers of
thousands of digits, hits the recursion limit on deep nesting, and decodes `"\\ud800"` into a
string no encoder takes. Each of these is refused here, as a 400 naming what is wrong.
"""

from __future__ import annotations

import json
import math
from typing import Any

MAX_NUMBER_CHARS = 100  # a longer number literal is not a parameter value anyone means


class MalformedJson(ValueError):
    """The body is not JSON the API accepts; args[0] says why."""


def load_json(data: bytes | str, max_depth: int) -> Any:
    """The decoded body, or MalformedJson."""
    try:
        value = json.loads(data, parse_constant=_constant, parse_float=_float,
                           parse_int=_integer)
    except RecursionError:
        raise MalformedJson(f"JSON nested deeper than {max_depth} levels") from None
    except UnicodeDecodeError:
        raise MalformedJson("the body is not UTF-8") from None
    except json.JSONDecodeError as exc:
        raise MalformedJson(f"invalid JSON: {exc.msg} (line {exc.lineno}, column "
                            f"{exc.colno})") from None
    check_value(value, max_depth)
    return value


def check_value(value: Any, max_depth: int) -> None:
    """No container deeper than `max_depth`, no string with a lone surrogate (iterative: a
    deep value must not cost a deep stack)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            _check_text(item)
            continue
        if not isinstance(item, (list, dict)):
            continue
        if depth > max_depth:
            raise MalformedJson(f"JSON nested deeper than {max_depth} levels "
                                "(GATEWAY_MAX_JSON_DEPTH)")
        children = [*item.keys(), *item.values()] if isinstance(item, dict) else item
        stack.extend((child, depth + 1) for child in children
                     if isinstance(child, (str, list, dict)))


def _check_text(text: str) -> None:
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            raise MalformedJson("a string holds invalid Unicode (a lone surrogate such as "
                                "\\ud800)") from None


def _constant(name: str) -> Any:
    raise MalformedJson(f"{name} is not a JSON number")


def _float(text: str) -> float:
    if len(text) > MAX_NUMBER_CHARS:
        raise MalformedJson(f"a number of {len(text)} characters")
    value = float(text)
    if not math.isfinite(value):
        raise MalformedJson(f"{text} is too large for a number")
    return value


def _integer(text: str) -> int:
    if len(text) > MAX_NUMBER_CHARS:
        raise MalformedJson(f"a number of {len(text)} characters")
    return int(text)
