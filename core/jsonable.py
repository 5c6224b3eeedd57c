"""Documents made JSON-safe: numpy values as Python numbers, datetimes, complex numbers and
dataclasses as JSON's own types. Used by results, the catalog and IBM Quantum's replies."""

from __future__ import annotations

import dataclasses
import json
import math
from datetime import datetime
from typing import Any

import numpy as np


def jsonable(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    return value


def finite(document: Any) -> Any:
    """The document with null for each float that is not finite. JSON has no NaN or infinity,
    which Python writes anyway, and then a browser's JSON.parse refuses the whole document (a
    ZNE extrapolation can leave a standard deviation unbounded)."""
    if isinstance(document, float):
        return document if math.isfinite(document) else None
    if isinstance(document, dict):
        return {key: finite(value) for key, value in document.items()}
    if isinstance(document, (list, tuple)):
        return [finite(value) for value in document]
    return document


def dumps(document: Any, **options: Any) -> str:
    """json.dumps, always valid JSON: floats that are not finite become null (`finite`), the
    document walked only when it has one."""
    try:
        return json.dumps(document, allow_nan=False, **options)
    except ValueError:
        return json.dumps(finite(document), allow_nan=False, **options)


def plain(document: Any) -> Any:
    """JSON-safe: datetimes as RFC 3339 text, complex numbers as [real, imaginary], dataclasses
    as objects."""
    return json.loads(json.dumps(document, default=_plain_value))


def _plain_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    if isinstance(value, complex):
        return [value.real, value.imag]
    if hasattr(value, "tolist"):
        return value.tolist()
    return str(value)
