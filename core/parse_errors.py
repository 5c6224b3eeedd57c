"""What the OpenQASM parsers say when they refuse a program, said for the API's clients: where
(line, 1-based column) and what, in the gateway's words where theirs are Python's or qiskit's
(a gate class's constructor, an index error, a repr)."""

from __future__ import annotations

import re

from qiskit import qasm2, qasm3

MESSAGE_CHARS = 500  # of a parser's message: all a client needs, and a bound on the patterns' work
_QASM2_POSITION = re.compile(r"<input>:(\d+),(\d+):\s*(.*)", re.S)
_QASM3_POSITION = re.compile(r"^L?(\d+)[,:]C?(\d+):\s*(.*)", re.S)


def describe_parse_error(exc: Exception, include: str) -> tuple[str, int | None, int | None]:
    """Message in our words, line and 1-based column (every parser here counts columns from 0)."""
    message = str(exc).strip()[:MESSAGE_CHARS]
    if len(message) > 1 and message[0] == message[-1] and message[0] in "'\"":
        message = message[1:-1]  # qiskit's CircuitError says its message as a repr
    for pattern in (_QASM2_POSITION, _QASM3_POSITION):
        found = pattern.match(message)
        if found:
            return (in_our_words(found.group(3).strip(), include), int(found.group(1)),
                    int(found.group(2)) + 1)
    cause = exc.__cause__
    recognition = cause.args[0] if cause is not None and cause.args else None
    token = getattr(recognition, "offendingToken", None)
    if token is not None:
        return f"syntax error at '{getattr(token, 'text', '')}'", token.line, token.column + 1
    node = getattr(exc, "node", None)
    span = getattr(node, "span", None)
    if span is not None:
        return in_our_words(message, include), span.start_line, span.start_column + 1
    own = isinstance(exc, qasm2.QASM2ParseError | qasm3.QASM3ImporterError)
    return in_our_words(message, include, own), None, None


# What the parsers say in Python's or qiskit's words (a constructor's signature, a repr), said in
# ours; {include} is the version's standard-gates file
_PARSER_WORDS = [(re.compile(pattern), words) for pattern, words in [
    (r"gate '(\w+)' is not defined\.?$",
     "unknown gate '{0}'; the standard gates need include \"{include}\";"),
    (r"cannot use non-builtin custom instruction '(\w+)' before definition$",
     "unknown gate '{0}'; the standard gates need include \"{include}\";"),
    (r"'(\w+)' is not defined in this scope$", "'{0}' is neither a declared register nor a "
                                              "known gate; the standard gates need include "
                                              '"{include}";'),
    (r"Undefined symbol '(\w+)'\.?$", "'{0}' is not declared"),
    (r"Symbol '(\w+)' already inserted in symbol table", "'{0}' is declared twice"),
    (r'register name "(\w+)" already exists$', "'{0}' is declared twice"),
    (r"The amount of qubit\((\d+)\)/clbit\((\d+)\) arguments does not match the gate "
     r"expectation \((\d+)\)", "a gate is applied to {0} qubit(s) but acts on {2}"),
    (r"\w+\.__init__\(\) missing (\d+) required positional arguments?: (.+)$",
     "a gate is missing {0} parameter(s): {1}"),
    (r"label expects a string or None$", "a gate is given more parameters than it takes"),
    (r"\w+\.__init__\(\) takes .* positional arguments? but .* given$",
     "a gate is given more parameters than it takes"),
    (r"duplicate (bit arguments|qubits in gate application)$",
     "a gate is applied to the same qubit twice"),
    (r"index out of range$", "a qubit or bit index is past the end of its register"),
    (r"register size error$", "a measurement's qubits and bits differ in number"),
]]
CANNOT_BUILD = ("the program parses but no circuit can be built from it: check the gates' "
                "arguments and parameters and the registers' sizes")


def in_our_words(message: str, include: str, own: bool = True) -> str:
    """A parser's message, translated where it is Python's or qiskit's; kept where it is the
    parser's own diagnostic (`own`), else said in general words."""
    for pattern, words in _PARSER_WORDS:
        found = pattern.match(message)
        if found:
            names = [group.replace("'", "") for group in found.groups()]
            return words.format(*names, include=include)
    return message if own else CANNOT_BUILD
