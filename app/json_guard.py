"""Request bodies are read here: JSON as the RFC defines it, and no deeper than the limit.

Python's `json` accepts `NaN` and `Infinity` (JSON has no such numbers, and they would be served
back as invalid JSON), turns `1e400` into infinity, raises a bare ValueError on integers of
thousands of digits, hits the recursion limit on deep nesting, and decodes `"\\ud800"` into a
string no encoder takes. Each of these is refused here, as a 400 naming what is wrong. Parsing
stays in C (no per-number hooks: a 5 MB body of numbers must not cost the process seconds).
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

import numpy as np


class MalformedJson(ValueError):
    """The body is not JSON the API accepts; args[0] says why."""


def load_json(data: bytes | str, max_depth: int) -> Any:
    """The decoded body, or MalformedJson."""
    try:
        value = json.loads(data, parse_constant=_constant)
    except RecursionError:
        raise MalformedJson(f"JSON nested deeper than {max_depth} levels") from None
    except UnicodeDecodeError:
        raise MalformedJson("the body is not UTF-8") from None
    except json.JSONDecodeError as exc:
        raise MalformedJson(f"invalid JSON: {exc.msg} (line {exc.lineno}, column "
                            f"{exc.colno})") from None
    except ValueError as exc:  # an integer of more digits than int() takes
        raise MalformedJson(f"invalid JSON: {exc}") from None
    if _may_need_a_look(data if isinstance(data, bytes) else data.encode(), max_depth):
        check_value(value, max_depth)
    return value


_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"')  # alternatives never overlap: linear
_SURROGATE = re.compile(rb"\\u[dD][89a-fA-F]")
_BIG_EXPONENT = re.compile(rb"[eE][-+]?[0-9]{3}")
_BRACKETS = bytes.maketrans(b"[{]}", b"\x01\x01\xff\xff")
_NOT_BRACKETS = bytes(c for c in range(256) if c not in b"[]{}")
_DIGITS = bytes.maketrans(b"123456789", b"000000000")


def _may_need_a_look(data: bytes, max_depth: int) -> bool:
    """Whether the decoded body needs `check_value`, found at C speed from the text: a
    surrogate escape, a number that may overflow, or brackets nested deeper than the limit.
    A big body of plain numbers and strings (most of them) then costs no walk in Python."""
    if _SURROGATE.search(data) or _BIG_EXPONENT.search(data) or b"0" * 300 in data.translate(
            _DIGITS):
        return True
    brackets = _STRING.sub(b"", data).translate(_BRACKETS, _NOT_BRACKETS)
    steps = np.frombuffer(brackets, dtype=np.int8)
    return bool(steps.size) and int(np.cumsum(steps, dtype=np.int64).max()) > max_depth


def check_value(value: Any, max_depth: int) -> None:
    """No container deeper than `max_depth`, no string with a lone surrogate, no float that
    overflowed (`1e400`). Iterative, a deep value must not cost a deep stack; and what needs
    no look (integers, booleans, null: most of a big body) is skipped at C speed."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        kind = type(item)
        if kind is str:
            _check_text(item)
        elif kind is float:
            if not math.isfinite(item):
                raise MalformedJson(f"{item} is too large for a number")
        elif kind is list or kind is dict:
            if depth > max_depth:
                raise MalformedJson(f"JSON nested deeper than {max_depth} levels "
                                    "(GATEWAY_MAX_JSON_DEPTH)")
            children = [*item, *item.values()] if kind is dict else item
            stack.extend([(child, depth + 1) for child in children
                          if type(child) not in _PLAIN])


_PLAIN = frozenset({int, bool, type(None)})


def _check_text(text: str) -> None:
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            raise MalformedJson("a string holds invalid Unicode (a lone surrogate such as "
                                "\\ud800)") from None


def _constant(name: str) -> Any:
    raise MalformedJson(f"{name} is not a JSON number")
