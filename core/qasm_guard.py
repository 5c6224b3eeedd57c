"""Linear-time checks of OpenQASM text, before any parser sees it.

The parsers' cost is not linear in the text: gate definitions that call each other, loops and
huge registers make a few hundred bytes cost seconds or gigabytes. So the text is first read
here, once, token by token (no backtracking pattern: comments are found with `str.find`, and
the token pattern's alternatives never overlap), and refused when its structure is over a
limit: nesting, declared registers, gate-definition depth, and the operations it expands to —
counted from the structure (a gate costs what its body costs, a loop with literal bounds its
iterations times its body, `h q` the size of `q`), without expanding anything.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

# identifiers, numbers (with fraction and exponent), then any other single character
_TOKEN = re.compile(r"[A-Za-z_][A-Za-z_0-9]*|[0-9]+(?:\.[0-9]*)?(?:[eE][-+]?[0-9]+)?|\S")
_OPEN, _CLOSE = "([{", ")]}"
QUANTUM_DECLARATIONS = {"qubit", "qreg"}
CLASSICAL_DECLARATIONS = {"bit", "creg", "int", "uint", "float", "angle", "bool", "complex"}
MODIFIERS = {"ctrl", "negctrl", "inv", "pow", "@"}
NOT_OPERATIONS = {"include", "input", "output", "const", "opaque", "defcalgrammar", "let",
                  "extern", "return"}  # statements that apply nothing to a qubit
NOT_HEADER = ("not an OpenQASM program: it must start with 'OPENQASM 2.0;' or 'OPENQASM 3.0;'")


@dataclass(frozen=True)
class ProgramLimits:
    max_nesting: int
    max_qubits: int
    max_clbits: int
    max_gate_depth: int
    max_operations: int


@dataclass
class ProgramShape:
    """What the structure of a program says it costs, before it is parsed."""

    version: str
    qubits: int = 0
    clbits: int = 0
    operations: int = 0
    gate_depth: int = 0


class ProgramRefused(Exception):
    """The program is over a limit or cannot be checked statically; args[0] says which."""


class ProgramOverLimit(ProgramRefused):
    """Over a configured limit: which, by how much, and the setting."""

    def __init__(self, message: str, limit: str, value: int, maximum: int, setting: str) -> None:
        super().__init__(f"{message}; at most {maximum} ({setting})")
        self.limit, self.value, self.maximum, self.setting = limit, value, maximum, setting


def check_program(text: str, limits: ProgramLimits) -> ProgramShape:
    """The program's shape, or ProgramRefused naming the limit it is over."""
    tokens = _TOKEN.findall(strip_comments(text))
    version = _header(tokens)
    _check_nesting(tokens, limits.max_nesting)
    scan = _Scan(tokens, limits, ProgramShape(version))
    scan.shape.operations = scan.block(3, len(tokens), broadcast=True)
    scan.finish()
    return scan.shape


def program_version(text: str) -> str:
    """The version in the program's `OPENQASM x;` header (comments may come before it)."""
    head = strip_comments(text).lstrip()[:64]
    return _header(_TOKEN.findall(head))


def strip_comments(text: str) -> str:
    """The text with `//` and `/* */` comments replaced by a space, in one pass."""
    out, i = [], 0
    line, block = text.find("//"), text.find("/*")
    while line >= 0 or block >= 0:
        start = min(p for p in (line, block) if p >= 0)
        out.append(text[i:start])
        if start == line:
            end = text.find("\n", start)
            i = len(text) if end < 0 else end
        else:
            end = text.find("*/", start + 2)
            i = len(text) if end < 0 else end + 2
        out.append(" ")
        if line >= 0 and line < i:
            line = text.find("//", i)
        if block >= 0 and block < i:
            block = text.find("/*", i)
    out.append(text[i:])
    return "".join(out)


def _header(tokens: list[str]) -> str:
    if len(tokens) < 3 or tokens[0] != "OPENQASM" or tokens[2] != ";":
        raise ProgramRefused(NOT_HEADER)
    version = tokens[1]
    if not version[:1].isdigit():
        raise ProgramRefused(NOT_HEADER)
    if not version.startswith(("2", "3")):
        raise ProgramRefused(f"unsupported OpenQASM version {version}")
    return version


def _check_nesting(tokens: list[str], limit: int) -> None:
    depth = 0
    for token in tokens:
        if token in _OPEN:
            depth += 1
            if depth > limit:
                raise ProgramOverLimit(f"brackets nested {depth} deep", "program_nesting", depth,
                                       limit, "GATEWAY_MAX_PROGRAM_NESTING")
        elif token in _CLOSE:
            depth -= 1


