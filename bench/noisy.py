"""Figure 2's noisy device rows: the programs, and what a library user runs for each of them in a
warm process, with qiskit-ibm-runtime's local mode and with `AerSimulator.from_backend`.

Each library run does what a user's loop does: build the circuit, transpile it (pass manager
made once), run it. The gateway gets the same program as OpenQASM 3 text.
"""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

BELL_QASM3 = ('OPENQASM 3.0; include "stdgates.inc"; qubit[2] q; bit[2] c; '
              "h q[0]; cx q[0], q[1]; c = measure q;")
SHOTS = 1024
SWEEP_SETS = 100


@dataclass(frozen=True)
class Case:
    name: str  # as the table says it
    backend: str
    qasm: str
    qubits: int  # GHZ over this many qubits; the sweep is a two-qubit circuit with a parameter
    sweep: bool = False

    def circuit(self) -> Any:
        """The program as a library user builds it."""
        from qiskit import QuantumCircuit
        from qiskit.circuit import Parameter

        circuit = QuantumCircuit(self.qubits, self.qubits)
        if self.sweep:
            circuit.ry(Parameter("theta"), 0)
        else:
            circuit.h(0)
        for qubit in range(self.qubits - 1):
            circuit.cx(qubit, qubit + 1)
        circuit.measure(range(self.qubits), range(self.qubits))
        return circuit

    def values(self) -> list[float] | None:
        return [math.pi * i / (SWEEP_SETS - 1) for i in range(SWEEP_SETS)] if self.sweep else None

    def pub(self) -> dict[str, Any]:
        """The PUB the gateway gets."""
        pub: dict[str, Any] = {"circuit": self.qasm, "shots": SHOTS}
        if self.sweep:
            pub["parameter_values"] = {"theta": self.values()}
        return pub


def ghz_qasm(qubits: int) -> str:
    chain = " ".join(f"cx q[{i}], q[{i + 1}];" for i in range(qubits - 1))
    return (f'OPENQASM 3.0; include "stdgates.inc"; qubit[{qubits}] q; bit[{qubits}] c; '
            f"h q[0]; {chain} c = measure q;")


SWEEP_QASM = ('OPENQASM 3.0; include "stdgates.inc"; input float theta; qubit[2] q; bit[2] c; '
              "ry(theta) q[0]; cx q[0], q[1]; c = measure q;")
CASES = (
    Case("Bell", "fake_manila", BELL_QASM3, 2),
    Case("GHZ-5", "fake_manila", ghz_qasm(5), 5),
    Case("GHZ-10", "fake_kolkata", ghz_qasm(10), 10),
    Case(f"sweep of {SWEEP_SETS} parameter sets", "fake_manila", SWEEP_QASM, 2, sweep=True),
)


def _device(backend: str) -> Any:
    from core import catalog

    return catalog.fake_backend(backend)


def local_mode_runner(case: Case) -> Callable[[], float]:
    """qiskit-ibm-runtime's local mode: `SamplerV2(mode=FakeDevice())`."""
    import numpy as np
    from qiskit.transpiler.preset_passmanagers import generate_preset_pass_manager
    from qiskit_ibm_runtime import SamplerV2

    device = _device(case.backend)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sampler = SamplerV2(mode=device)
    manager = generate_preset_pass_manager(optimization_level=1, backend=device)
    values = case.values()

    def run() -> float:
        tic = time.perf_counter()
        transpiled = manager.run(case.circuit())
        pub = (transpiled,) if values is None else (transpiled, np.array(values)[:, None])
        sampler.run([pub], shots=SHOTS).result()
        return time.perf_counter() - tic

    return run


def from_backend_runner(case: Case) -> Callable[[], float]:
    """`AerSimulator.from_backend(device)` made once, its `run` called directly."""
    from qiskit.transpiler.preset_passmanagers import generate_preset_pass_manager
    from qiskit_aer import AerSimulator

    device = _device(case.backend)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        simulator = AerSimulator.from_backend(device)
    manager = generate_preset_pass_manager(optimization_level=1, backend=device)
    values = case.values()

    def run() -> float:
        tic = time.perf_counter()
        transpiled = manager.run(case.circuit())
        binds = None if values is None else [{transpiled.parameters[0]: values}]
        simulator.run(transpiled, shots=SHOTS, parameter_binds=binds).result()
        return time.perf_counter() - tic

    return run
