"""The sampler's PUB from the simulator's counts, not from its per-shot memory.

qiskit-aer's `SamplerV2` asks the simulator for every shot as a hex string, then turns them into
bit arrays shot by shot in Python: for a sweep of many parameter sets that is most of the job,
more than the simulation itself. The counts
hold the same outcomes (the same seed gives the same counts, with or without memory), so the
shots are rebuilt from them, in an order shuffled by a generator seeded like the simulator:
the shots of one parameter set are exchangeable, so a uniformly shuffled list of the outcomes is
distributed as the simulator's own list, and the same seed gives the same list.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from qiskit.primitives import BitArray, DataBin, SamplerPubResult
from qiskit.primitives.containers.sampler_pub import SamplerPub
from qiskit_aer import AerError, AerSimulator
from qiskit_aer.noise import NoiseModel
from qiskit_aer.primitives.sampler_v2 import _analyze_circuit, _convert_parameter_bindings

MAX_CLBITS = 63  # outcomes held as 64-bit integers; wider circuits take the primitive's path


def fits(pub: SamplerPub) -> bool:
    return bool(pub.circuit.cregs) and pub.circuit.num_clbits <= MAX_CLBITS


def run_sampler_pub(simulator: AerSimulator, pub: SamplerPub, seed: int | None,
                    noise: NoiseModel | None) -> SamplerPubResult:
    """What qiskit-aer's `SamplerV2(seed=seed)` returns for `pub` on `simulator`, the counts the
    same, the shots in a seeded order of their own (see the module's docstring)."""
    options: dict[str, Any] = {"noise_model": noise} if noise is not None else {}
    result = simulator.run([pub.circuit], shots=pub.shots, seed_simulator=seed,
                           parameter_binds=[_convert_parameter_bindings(pub)],
                           **options).result()
    shape, rng = pub.parameter_values.shape, np.random.default_rng(seed)
    outcomes = np.array([_shuffled(_counts(experiment), rng) for experiment in result.results])
    outcomes = outcomes.reshape(*shape, pub.shots)
    meas_info, _ = _analyze_circuit(pub.circuit)
    data = {item.creg_name: BitArray(_packed(outcomes, item.start, item.num_bits,
                                             item.num_bytes), item.num_bits)
            for item in meas_info}
    return SamplerPubResult(DataBin(**data, shape=shape), metadata={
        "shots": pub.shots, "circuit_metadata": pub.circuit.metadata,
        "simulator_metadata": result.metadata})


def _counts(experiment: Any) -> dict[str, int]:
    if isinstance(experiment.status, str) and experiment.status.upper().startswith("ERROR"):
        raise AerError(f"Aer simulation failed: {experiment.status}")
    counts = getattr(experiment.data, "counts", None)
    return dict(counts) if counts else {"0x0": experiment.shots}


def _shuffled(counts: dict[str, int], rng: np.random.Generator) -> np.ndarray:
    values = np.array([int(key, 16) for key in counts], dtype=np.uint64)
    return rng.permutation(np.repeat(values, list(counts.values())))


def _packed(outcomes: np.ndarray, start: int, num_bits: int, num_bytes: int) -> np.ndarray:
    """One register's bits of every outcome, as BitArray packs them: big-endian bytes."""
    register = (outcomes >> np.uint64(start)) & np.uint64((1 << num_bits) - 1)
    as_bytes = register.astype(">u8").view(np.uint8).reshape(*register.shape, 8)
    return np.ascontiguousarray(as_bytes[..., 8 - num_bytes:])
