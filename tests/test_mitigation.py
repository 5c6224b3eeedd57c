"""On the noisy replicas, options mean what the executor primitives make them mean on IBM devices.

Each job runs through `LocalRuntime.run` as in a worker; the library's side is
`qiskit_ibm_runtime.executor_estimator.Estimator` / `executor_sampler.Sampler` in local mode
(`mode=` the fake device), on the very ISA circuits the gateway transpiled. Two kinds of check:
- with other seeds on each side, the values agree within their standard errors (and sampler
  counts within a total variation distance the shots allow): the same distribution;
- with the same seed, on a program that uses every qubit of the device (so that both prepare
  the same circuits, see workers/runtimes/narrowing.py), the numbers are equal to the last bit:
  the library's own twirls, folds, calibration and post-processing, run on the gateway's
  simulator and prepared noise.
Precision 0.02 (2500 shots) keeps the file quick; mitigation still shows through it.
"""

from __future__ import annotations

import json
import math
import warnings
from collections.abc import Iterator
from typing import Any

import httpx
import numpy as np
import pytest
from qiskit_ibm_runtime import RuntimeDecoder

from core import catalog
from core.circuits import build_pubs
from tests.conftest import result_of, submit
from workers.runtimes import local, mitigation
from workers.runtimes.local import UNLIMITED, LocalRuntime

HEAD = 'OPENQASM 3.0; include "stdgates.inc"; '
GHZ_3 = HEAD + "qubit[3] q; h q[0]; cx q[0], q[1]; cx q[1], q[2];"
SWEEP_2 = HEAD + ("input float theta; qubit[2] q; ry(theta) q[0]; cx q[0], q[1]; "
                  "rz(0.4) q[1]; sx q[1];")
LAYERED_4 = HEAD + ("qubit[4] q; h q[0]; h q[2]; cx q[0], q[1]; cx q[2], q[3]; rz(0.3) q[1]; "
                    "cx q[1], q[2]; sx q[0]; sx q[3]; cx q[0], q[1]; cx q[2], q[3];")
MEASURED_GHZ_3 = GHZ_3.replace("qubit[3] q;", "qubit[3] q; bit[3] c;") + " c = measure q;"
GHZ_5 = HEAD + ("qubit[5] q; h q[0]; cx q[0], q[1]; cx q[1], q[2]; cx q[2], q[3]; "
                "cx q[3], q[4];")
MEASURED_GHZ_5 = GHZ_5.replace("qubit[5] q;", "qubit[5] q; bit[5] c;") + " c = measure q;"
BACKEND = "fake_manila"
PRECISION = 0.02

ESTIMATOR_PUBS = {
    "ghz3": [{"circuit": GHZ_3, "observables": ["ZZI", "IZZ", "XXX"]}],
    "sweep2": [{"circuit": SWEEP_2, "observables": "ZZ",
                "parameter_values": {"theta": [0.0, 0.8, 1.6, 2.4]}}],
    "layered4": [{"circuit": LAYERED_4, "observables": ["ZZII", "IIZZ", "IZZI", "XXXX"]}],
}


@pytest.fixture(scope="module")
def runtime() -> Iterator[LocalRuntime]:
    yield LocalRuntime()
    LocalRuntime.primitive.cache_clear()
    LocalRuntime.pass_manager.cache_clear()


def gateway(runtime: LocalRuntime, program: str, pubs: list[dict[str, Any]],
            options: dict[str, Any], backend: str = BACKEND) -> dict[str, Any]:
    """What the worker reports as the job's result (normalised result, runtime JSON, ...)."""
    said: list[tuple[str, Any]] = []
    report: Any = lambda kind, data: said.append((kind, data))  # noqa: E731
    report.flush = lambda: None
    runtime.run({"program_id": program, "backend": backend},
                {"pubs": pubs, "options": options}, report)
    results = [data for kind, data in said if kind == "result"]
    assert results, said
    return dict(results[0])


