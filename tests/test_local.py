"""The local runtime's own shortcuts, against what the library does without them."""

from __future__ import annotations

import json
import os
import zlib

import numpy as np
import pytest
from qiskit.primitives import BitArray, DataBin, PubResult, SamplerPubResult

from core.circuits import parse_circuit
from core.config import Config
from core.results import counts_of, normalise_pub
from core.store.connection import Connection
from core.store.jobs import JobStore
from core.store.records import compress
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


def test_numbers_that_are_not_finite_are_stored_and_streamed_as_null(redis_url: str) -> None:
    """JSON has no NaN or infinity (a browser's JSON.parse refuses a document with one): an
    estimator value an extrapolation left unbounded is null, in the result, its events and the
    interim results; the other values are as they were."""
    def strict(text: str | bytes) -> object:
        def refuse(name: str) -> None:
            raise AssertionError(f"{name} in JSON")
        return json.loads(text, parse_constant=refuse)

    data = DataBin(evs=np.array([0.5, np.nan]), stds=np.array([np.inf, 0.25]), shape=(2,))
    pub = normalise_pub(PubResult(data, metadata={"target_precision": 0.1}))
    assert pub["data"]["evs"] == [0.5, None] and pub["data"]["stds"] == [None, 0.25]
    store = JobStore(Connection.open(redis_url, "finite"))
    store.create({"id": "unbounded", "tenant": "t", "program_id": "estimator",
                  "backend": "aer_simulator", "status": "QUEUED", "tags": []}, {})
    raw = {"pub_results": [{"data": {"evs": [float("inf")], "stds": [float("-inf")]}}],
           "metadata": {"spread": float("nan")}}
    store.append_event("unbounded", "interim", raw)
    stored = store.redis.xrange(store.event_stream_key("unbounded"))[-1][1]["data"]
    assert strict(stored) == {"pub_results": [{"data": {"evs": [None], "stds": [None]}}],
                              "metadata": {"spread": None}}
    assert strict(zlib.decompress(compress(raw)))["metadata"] == {"spread": None}
    assert strict(zlib.decompress(compress({"ok": [1.5, 2]}))) == {"ok": [1.5, 2]}


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
