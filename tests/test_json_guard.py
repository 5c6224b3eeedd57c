"""Request bodies: JSON as the RFC has it, no deeper than the limit (no server needed)."""

from __future__ import annotations

import json

import pytest

from app.json_guard import load_json
from core.errors import LimitExceeded, MalformedJson


@pytest.mark.parametrize(("body", "depth"), [
    (b"[" * 33 + b"]" * 33, 33),
    (b"[" * 100_000 + b"]" * 100_000, 100_000),
    (b'{"a": ' * 40 + b"1" + b"}" * 40, 40),
])
def test_json_deeper_than_the_limit_is_over_it(body: bytes, depth: int) -> None:
    with pytest.raises(LimitExceeded) as refused:
        load_json(body, 32)
    assert refused.value.extra == {"limit": "json_depth", "value": depth, "maximum": 32,
                                   "setting": "GATEWAY_MAX_JSON_DEPTH"}


@pytest.mark.parametrize(("body", "words"), [
    (b"[NaN]", "NaN"), (b"[-Infinity]", "Infinity"), (b"[1e400]", "too large"),
    (b"[" + b"9" * 400 + b".5]", "too large"), (b"[" + b"9" * 5000 + b"]", "too large"),
    (b'["\\ud800"]', "surrogate"), (b'{"\\udfff": 1}', "surrogate"),
    (b"\xff\xfe", "not UTF-8"), (b"[1,]", "line 1, column 3 (char 2): a trailing comma"),
    (b'{"a":\n 1 2}', "line 2, column 4 (char 9): unexpected character, expected ','"),
])
def test_what_is_not_json_the_api_takes_is_refused(body: bytes, words: str) -> None:
    with pytest.raises(MalformedJson) as refused:
        load_json(body, 32)
    assert words in refused.value.detail


@pytest.mark.parametrize("value", [
    [[[1]]], {"circuit": "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[", "x": ["\\\"[[["]},
    ["\U0001f600 a pair in JSON is fine", 1e300, -2**60], [[0.1] for _ in range(10_000)],
    json.loads("[" * 32 + "]" * 32),
])
def test_json_within_the_limits_is_read(value: object) -> None:
    assert load_json(json.dumps(value).encode(), 32) == value