def library(runtime: LocalRuntime, program: str, pubs: list[dict[str, Any]],
            options: dict[str, Any]) -> Any:
    """The executor primitive in local mode on the fake device, given the ISA circuits the
    gateway ran (its transpilation, same seed) and the same option trees."""
    from qiskit_ibm_runtime.executor_estimator import Estimator
    from qiskit_ibm_runtime.executor_sampler import Sampler

    seed = options.get("seed")
    built = build_pubs(program, pubs, UNLIMITED.max_qubits, UNLIMITED)
    isa = [local._retarget(program, pub, runtime.compiled(
        raw["circuit"], pub.circuit, BACKEND, local.DEFAULT_OPTIMIZATION_LEVEL, seed).transpiled)
        for pub, raw in zip(built, pubs, strict=True)]
    chosen = {name: value for name, value in options.items()
              if name not in ("seed", "optimization_level")}
    chosen.setdefault("simulator", {"seed_simulator": seed})
    primitive = (Estimator if program == "estimator" else Sampler)(
        mode=catalog.fake_backend(BACKEND), options=chosen)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return primitive.run(isa).result()


def estimator_options(level: int, seed: int) -> dict[str, Any]:
    return {"seed": 5, "simulator": {"seed_simulator": seed}, "resilience_level": level,
            "default_precision": PRECISION}


@pytest.mark.parametrize("level", [0, 1, 2])
@pytest.mark.parametrize("name", list(ESTIMATOR_PUBS))
def test_estimator_values_agree_with_the_librarys_within_their_errors(
        runtime: LocalRuntime, name: str, level: int) -> None:
    pubs = ESTIMATOR_PUBS[name]
    ours = gateway(runtime, "estimator", pubs, estimator_options(level, seed=101))
    theirs = library(runtime, "estimator", pubs, estimator_options(level, seed=202))
    pub = ours["result"]["pub_results"][0]["data"]
    evs, stds = np.array(pub["evs"]), np.array(pub["stds"])
    their_evs, their_stds = np.ravel(theirs[0].data.evs), np.ravel(theirs[0].data.stds)
    assert evs.shape == their_evs.shape and pub["shape"] == list(theirs[0].data.shape)
    bound = 4 * np.sqrt(stds**2 + their_stds**2) + 0.01
    assert np.all(np.abs(evs - their_evs) <= bound), (evs, their_evs, bound)
    assert not np.allclose(evs, their_evs, rtol=0, atol=1e-12)  # other seeds: other samples


@pytest.mark.parametrize(("program", "level"), [("estimator", 0), ("estimator", 1),
                                               ("estimator", 2), ("sampler", None)])
def test_with_the_same_seed_the_numbers_are_the_librarys_own(
        runtime: LocalRuntime, program: str, level: int | None) -> None:
    """GHZ-5 uses every qubit of fake_manila, so the library prepares the very circuits the
    gateway does (on a narrower program the gateway prepares its active qubits only)."""
    if program == "estimator":
        pubs = [{"circuit": GHZ_5, "observables": ["ZZIII", "IIIZZ", "XXXXX"]}]
        options = {**estimator_options(level or 0, seed=7), "default_precision": 0.05}
    else:
        pubs = [{"circuit": MEASURED_GHZ_5, "shots": 1000}]
        options = {"seed": 7, "twirling": {"enable_gates": True, "enable_measure": True}}
    ours = gateway(runtime, program, pubs, options)["result"]["pub_results"][0]
    theirs = library(runtime, program, pubs, options)[0]
    if program == "sampler":
        assert ours["data"]["c"]["counts"][0] == theirs.data.c.get_counts()
        return
    assert ours["data"]["evs"] == np.ravel(theirs.data.evs).tolist()
    assert ours["data"]["stds"] == np.ravel(theirs.data.stds).tolist()


def test_a_wide_device_runs_only_the_qubits_a_program_uses(runtime: LocalRuntime) -> None:
    """A 3-qubit GHZ state on 27-qubit fake_kolkata: the library's local mode simulates all 27
    (for minutes); the gateway its 3, in well under a second once the device is loaded."""
    pubs = [{"circuit": GHZ_3, "observables": ["ZZI", "IZZ"]}]
    values = {}
    for level in (0, 1):
        options = {"seed": 3, "resilience_level": level, "default_precision": 0.02}
        reported = gateway(runtime, "estimator", pubs, options, backend="fake_kolkata")
        values[level] = reported["result"]["pub_results"][0]["data"]["evs"]
        assert reported["metrics"]["usage"]["seconds"] < 30
    assert all(0.6 < value < 0.99 for value in values[0]), values
    assert all(abs(1 - value) < 0.06 for value in values[1]), values


