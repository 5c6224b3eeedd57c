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
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from qiskit.primitives import PrimitiveResult

RESULT_METADATA = {"version": 2}  # results of V2 primitives, whatever the backend


def normalise(result: PrimitiveResult) -> dict[str, Any]:
    """The API's JSON form of a whole primitive result (one not built PUB by PUB: IBM Quantum's,
    whose executor primitives keep the shots and precision in the job's metadata)."""
    return {"pub_results": [normalise_pub(p, result.metadata) for p in result],
            "metadata": dict(RESULT_METADATA)}


def normalise_pub(pub_result: Any, job_metadata: Mapping[str, Any] | None = None
                  ) -> dict[str, Any]:
    """One PUB's result in the API's JSON form, whose every member has one JSON type whatever
    the input and the backend: generated clients need no branches (API.md, "Results")."""
    from qiskit.primitives import BitArray

    registers = {name: value for name, value in pub_result.data.items()
                 if isinstance(value, BitArray)}
    if registers:  # a sampler circuit measures into at least one register
        return _sampler_pub(registers)
    return _estimator_pub(pub_result, job_metadata or {})


def _sampler_pub(registers: dict[str, Any]) -> dict[str, Any]:
    data = {name: {"shape": list(bits.shape), "num_shots": bits.num_shots,
                   "num_bits": bits.num_bits, "counts": counts_per_set(bits)}
            for name, bits in registers.items()}
    shots = next(iter(registers.values())).num_shots
    return {"data": data, "metadata": {"shots": shots, "target_precision": None}}


def _estimator_pub(pub_result: Any, job_metadata: Mapping[str, Any]) -> dict[str, Any]:
    """Values flat in C order over the PUB's shape. Without twirling there is one ensemble, so
    its standard error is `stds`. `shots`: those IBM Quantum ran, else those the precision
    stands for (⌈1/precision²⌉, as IBM Quantum counts them); None for exact values (precision
    0 on a simulator)."""
    data = pub_result.data
    stds = finite_floats(data.stds)
    errors = (finite_floats(data["ensemble_standard_error"]) if "ensemble_standard_error" in data
              else stds)
    precision = pub_result.metadata.get("target_precision", _job_precision(job_metadata))
    precision = None if precision is None else float(precision)
    shots = job_metadata.get("shots") or (math.ceil(1 / precision**2) if precision else None)
    return {"data": {"shape": list(data.shape), "evs": finite_floats(data.evs), "stds": stds,
                     "ensemble_standard_error": errors},
            "metadata": {"shots": shots, "target_precision": precision}}


def _job_precision(job_metadata: Mapping[str, Any]) -> float | None:
    """The precision IBM Quantum's Estimator ran a job at: the one asked for, else its default
    precision (unless default shots were asked for instead)."""
    if job_metadata.get("target_precision") is not None:
        return job_metadata["target_precision"]
    options = job_metadata.get("options") or {}
    return options.get("default_precision") if options.get("default_shots") is None else None


def finite_floats(values: Any) -> list[float | None]:
    """Flat in C order; null where a value is not finite (JSON has no NaN or infinity: a ZNE
    extrapolation can leave a standard deviation unbounded)."""
    return [float(value) if math.isfinite(value) else None for value in np.ravel(values)]


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


def counts_per_set(bits: Any) -> list[dict[str, int]]:
    """Each parameter set's counts, in C order over the register's shape (one for no sweep)."""
    sets = int(np.prod(bits.shape, dtype=np.int64))
    if bits.num_bits <= NARROW_BITS and sets << bits.num_bits <= NARROW_TABLE_CELLS:
        return _narrow_counts(bits, sets)
    return [counts_of(bits, index) for index in np.ndindex(*bits.shape)]


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