@dataclass
class _Scan:
    """A cursor over the tokens that adds up what each statement costs."""

    tokens: list[str]
    limits: ProgramLimits
    shape: ProgramShape
    gates: dict[str, tuple[int, int]] = field(default_factory=dict)  # name -> (cost, depth)
    registers: dict[str, int] = field(default_factory=dict)
    physical: int = 0  # highest $n + 1
    callee_depth: int = 0
    level: int = 0  # statements inside statements (`if if if ...` needs no bracket)

    def block(self, i: int, end: int, broadcast: bool) -> int:
        """Cost of the statements in tokens[i:end]."""
        cost = 0
        while i < end:
            i, more = self.statement(i, end, broadcast)
            cost += more
        return cost

    def statement(self, i: int, end: int, broadcast: bool) -> tuple[int, int]:
        """(index after the statement, its cost)."""
        self.level += 1
        if self.level > self.limits.max_nesting:
            raise ProgramOverLimit(f"statements nested {self.level} deep", "program_nesting",
                                   self.level, self.limits.max_nesting,
                                   "GATEWAY_MAX_PROGRAM_NESTING")
        try:
            return self._statement(i, end, broadcast)
        finally:
            self.level -= 1

    def _statement(self, i: int, end: int, broadcast: bool) -> tuple[int, int]:
        if i >= min(end, len(self.tokens)):  # `if (c)` or `for ...` with nothing after
            return max(i, end), 0
        token = self.tokens[i]
        if token == "{":
            close = self.matching(i)
            return close + 1, self.block(i + 1, close, broadcast)
        if token in ("gate", "def"):
            return self.definition(i)
        if token == "for":
            return self.for_loop(i, end, broadcast)
        if token == "while":
            raise ProgramRefused("'while' loops are not accepted: their cost cannot be known "
                                 "before they run; use a 'for' loop with literal bounds")
        if token == "if":
            after = self.matching(i + 1) + 1 if self.at(i + 1) == "(" else i + 1
            after, cost = self.statement(after, end, broadcast)
            if self.at(after) == "else":
                after, other = self.statement(after + 1, end, broadcast)
                cost += other
            return after, cost
        if token in QUANTUM_DECLARATIONS or token in CLASSICAL_DECLARATIONS or token == "array":
            return self.declaration(i), 0
        return self.simple(i, end, broadcast)

    def simple(self, i: int, end: int, broadcast: bool) -> tuple[int, int]:
        """A gate call, measurement or anything else up to `;` (a `{` starts a block)."""
        callee, width, j = None, 1, i
        while j < end and self.tokens[j] not in (";", "{"):
            token = self.tokens[j]
            if token in _OPEN:
                j = self.matching(j)
            elif token == "$" and _is_int(self.at(j + 1)):
                self.physical = max(self.physical, _int(self.tokens[j + 1]) + 1)
            elif callee is None and token[0].isalpha() and token not in MODIFIERS:
                callee = token
            elif broadcast and token in self.registers and self.at(j + 1) != "[":
                width = max(width, self.registers[token])
            j += 1
        cost, depth = self.gates.get(callee or "", (1, 0))
        if self.tokens[i] in NOT_OPERATIONS:
            cost = 0
        self.callee_depth = max(self.callee_depth, depth)
        if self.at(j) == "{":
            close = self.matching(j)
            return close + 1, cost * width + self.block(j + 1, close, broadcast)
        return j + 1, cost * width

    def definition(self, i: int) -> tuple[int, int]:
        name = self.at(i + 1)
        open_ = i + 2
        while open_ < len(self.tokens) and self.tokens[open_] != "{":
            open_ += 1
        close = self.matching(open_)
        outer, self.callee_depth = self.callee_depth, 0
        cost = self.block(open_ + 1, close, broadcast=False)
        depth = self.callee_depth + 1
        self.callee_depth = outer
        if depth > self.limits.max_gate_depth:
            raise ProgramOverLimit(f"gate '{name}' is defined {depth} levels deep",
                                   "gate_depth", depth, self.limits.max_gate_depth,
                                   "GATEWAY_MAX_GATE_DEPTH")
        self.gates[name] = (max(cost, 1), depth)
        return close + 1, 0

    def for_loop(self, i: int, end: int, broadcast: bool) -> tuple[int, int]:
        j = i + 1
        while j < end and self.tokens[j] != "in":
            j += 1
        iterations, j = self.iterations(j + 1)
        after, cost = self.statement(j, end, broadcast)
        return after, iterations * cost

    def iterations(self, i: int) -> tuple[int, int]:
        """(iterations of a literal range or set, index after it)."""
        close = self.matching(i) if self.at(i) in ("[", "{") else -1
        inside = self.tokens[i + 1:close] if close > 0 else []
        if self.at(i) == "{":
            return inside.count(",") + 1, close + 1
        numbers = _literal_range(inside)
        if numbers is None:
            raise ProgramRefused("a 'for' loop runs over a range or set of integer literals "
                                 "(e.g. [0:9]), so that its cost is known before it runs")
        start, step, stop = numbers
        if step == 0:
            raise ProgramRefused("a 'for' loop's step must not be 0")
        return max(0, (stop - start) // step + 1), close + 1

    def declaration(self, i: int) -> int:
        kind, j = self.tokens[i], i + 1
        if kind == "array":
            raise ProgramRefused("arrays are not accepted")
        size = 1
        if self.at(j) == "[":  # qubit[5] q;  bit[5] c;  int[32] x;
            size, j = self.literal_size(j), self.matching(j) + 1
        name = self.at(j)
        if self.at(j + 1) == "[":  # qreg q[5];  creg c[5];
            size = self.literal_size(j + 1)
        if kind in QUANTUM_DECLARATIONS:
            self.shape.qubits += size
            self.registers[name] = size
        elif kind in ("bit", "creg"):
            self.shape.clbits += size
            self.registers[name] = size
        self.check_registers(size)
        while j < len(self.tokens) and self.tokens[j] != ";":
            j += 1
        return j + 1

    def literal_size(self, open_: int) -> int:
        close = self.matching(open_)
        inside = self.tokens[open_ + 1:close]
        if len(inside) != 1 or not _is_int(inside[0]):
            raise ProgramRefused("a register size or type width must be an integer literal")
        return _int(inside[0])

    def check_registers(self, size: int) -> None:
        limits, shape = self.limits, self.shape
        if shape.qubits > limits.max_qubits:
            raise ProgramOverLimit(f"the program declares {shape.qubits} qubits", "qubits",
                                   shape.qubits, limits.max_qubits, "GATEWAY_MAX_QUBITS")
        clbits = max(shape.clbits, size)
        if clbits > limits.max_clbits:
            raise ProgramOverLimit(f"the program declares {clbits} classical bits", "clbits",
                                   clbits, limits.max_clbits, "GATEWAY_MAX_CLBITS")

    def finish(self) -> None:
        shape, limits = self.shape, self.limits
        shape.qubits = max(shape.qubits, self.physical)
        self.check_registers(0)
        shape.gate_depth = max((depth for _, depth in self.gates.values()), default=0)
        if shape.operations > limits.max_operations:
            raise ProgramOverLimit(f"the program expands to about {shape.operations} operations",
                                   "operations", shape.operations, limits.max_operations,
                                   "GATEWAY_MAX_OPERATIONS")

    def at(self, i: int) -> str:
        return self.tokens[i] if 0 <= i < len(self.tokens) else ""

    def matching(self, i: int) -> int:
        """Index of the bracket closing the one at i (the end of the text if none)."""
        depth = 0
        for j in range(i, len(self.tokens)):
            token = self.tokens[j]
            if token in _OPEN:
                depth += 1
            elif token in _CLOSE:
                depth -= 1
                if depth == 0:
                    return j
        return len(self.tokens)


def _literal_range(tokens: list[str]) -> tuple[int, int, int] | None:
    """[a:b] or [a:s:b] with integer literals (a minus sign allowed): (a, s, b)."""
    numbers, sign, parts = [], 1, 0
    for token in tokens:
        if token == "-":
            sign = -sign
        elif _is_int(token):
            numbers.append(sign * _int(token))
            sign = 1
        elif token == ":":
            parts += 1
        else:
            return None
    if len(numbers) == 2 and parts == 1:
        return numbers[0], 1, numbers[1]
    if len(numbers) == 3 and parts == 2:
        return numbers[0], numbers[1], numbers[2]
    return None


def _is_int(token: str) -> bool:
    return token.isascii() and token.isdigit()


def _int(token: str) -> int:
    if len(token) > 18:  # also keeps int() clear of its 4,300-digit refusal
        raise ProgramRefused(f"the number {token[:20]}... is too large")
    return int(token)