def test_mitigation_brings_ghz_parities_closer_to_ideal(runtime: LocalRuntime) -> None:
    """⟨ZZI⟩ of GHZ-3 is 1 without noise; TREX (1) and ZNE (2) recover most of what the
    device's readout and gate errors lose at level 0."""
    pubs = [{"circuit": GHZ_3, "observables": ["ZZI"]}]
    values = {}
    for level in (0, 1, 2):
        options = {"seed": 3, "resilience_level": level, "default_precision": 0.01}
        values[level] = gateway(runtime, "estimator", pubs, options)[
            "result"]["pub_results"][0]["data"]["evs"][0]
    assert values[0] < 0.93, values
    assert 1 - values[1] < (1 - values[0]) / 2 and 1 - values[2] < (1 - values[0]) / 2, values


def test_the_result_says_which_mitigation_ran_and_decodes_as_the_librarys(
        runtime: LocalRuntime) -> None:
    reported = gateway(runtime, "estimator", ESTIMATOR_PUBS["ghz3"], estimator_options(2, 1))
    metadata = reported["result"]["metadata"]["mitigation"]
    assert metadata["resilience_level"] == 2 and metadata["measure_mitigation"] is True
    assert metadata["zne"]["amplifier"] == "gate_folding" and metadata["pec"] is None
    assert metadata["twirling"]["enable_gates"] is True
    # 2500 shots: 32 randomizations of 79, in 2 measurement bases (Z for ZZI and IZZ, X for
    # XXX) at 3 noise factors, and TREX's calibration (32 randomizations)
    assert (metadata["executions"], metadata["shots_per_execution"]) == (3 * 2 * 32 + 32, 79)
    assert metadata["shots"] == (3 * 2 * 32 + 32) * 79
    pub = reported["result"]["pub_results"][0]
    assert len(pub["data"]["evs_noise_factors"]) == 3 * 3
    assert pub["metadata"]["resilience"]["zne"]["extrapolators"][0] in ("exponential", "linear")
    assert pub["metadata"]["shots"] == math.ceil(1 / PRECISION**2)
    decoded = json.loads(reported["runtime"], cls=RuntimeDecoder)
    assert np.ravel(decoded[0].data.evs).tolist() == pub["data"]["evs"]
    assert decoded.metadata["options"]["resilience_level"] == 2


def _tvd(first: dict[str, int], second: dict[str, int]) -> float:
    n, m = sum(first.values()), sum(second.values())
    return 0.5 * sum(abs(first.get(k, 0) / n - second.get(k, 0) / m)
                     for k in first.keys() | second.keys())


def _tvd_bound(counts: dict[str, int], shots: int) -> float:
    """Four standard deviations of each outcome's frequency difference between two samples of
    `shots`, summed (half, as the distance counts each), plus a little."""
    probabilities = np.array(list(counts.values())) / sum(counts.values())
    return float(0.5 * np.sum(4 * np.sqrt(probabilities * (1 - probabilities) * 2 / shots)))


@pytest.mark.parametrize("options", [
    {"twirling": {"enable_gates": True, "enable_measure": True}},
    {"twirling": {"enable_gates": True, "num_randomizations": 8},
     "dynamical_decoupling": {"enable": True}},
], ids=["twirled", "twirled-dd"])
def test_a_twirled_samplers_counts_are_the_librarys(runtime: LocalRuntime,
                                                    options: dict[str, Any]) -> None:
    pubs = [{"circuit": MEASURED_GHZ_3, "shots": 4000}]
    ours = gateway(runtime, "sampler", pubs, {**options, "seed": 11})
    theirs = library(runtime, "sampler", pubs, {**options, "seed": 12})
    counts = ours["result"]["pub_results"][0]["data"]["c"]["counts"][0]
    their_counts = theirs[0].data.c.get_counts()
    assert sum(counts.values()) == sum(their_counts.values()) >= 4000
    assert counts != their_counts
    assert _tvd(counts, their_counts) <= _tvd_bound(their_counts, 4000)
    assert ours["result"]["pub_results"][0]["metadata"]["num_randomizations"] >= 8


