"""`GET …/result?include=samples`: every shot's bitstring, built on request from the packed
shots the worker stored beside the result (`:samples`, see core/results.py `packed_samples`)."""

from __future__ import annotations

import base64
import json
from typing import Any

import numpy as np

from app.gateway import Gateway
from core.errors import LimitExceeded


def with_samples(gw: Gateway, job_id: str, result: bytes) -> bytes:
    """The result JSON with a `samples` list added to each sampler register."""
    stored = gw.store.blob(job_id, ":samples")
    if stored is None:  # an estimator (nothing to add), or a job from before samples were kept
        return result
    packed: list[dict[str, Any]] = json.loads(stored)
    total = sum(register["num_shots"] * int(np.prod(register["shape"], dtype=np.int64))
                for pub in packed for register in pub.values())
    limit = gw.config.MAX_RESULT_SAMPLES
    if total > limit:
        raise LimitExceeded.of(
            "include", f"this result has {total} samples; at most {limit} are sent "
            "(GATEWAY_MAX_RESULT_SAMPLES): read the counts, or ?format=runtime",
            "result_samples", total, limit, "GATEWAY_MAX_RESULT_SAMPLES")
    document = json.loads(result)
    for pub_result, registers in zip(document["pub_results"], packed, strict=True):
        for name, register in registers.items():
            pub_result["data"][name]["samples"] = bitstrings(register)
    return json.dumps(document, separators=(",", ":")).encode()


def bitstrings(register: dict[str, Any]) -> list[list[str]]:
    """Each parameter set's shots (C order over the broadcast shape, one set for no sweep), one
    bitstring per shot in shot order; bit 0 is the rightmost character, as in `counts` (and
    `BitArray.get_bitstrings()`)."""
    sets = int(np.prod(register["shape"], dtype=np.int64))
    shots, width = register["num_shots"], register["num_bits"]
    raw = np.frombuffer(base64.b64decode(register["bits"]), dtype=np.uint8)
    rows = raw.reshape(-1, (width + 7) // 8)
    distinct, inverse = np.unique(rows, axis=0, return_inverse=True)  # few distinct outcomes
    names = np.array([format(int.from_bytes(row.tobytes(), "big"), f"0{width}b")
                      for row in distinct], dtype=object)
    return names[inverse.reshape(-1)].reshape(sets, shots).tolist()
