"""The cost model's run times (`core/estimates.py`) and the arithmetic of queue estimates: a
bigger job is expected to run longer, a running job is never due in the past, and a waiting job
starts when a slot is free. (Through HTTP: test_operations.py and test_tenants.py.)"""

from __future__ import annotations

from flask.testing import FlaskClient

from core.admission import inspect_pubs
from core.circuits import Limits
from core.estimates import first_free, remaining_seconds, run_seconds
from core.qasm_guard import ProgramLimits
from tests.conftest import BELL_QASM3, sampler_job, slow_circuit, submit

LIMITS = Limits(max_pubs=100, max_shots=100_000, max_qubits=160, max_parameter_sets=10_000,
                default_shots=1024)
PROGRAM_LIMITS = ProgramLimits(max_nesting=32, max_qubits=160, max_clbits=1024,
                               max_gate_depth=10, max_operations=10**7)
MEMORY = 2 * 2**30


def loop(qubits: int, iterations: int) -> str:
    """A for loop: Aer runs such a circuit once per shot."""
    body = " ".join([f"rx(0.1) q[{i}];" for i in range(qubits)]
                    + [f"cx q[{i}], q[{i + 1}];" for i in range(qubits - 1)])
    return (f'OPENQASM 3.0; include "stdgates.inc"; qubit[{qubits}] q; bit[{qubits}] c; '
            f"for uint i in [0:{iterations - 1}] {{ {body} }} c = measure q;")


def seconds(circuit: str, noisy: bool = False, **pub: object) -> float:
    inspection = inspect_pubs("sampler", [{"circuit": circuit, **pub}], 160, LIMITS,
                              PROGRAM_LIMITS)
    return run_seconds(inspection, noisy, MEMORY)


def test_a_bigger_job_is_expected_to_run_longer() -> None:
    bell = seconds(BELL_QASM3)
    wide = seconds(slow_circuit(20, 50))
    assert bell < seconds(BELL_QASM3, shots=100_000) < wide
    assert seconds(slow_circuit(16, 50)) < wide < seconds(slow_circuit(22, 50))
    assert seconds(slow_circuit(8, 10), noisy=True) > seconds(slow_circuit(8, 10))
    # shots are sampled from one simulation, but a loop is simulated shot by shot
    assert seconds(slow_circuit(12, 50), shots=100) < 2 * seconds(slow_circuit(12, 50), shots=1)
    assert seconds(loop(12, 200), shots=100) > 10 * seconds(loop(12, 200), shots=1)
    assert seconds(loop(22, 2000)) > 3600 > 100 * wide


def test_submitted_jobs_carry_the_cost_models_estimate(app_client: FlaskClient) -> None:
    small, big = (submit(app_client, sampler_job(circuit)) for circuit in
                  (BELL_QASM3, slow_circuit(20, 50)))
    for job in (small, big):
        app_client.delete(f"/v1/jobs/{job['id']}")  # no worker of a later test may run them
    assert small["usage_estimation"]["quantum_seconds"] == seconds(BELL_QASM3)
    assert big["usage_estimation"]["quantum_seconds"] == seconds(slow_circuit(20, 50))
    assert small["usage_estimation"]["quantum_seconds"] < 0.2 < big["usage_estimation"][
        "quantum_seconds"]


def test_a_running_job_is_never_due_in_the_past() -> None:
    assert remaining_seconds(60, elapsed=20, time_limit=600) == 40
    assert remaining_seconds(60, elapsed=59.9, time_limit=600) == 1  # the margin
    assert remaining_seconds(10, elapsed=100, time_limit=600) == 25  # overrun: a share of it
    assert remaining_seconds(10, elapsed=590, time_limit=600) == 10  # the time limit ends it
    assert remaining_seconds(10, elapsed=700, time_limit=600) == 1


def test_a_waiting_job_starts_when_a_slot_is_free() -> None:
    assert first_free([], 2, []) == 0  # an idle slot
    assert first_free([30, 10], 2, []) == 10
    assert first_free([30, 10], 2, [5, 5]) == 20  # both ahead take the slot free at 10
    assert first_free([30, 10], 1, []) == 30  # one slot: over the cap until both end...
    assert first_free([30, 10, 20], 2, []) == 20  # ...or until fewer run than there are slots
    assert first_free([30], 3, [40, 40]) == 30  # the two ahead take the idle slots
