"""How a job lies in Redis: its record as strings in a hash, a few fields as JSON, its JSON
document (what `GET /v1/jobs/{id}` answers) in the hash's `doc` field, and its documents
(inputs, results) as compressed JSON (no keys here)."""

from __future__ import annotations

import json
import re
import zlib
from enum import Enum
from typing import Any

from core import jsonable

JSON_FIELDS = ("tags", "options", "usage_estimation", "metrics", "backend_info")


def plausible_id(job_id: str) -> bool:
    return _PLAUSIBLE_ID.fullmatch(job_id) is not None


_PLAUSIBLE_ID = re.compile(r"[\w-]{1,64}")  # \w: what str.isalnum() accepts, and "_"


def encode_record(record: dict[str, Any]) -> dict[str, str]:
    out = {}
    for field, value in record.items():
        if value is None:
            continue
        if isinstance(value, Enum):
            value = value.value
        out[field] = json.dumps(value) if field in JSON_FIELDS else str(value)
    return out


def decode_record(raw: dict[str, str]) -> dict[str, Any]:
    """The record from its hash; without `doc`, the job's JSON document kept beside it."""
    record: dict[str, Any] = dict(raw)
    record.pop("doc", None)
    for field in JSON_FIELDS:
        if field in record:
            record[field] = json.loads(record[field])
    record.setdefault("tags", [])
    record["score"] = int(record.get("score", 0))
    record["attempts"] = int(record.get("attempts", 0))
    return record


def compress(document: Any, level: int = 6) -> bytes:
    """A document as the store keeps it: compact JSON (valid: no NaN), zlib-compressed."""
    return zlib.compress(jsonable.dumps(document, separators=(",", ":")).encode(), level)
