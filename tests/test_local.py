"""The local runtime's own shortcuts, against what the library does without them."""

from __future__ import annotations

import os

import numpy as np
import pytest
from qiskit.primitives import BitArray, DataBin, SamplerPubResult

from core.circuits import parse_circuit
from core.config import Config
from core.results import counts_of, normalise_pub
from tests.conftest import BELL_QASM3
from workers.runtimes import local
from workers.runtimes.local import LocalRuntime


@pytest.mark.parametrize(("num_bits", "shape"), [(1, ()), (2, ()), (11, ()), (17, (2, 3))])
def test_counts_agree_with_the_library(num_bits: int, shape: tuple[int, ...]) -> None:
    rng = np.random.default_rng(num_bits)
    bits = BitArray.from_samples(
        rng.integers(0, 2**num_bits, size=int(np.prod(shape)) * 300).tolist(), num_bits)
    bits = bits.reshape(*shape, 300)
    for loc in np.ndindex(*shape):
        assert counts_of(bits, loc) == bits.get_counts(loc=loc or None)


@pytest.mark.parametrize(("num_bits", "shape"), [(2, (100,)), (5, (3, 4)), (9, (2,)),
                                              (20, (2, 2)), (3, ()), (20, ())])
def test_counts_of_every_parameter_set_agree_with_the_library(num_bits: int,
                                                             shape: tuple[int, ...]) -> None:
    """Narrow registers are counted over all sets at once, wide ones set by set; either way
    one element per set, in C order (one for no sweep)."""
    rng = np.random.default_rng(num_bits)
    bits = BitArray.from_samples(
        rng.integers(0, 2**num_bits, size=int(np.prod(shape)) * 500).tolist(), num_bits)
    bits = bits.reshape(*shape, 500)
    result = SamplerPubResult(DataBin(c=bits, shape=shape), metadata={})
    register = normalise_pub(result)["data"]["c"]
    assert register["shape"] == list(shape)
    assert register["counts"] == [bits.get_counts(loc=loc or None) for loc in np.ndindex(*shape)]


def test_a_program_is_transpiled_once_per_backend_and_options() -> None:
    runtime = LocalRuntime()
    circuit = parse_circuit(BELL_QASM3, "circuit")
    first = runtime.compiled(BELL_QASM3, circuit, "aer_simulator", 1, None)
    assert runtime.compiled(BELL_QASM3, circuit, "aer_simulator", 1, None) is first
    assert runtime.compiled(BELL_QASM3, circuit, "aer_simulator", 2, None) is not first
    assert runtime.compiled(BELL_QASM3, circuit, "aer_simulator", 1, 7) is not first
    assert first.metrics["width"] == 2 and first.metrics["transpiled_depth"] >= 2


def test_the_transpiled_programs_kept_stay_within_their_bounds(monkeypatch: pytest.MonkeyPatch
                                                               ) -> None:
    monkeypatch.setattr(local, "COMPILED_CACHE_OPERATIONS", 25)
    runtime = LocalRuntime()
    programs = [BELL_QASM3.replace("c = measure", f"{'x q[1]; ' * n}c = measure")
                for n in range(6)]
    for text in programs:
        runtime.compiled(text, parse_circuit(text, "circuit"), "aer_simulator", 0, None)
    kept = list(runtime._compiled.values())
    assert kept and sum(c.weight for c in kept) <= 25
    assert runtime._compiled_operations == sum(c.weight for c in kept)
    newest = programs[-1]
    assert (newest, "aer_simulator", 0, None) in runtime._compiled  # the oldest went first


def test_a_worker_simulates_with_its_share_of_the_host_cores(monkeypatch: pytest.MonkeyPatch
                                                             ) -> None:
    """Two workers on a host each take half its cores (so a flood on one leaves the other's
    jobs their speed); GATEWAY_WORKER_THREADS says otherwise."""
    monkeypatch.setenv("GATEWAY_WORKERS_PER_HOST", "2")
    monkeypatch.delenv("GATEWAY_WORKER_THREADS", raising=False)
    cores = len(os.sched_getaffinity(0))
    assert max(1, cores // 2) == Config().WORKER_THREADS
    monkeypatch.setenv("GATEWAY_WORKER_THREADS", "3")
    runtime = LocalRuntime(threads=Config().WORKER_THREADS)
    for backend in ("aer_simulator", "fake_manila"):
        assert runtime.simulator(backend).options.max_parallel_threads == 3
