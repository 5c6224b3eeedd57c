"""The static checks of OpenQASM text (no server): each limit, and time linear in the text."""

from __future__ import annotations

import contextlib
import time

import pytest

from core.qasm_guard import ProgramLimits, ProgramOverLimit, ProgramRefused, check_program
from tests.conftest import BELL_QASM2, BELL_QASM3, slow_circuit
from tests.test_hostile import LEGITIMATE, nested_gates, qft

LIMITS = ProgramLimits(max_nesting=32, max_qubits=160, max_clbits=1024, max_gate_depth=10,
                       max_operations=1_000_000)
H = 'OPENQASM 3.0; include "stdgates.inc"; '


@pytest.mark.parametrize(("text", "qubits", "operations"), [
    (BELL_QASM3, 2, 4), (BELL_QASM2, 2, 4), (qft(20), 20, 1 + 20 + 190 + 10 + 20),
    ("// hello\n/* a\n comment */ OPENQASM 3.0; qubit[3] q; h q;", 3, 3),
    (H + "qubit[2] q; for int i in [0:9] { x q; }", 2, 20),
    (H + "qubit[2] q; for i in [0:2:9] { x q[0]; }", 2, 5),
    (H + "qubit[2] q; for i in {1, 5, 7} { x q[0]; }", 2, 3),
    (H + "qubit[1] q; bit[1] c; if (c[0]) x q[0]; else { x q[0]; x q[0]; }", 1, 3),
    (nested_gates(3), 1, 8 + 1),
    ('OPENQASM 3.0; include "stdgates.inc"; h $0; cx $0, $126;', 127, 2),
])
def test_the_shape_of_a_program(text: str, qubits: int, operations: int) -> None:
    shape = check_program(text, LIMITS)
    assert (shape.qubits, shape.operations) == (qubits, operations)


@pytest.mark.parametrize(("text", "limit"), [
    (nested_gates(13), "gate_depth"),
    (H + "qubit[1] q; bit[1000000] c;", "clbits"),
    ("OPENQASM 2.0; qreg q[1000000];", "qubits"),
    (H + "qubit[1] q; for int i in [0:2147483647] { x q[0]; }", "operations"),
    (H + "qubit[100] q; for i in [0:99] { for j in [0:99] { for k in [0:9] { h q; } } }",
     "operations"),
    (H + "(" * 40, "program_nesting"),
    (H + "if (c) " * 40 + "x q;", "program_nesting"),
])
def test_a_program_over_a_limit_names_it(text: str, limit: str) -> None:
    with pytest.raises(ProgramOverLimit) as refused:
        check_program(text, LIMITS)
    assert refused.value.limit == limit and refused.value.value > refused.value.maximum


@pytest.mark.parametrize(("text", "words"), [
    ("/**/" * 40 + "x", "not an OpenQASM program"),
    ("OPENQASM 4.0; qubit q;", "unsupported OpenQASM version"),
    (H + "qubit[1] q; while (true) { x q[0]; }", "'while'"),
    (H + "qubit[1] q; for i in [0:n] { x q[0]; }", "integer literals"),
    (H + "const int n = 4; qubit[n] q;", "integer literal"),
    (H + "qubit[" + "9" * 5000 + "] q;", "too large"),
    (H + "array[int[8], 10] a;", "arrays"),
])
def test_what_cannot_be_bounded_statically_is_refused(text: str, words: str) -> None:
    with pytest.raises(ProgramRefused, match=words):
        check_program(text, LIMITS)


@pytest.mark.parametrize("text", [
    "OPENQASM 3.0;" + "/*" * 300_000, "OPENQASM 3.0;" + "//" * 300_000,
    "/**/" * 250_000 + "x", "OPENQASM 3.0;" + '"' * 1_000_000,
    "OPENQASM 3.0;" + "gate g a { h a; }\n" * 50_000, slow_circuit(20, 600),
    "OPENQASM 3.0;" + "{}" * 500_000, "OPENQASM 3.0;" + "qubit q" * 100_000,
])
def test_a_megabyte_is_checked_in_well_under_a_second(text: str) -> None:
    started = time.thread_time()
    with contextlib.suppress(ProgramRefused):
        check_program(text, LIMITS)
    assert time.thread_time() - started < 1.0, len(text)


def test_what_real_users_send_passes() -> None:
    for body in LEGITIMATE.values():
        check_program(body["pubs"][0]["circuit"], LIMITS)
