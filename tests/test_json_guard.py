"""Request bodies: JSON as the RFC has it, no deeper than the limit (no server needed)."""

from __future__ import annotations

import json

import pytest

from app.json_guard import MalformedJson, load_json


@pytest.mark.parametrize(("body", "words"), [
    (b"[" * 33 + b"]" * 33, "nested deeper"),
    (b"[" * 100_000 + b"]" * 100_000, "nested deeper"),
    (b'{"a": ' * 40 + b"1" + b"}" * 40, "nested deeper"),
    (b"[NaN]", "NaN"), (b"[-Infinity]", "Infinity"), (b"[1e400]", "too large"),
    (b"[" + b"9" * 400 + b".5]", "too large"), (b"[" + b"9" * 5000 + b"]", "too large"),
    (b'["\\ud800"]', "surrogate"), (b'{"\\udfff": 1}', "surrogate"),
    (b"\xff\xfe", "invalid JSON"), (b"[1,]", "invalid JSON"),
])
def test_what_is_not_json_the_api_takes_is_refused(body: bytes, words: str) -> None:
    with pytest.raises(MalformedJson, match=words):
        load_json(body, 32)


@pytest.mark.parametrize("value", [
    [[[1]]], {"circuit": "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[", "x": ["\\\"[[["]},
    ["\U0001f600 a pair in JSON is fine", 1e300, -2**60], [[0.1] for _ in range(10_000)],
    json.loads("[" * 32 + "]" * 32),
])
def test_json_within_the_limits_is_read(value: object) -> None:
    assert load_json(json.dumps(value).encode(), 32) == value