def test_jobs_with_nothing_to_mitigate_keep_the_fast_path(runtime: LocalRuntime,
                                                           monkeypatch: pytest.MonkeyPatch
                                                           ) -> None:
    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("ran the executor primitive's way")

    monkeypatch.setattr(mitigation, "run", refuse)
    gateway(runtime, "sampler", [{"circuit": MEASURED_GHZ_3, "shots": 100}], {"seed": 1})
    exact = [{"circuit": GHZ_3, "observables": "ZZI", "precision": 0.0}]
    assert gateway(runtime, "estimator", exact, {})["result"]["metadata"] == {"version": 2}
    ideal = gateway(runtime, "estimator", ESTIMATOR_PUBS["ghz3"], {"resilience_level": 2},
                    backend=catalog.IDEAL)
    assert ideal["result"]["pub_results"][0]["data"]["evs"][:2] == [1.0, 1.0]


def test_default_shots_precision_and_the_simulators_seed_are_honoured(
        runtime: LocalRuntime) -> None:
    pubs = [{"circuit": MEASURED_GHZ_3}]
    shots = gateway(runtime, "sampler", pubs, {"default_shots": 300})
    assert shots["result"]["pub_results"][0]["data"]["c"]["num_shots"] == 300

    def counts(options: dict[str, Any]) -> dict[str, int]:
        return dict(gateway(runtime, "sampler", pubs, options)[
            "result"]["pub_results"][0]["data"]["c"]["counts"][0])

    seeded = {"seed": 4, "simulator": {"seed_simulator": 9}}
    assert counts(seeded) == counts(seeded)
    assert counts(seeded) != counts({"seed": 4, "simulator": {"seed_simulator": 10}})
    estimator = gateway(runtime, "estimator", [{"circuit": GHZ_3, "observables": "ZZI"}],
                        {"default_precision": 0.05, "resilience_level": 0})
    assert estimator["result"]["pub_results"][0]["metadata"]["shots"] == 400


def test_over_http_a_mitigated_job_says_what_ran_and_decodes(client: httpx.Client) -> None:
    """Submit an estimator job at level 2 to fake_manila; its result has ZNE's values and which
    mitigation ran, and `?format=runtime` decodes into the library's result."""
    body = {"program_id": "estimator", "backend": BACKEND,
            "pubs": [{"circuit": GHZ_3, "observables": ["ZZI", "XXX"]}],
            "options": {"seed": 2, "resilience_level": 2, "default_precision": 0.05}}
    job = submit(client, body)
    result = result_of(client, job["id"])
    assert result["metadata"]["mitigation"]["zne"]["amplifier"] == "gate_folding"
    assert result["metadata"]["mitigation"]["measure_mitigation"] is True
    pub = result["pub_results"][0]
    assert pub["metadata"]["shots"] == 400 and len(pub["data"]["evs"]) == 2
    assert len(pub["data"]["evs_noise_factors"]) == 2 * 3
    text = client.get(f"/v1/jobs/{job['id']}/result", params={"format": "runtime"}).text
    decoded = json.loads(text, cls=RuntimeDecoder)
    assert np.ravel(decoded[0].data.evs).tolist() == pub["data"]["evs"]
    assert decoded.metadata["options"]["resilience_level"] == 2
    assert decoded[0].data.evs_noise_factors.shape == (2, 3)


def test_what_needs_a_learned_noise_model_is_refused_with_the_librarys_reason(
        runtime: LocalRuntime) -> None:
    """PEC and PEA-amplified ZNE inject noise from `resilience.layer_noise_model`, a learned
    model no JSON option carries: the job fails with the library's own words (the API is to
    refuse them before they run)."""
    from qiskit_ibm_runtime.exceptions import IBMInputValueError

    for resilience in ({"pec_mitigation": True},
                       {"zne_mitigation": True, "zne": {"amplifier": "pea"}}):
        with pytest.raises(IBMInputValueError, match="requires a noise model"):
            gateway(runtime, "estimator", ESTIMATOR_PUBS["ghz3"],
                    {"resilience": resilience, "default_precision": 0.05})
