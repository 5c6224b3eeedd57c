"""The official qiskit-ibm-runtime client (pinned 0.51), unchanged, against the live gateway's
IBM-compatible facade (/ibm): backends and targets, SamplerV2/EstimatorV2 and the executor
primitives on the local simulators, every RuntimeJobV2 call, the service's job calls; facade
jobs are gateway jobs (GET /v1/jobs/{id}); tenants stay apart; errors come in IBM's shape."""

from __future__ import annotations

import numpy as np
import pytest
from qiskit import QuantumCircuit, transpile
from qiskit.circuit import Parameter
from qiskit.quantum_info import SparsePauliOp
from qiskit_ibm_runtime import EstimatorV2, QiskitRuntimeService, SamplerV2
from qiskit_ibm_runtime.exceptions import IBMNotAuthorizedError, RuntimeJobNotFound
from qiskit_ibm_runtime.executor_estimator import Estimator as ExecutorEstimator
from qiskit_ibm_runtime.executor_sampler import Sampler as ExecutorSampler

from tests.conftest import BELL_QASM3, result_of, sampler_job, submit
from tests.facade_helpers import bell, connect


def test_backends_and_targets(ibm_service: QiskitRuntimeService) -> None:
    names = {backend.name for backend in ibm_service.backends()}
    assert {"aer_simulator", "fake_manila"} <= names
    manila = ibm_service.backend("fake_manila")
    assert manila.num_qubits == 5 and "cx" in manila.target.operation_names
    assert manila.target["cx"][(0, 1)].error is not None  # the device's calibration data
    ideal = ibm_service.backend("aer_simulator")
    assert ideal.target.num_qubits == 30 and ideal.status().operational


def test_sampler_v2_bell_is_a_gateway_job(ibm_service: QiskitRuntimeService,
                                          client_of_service: object) -> None:
    backend = ibm_service.backend("aer_simulator")
    job = SamplerV2(backend).run([transpile(bell(), backend)], shots=400)
    result = job.result()
    counts = result[0].data.meas.get_counts()
    assert set(counts) == {"00", "11"} and sum(counts.values()) == 400
    assert job.status() == "DONE"
    native = client_of_service.get(f"/v1/jobs/{job.job_id()}")  # type: ignore[attr-defined]
    assert native.status_code == 200 and native.json()["program_id"] == "sampler"
