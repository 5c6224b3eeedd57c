"""Results, for every runtime: the API's JSON form of a primitive result (`normalise`), the
packed shots kept beside it, and qiskit_ibm_runtime's own JSON form (`runtime_json`). Storing a
result is a job's `finish` (`core/transitions.py`)."""

from __future__ import annotations

import base64
import functools
import io
import json
import math
import zlib
from typing import TYPE_CHECKING, Any

import numpy as np

from core.jsonable import jsonable

if TYPE_CHECKING:
    from qiskit.primitives import PrimitiveResult

def normalise(result: PrimitiveResult) -> dict[str, Any]:
    """The API's JSON form of a primitive result (for results not built PUB by PUB)."""
    return {"pub_results": [normalise_pub(p) for p in result],
            "metadata": jsonable(result.metadata)}


def normalise_pub(pub_result: Any) -> dict[str, Any]:
    from qiskit.primitives import BitArray

    data: dict[str, Any] = {}
    for name, value in pub_result.data.items():
        if isinstance(value, BitArray):  # counts per parameter set
            shape = list(value.shape)
            counts = counts_of(value) if not shape else _counts_array(value, shape)
            data[name] = {"counts": counts, "num_shots": value.num_shots,
                          "num_bits": value.num_bits}
            if shape:
                data[name]["shape"] = shape
        else:
            data[name] = jsonable(value)
    metadata = {k: v for k, v in pub_result.metadata.items() if k != "simulator_metadata"}
    if "evs" in data:
        _estimator_fields(data, metadata)
    return {"data": data, "metadata": jsonable(metadata)}


def _estimator_fields(data: dict[str, Any], metadata: dict[str, Any]) -> None:
    """What IBM Quantum's estimator results carry, for the simulator's too: one ensemble (no
    twirling), so its standard error is `stds`; the shots its precision stands for."""
    data.setdefault("ensemble_standard_error", data.get("stds"))
    precision = metadata.get("target_precision")
    if precision and "shots" not in metadata:
        metadata["shots"] = math.ceil(1 / float(precision) ** 2)


def packed_samples(pub_results: Any) -> list[dict[str, Any]]:
    """Every shot of each sampler register, packed as BitArray keeps them (a byte per 8 bits),
    stored beside the result for `?include=samples`: a client asks for them rarely."""
    from qiskit.primitives import BitArray

    return [{name: {"shape": list(value.shape), "num_shots": value.num_shots,
                    "num_bits": value.num_bits,
                    "bits": base64.b64encode(value.array.tobytes()).decode()}
             for name, value in pub_result.data.items() if isinstance(value, BitArray)}
            for pub_result in pub_results]


NARROW_BITS = 16  # registers this narrow are counted for every parameter set in one table,
NARROW_TABLE_CELLS = 1 << 22  # of at most this many sets x outcomes (32 MB)


def _counts_array(bits: Any, shape: list[int]) -> Any:
    sets = int(np.prod(shape))
    if bits.num_bits <= NARROW_BITS and sets << bits.num_bits <= NARROW_TABLE_CELLS:
        flat = _narrow_counts(bits, sets)
    else:
        flat = [counts_of(bits, index) for index in np.ndindex(*shape)]
    return np.array(flat, dtype=object).reshape(shape).tolist()


def _narrow_counts(bits: Any, sets: int) -> list[dict[str, int]]:
    """Each parameter set's counts from one bincount over them all (a sweep of a few-bit
    register costs one pass over the shots, not one per set)."""
    values = _as_integers(bits.array.reshape(sets, bits.num_shots, -1)).astype(np.int64)
    outcomes, width = 1 << bits.num_bits, bits.num_bits
    cells = np.arange(sets, dtype=np.int64)[:, None] * outcomes + values
    table = np.bincount(cells.ravel(), minlength=sets * outcomes).reshape(sets, outcomes)
    return [{format(int(value), f"0{width}b"): int(row[value]) for value in np.flatnonzero(row)}
            for row in table]


def counts_of(bits: Any, loc: tuple[int, ...] = ()) -> dict[str, int]:
    """`bits.get_counts(loc)`, by counting distinct shots first: BitArray formats every shot,
    which costs more than simulating a small circuit."""
    shots = bits.array[loc].reshape(-1, bits.array.shape[-1])
    width = bits.num_bits
    if shots.shape[1] <= 8:  # one 64-bit integer per shot: a flat unique, not one over rows
        values, times = np.unique(_as_integers(shots), return_counts=True)
        return {format(int(value), f"0{width}b"): int(n)
                for value, n in zip(values, times, strict=True)}
    rows, times = np.unique(shots, axis=0, return_counts=True)
    return {format(int.from_bytes(row.tobytes(), "big"), f"0{width}b"): int(n)
            for row, n in zip(rows, times, strict=True)}


def _as_integers(shots: Any) -> Any:
    """Each shot's bytes (at most 8, big-endian as BitArray packs them) as one uint64."""
    padded = np.zeros((*shots.shape[:-1], 8), dtype=np.uint8)
    padded[..., 8 - shots.shape[-1]:] = shots
    return padded.view(">u8")[..., 0]


def runtime_json(result: PrimitiveResult) -> str:
    """The result as qiskit_ibm_runtime's RuntimeEncoder writes it (for `?format=runtime`)."""
    return json.dumps(result, cls=_runtime_encoder())


@functools.cache
def _runtime_encoder() -> type[json.JSONEncoder]:
    from qiskit_ibm_runtime import RuntimeEncoder

    class Encoder(RuntimeEncoder):  # type: ignore[misc]
        """RuntimeEncoder, its arrays compressed at zlib's fastest level rather than its default
        (RuntimeDecoder reads either): on a sweep the default level is a visible part of the
        whole run."""

        def default(self, obj: Any) -> Any:
            if isinstance(obj, np.ndarray) and obj.dtype != object:
                with io.BytesIO() as buffer:
                    np.save(buffer, obj, allow_pickle=False)
                    packed = zlib.compress(buffer.getvalue(), 1)
                return {"__type__": "ndarray", "__value__": base64.b64encode(packed).decode()}
            return super().default(obj)

    return Encoder
