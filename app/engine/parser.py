"""Parses expression text into a Circuit with an explicit-stack operator-precedence parser.

Nothing here recurses, so a 100,000-term chain or a deeply nested expression cannot hit
Python's recursion limit; depth, size and literal length are policy limits from Settings.
The text is only ever tokenized and parsed: no eval, exec or compile.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from app.core.errors import LimitError, ProblemError
from app.engine.builder import Builder, Operand, ParseLimits, bind_name, constant
from app.engine.circuit import Circuit, Span
from app.engine.gates import GATES, Gate, operators
from app.engine.lexer import END, NAME, NEWLINE, NUM, OP, Token, parse_problem, tokenize
from app.engine.subscripts import closing_bracket, parse_index

# The operator tables are read from the gates (operator, precedence, right_assoc). Unary plus
# is no gate (it changes nothing) and binds as tightly as unary minus.
_IDENTITY = "+"
# (len(GATES), infix, prefix): read once, not per statement; gates are only ever added.
_tables: tuple[int, dict[str, Gate], dict[str, Gate]] = (0, {}, {})


def _operator_tables() -> tuple[dict[str, Gate], dict[str, Gate]]:
    global _tables
    if _tables[0] != len(GATES):
        _tables = (len(GATES), operators(GATES, 2), operators(GATES, 1))
    return _tables[1], _tables[2]


@dataclass(slots=True)
class _Marker:
    """An open '(' (kind 'paren'), or a call's '(' (kind 'call', with the function token)."""

    kind: str
    token: Token
    name_token: Token | None = None
    args: int = 0
    stack_base: int = 0


@dataclass(slots=True)
class _Pending:
    """An operator waiting on the stack: binary, or unary (prefix) minus/plus."""

    op: str
    token: Token
    unary: bool
    gate: Gate | None  # None for unary plus
    precedence: int


def parse(source: str, limits: ParseLimits | None = None) -> Circuit:
    """Parses a program (stages and a final expression) into a Circuit."""
    limits = limits or ParseLimits()
    if len(source) > limits.max_expression_chars:
        raise LimitError(
            "the expression's length",
            len(source),
            limits.max_expression_chars,
            "max_expression_chars",
            loc=("body", "expression"),
        )
    tokens = tokenize(source, limits.max_literal_chars)
    statements = _split_statements(tokens)
    if not statements:
        raise ProblemError(
            parse_problem(source, 1, 1, "the expression is empty", "empty_expression")
        )
    if len(statements) > limits.max_statements:
        raise LimitError(
            "the number of statements",
            len(statements),
            limits.max_statements,
            "max_statements",
            loc=("body", "expression"),
        )
    builder = Builder(source, limits)
    assigned = _assignments(builder, statements)
    stage_lines: dict[str, int] = {}
    output = -1
    for index, statement in enumerate(statements):
        last = index == len(statements) - 1
        if len(statement) >= 2 and statement[0].kind == NAME and statement[1].text == "=":
            name = statement[0].text
            operand = _parse_expression(builder, statement[2:], assigned, statement[1])
            node = builder.nodes[operand.node]
            if name not in node.labels:
                node.labels.append(name)
            builder.bindings[name] = operand.node
            stage_lines[name] = statement[0].line
            output = operand.node
        else:
            if not last:
                raise builder.fail(
                    statement[0],
                    "only the last statement may be a bare expression; "
                    "name this stage: name = expression",
                )
            output = _parse_expression(builder, statement, assigned, None).node
    circuit = Circuit(builder.nodes, output, builder.input_names, stage_lines)
    return circuit.pruned(frozenset(builder.index_constants))


def _split_statements(tokens: list[Token]) -> list[list[Token]]:
    statements: list[list[Token]] = []
    current: list[Token] = []
    for token in tokens:
        if token.kind in (NEWLINE, END) or (token.kind == OP and token.text == ";"):
            if current:
                statements.append(current)
            current = []
        else:
            current.append(token)
    return statements


def _assignments(builder: Builder, statements: list[list[Token]]) -> dict[str, Token]:
    """Names bound by `name = ...` statements, checked for reuse and for clashing with gates."""
    assigned: dict[str, Token] = {}
    for statement in statements:
        for position, token in enumerate(statement):
            if (token.kind == OP and token.text == "=") and (
                position != 1 or statement[0].kind != NAME
            ):
                raise builder.fail(
                    token,
                    "'=' may only follow a stage name at the start of a "
                    "statement: name = expression",
                )
        if len(statement) >= 2 and statement[1].text == "=" and statement[0].kind == NAME:
            name_token = statement[0]
            name = name_token.text
            gate = GATES.get(name)
            if gate is not None and gate.by_name and gate.reserved:
                raise builder.fail(
                    name_token, f"cannot assign to '{name}': it is the name of a gate"
                )
            if name in assigned:
                raise builder.fail(
                    name_token,
                    f"'{name}' is already assigned on line "
                    f"{assigned[name].line}; give each stage its own name",
                )
            if len(statement) == 2:
                raise builder.fail(statement[1], f"'{name} =' needs an expression after '='")
            assigned[name] = name_token
    return assigned


def _parse_expression(
    builder: Builder, tokens: list[Token], assigned: dict[str, Token], after: Token | None
) -> Operand:
    """One expression, by shunting-yard: operands and operators on explicit stacks."""
    limits = builder.limits
    output: list[Operand] = []
    ops: list[_Pending | _Marker] = []
    infix, prefix = _operator_tables()
    depth = 0
    expect_operand = True
    i = 0
    n = len(tokens)

    def reduce_top() -> None:
        pending = ops.pop()
        assert isinstance(pending, _Pending)
        if pending.unary:
            operand = output.pop()
            output.append(_apply_unary(builder, pending, operand))
            return
        right = output.pop()
        left = output.pop()
        output.append(_apply_binary(builder, pending, left, right))

    def reduce_while(precedence: int, right_assoc: bool) -> None:
        while ops and isinstance(ops[-1], _Pending):
            top = ops[-1].precedence
            if top > precedence or (top == precedence and not right_assoc):
                reduce_top()
            else:
                break

    while i < n:
        token = tokens[i]
        text = token.text
        if expect_operand:
            if token.kind == NUM:
                output.append(constant(builder, token))
                expect_operand = False
            elif token.kind == NAME:
                nxt = tokens[i + 1] if i + 1 < n else None
                if nxt is not None and nxt.text == "(":
                    gate = GATES.get(text)
                    if gate is None or not gate.by_name:
                        raise builder.fail(token, _unknown_function(text))
                    depth += 1
                    if depth > limits.max_nesting_depth:
                        raise _too_deep(depth, limits)
                    ops.append(_Marker("call", nxt, token, 0, len(output)))
                    i += 2
                    if i < n and tokens[i].text == ")":
                        raise builder.fail(tokens[i], f"{text}() needs {_arity_text(gate.arity)}")
                    continue
                output.append(bind_name(builder, token, assigned))
                expect_operand = False
            elif text == "(":
                depth += 1
                if depth > limits.max_nesting_depth:
                    raise _too_deep(depth, limits)
                ops.append(_Marker("paren", token, None, 0, len(output)))
            elif token.kind == OP and (text in prefix or text == _IDENTITY):
                gate = prefix.get(text)
                binding = (gate or prefix["-"]).precedence
                assert binding is not None  # register() refuses an operator without one
                ops.append(_Pending(text, token, True, gate, binding))
            else:
                raise builder.fail(token, _expected_operand(token, after))
        else:
            if token.kind == OP and text in infix:
                gate = infix[text]
                assert gate.precedence is not None  # register() refuses an operator without one
                reduce_while(gate.precedence, gate.right_assoc)
                ops.append(_Pending(text, token, False, gate, gate.precedence))
                expect_operand = True
            elif text == ",":
                while ops and isinstance(ops[-1], _Pending):
                    reduce_top()
                if not ops or not isinstance(ops[-1], _Marker) or ops[-1].kind != "call":
                    raise builder.fail(
                        token, "a ',' outside a function call: tuples are not allowed"
                    )
                ops[-1].args += 1
                expect_operand = True
            elif text == ")":
                while ops and isinstance(ops[-1], _Pending):
                    reduce_top()
                if not ops:
                    raise builder.fail(token, "unmatched ')'")
                marker = ops.pop()
                assert isinstance(marker, _Marker)
                depth -= 1
                if marker.kind == "paren":
                    inner = output[-1]
                    output[-1] = Operand(
                        inner.node,
                        (marker.token.line, marker.token.col),
                        (token.line, token.end_col),
                    )
                else:
                    output.append(_call(builder, marker, output, token))
            elif text == "[":
                close = closing_bracket(builder, tokens, i)
                output[-1] = parse_index(
                    builder, output[-1], tokens[i + 1 : close], tokens[close], assigned
                )
                i = close
            elif text == ".":
                attr = tokens[i + 1] if i + 1 < n else None
                if attr is None or attr.kind != NAME or attr.text != "T":
                    shown = attr.text if attr is not None else ""
                    raise builder.fail(
                        token,
                        f"attribute access '.{shown}' is not allowed; the only attribute is .T "
                        "(transpose)",
                    )
                operand = output[-1]
                output[-1] = builder.gate(
                    "transpose", [operand], operand.start, (attr.line, attr.end_col)
                )
                i += 1
            elif token.kind in (NUM, NAME):
                raise builder.fail(
                    token, f"missing operator before '{text}' (write * for multiplication)"
                )
            elif text == "(":
                raise builder.fail(token, "'(' after a value: only gate names can be called")
            elif text == "=":
                raise builder.fail(
                    token, "'=' may only follow a stage name at the start of a statement"
                )
            else:
                raise builder.fail(token, f"unexpected '{text}'")
        i += 1

    last = tokens[-1] if tokens else after
    assert last is not None
    if expect_operand:
        raise ProblemError(
            parse_problem(
                builder.source,
                last.line,
                last.end_col,
                "the expression ends early: an operand is missing",
            )
        )
    while ops:
        top = ops[-1]
        if isinstance(top, _Marker):
            raise builder.fail(top.token, "'(' is never closed")
        reduce_top()
    assert len(output) == 1
    return output[0]


def _apply_unary(builder: Builder, pending: _Pending, operand: Operand) -> Operand:
    start = (pending.token.line, pending.token.col)
    if pending.gate is None:  # unary plus
        return Operand(operand.node, start, operand.end)
    node = builder.nodes[operand.node]
    if (
        pending.op == "-"
        and node.kind == "const"
        and not node.labels
        and node.id == len(builder.nodes) - 1
    ):
        # A negative literal such as -2.5 is a constant, not a negate gate.
        node.const = -node.const
        node.span = Span(start[0], start[1], operand.end[0], operand.end[1])
        return Operand(operand.node, start, operand.end)
    return builder.gate(pending.gate.name, [operand], start, operand.end)


def _apply_binary(builder: Builder, pending: _Pending, left: Operand, right: Operand) -> Operand:
    gate = pending.gate
    assert gate is not None
    right_node = builder.nodes[right.node]
    if gate.constant_form is not None and right_node.kind == "const":
        return builder.gate(
            gate.constant_form, [left], left.start, right.end, param=right_node.const
        )
    return builder.gate(gate.name, [left, right], left.start, right.end)


def _call(builder: Builder, marker: _Marker, output: list[Operand], close: Token) -> Operand:
    assert marker.name_token is not None
    name = marker.name_token.text
    gate = GATES[name]
    count = marker.args + 1
    args = output[marker.stack_base :]
    del output[marker.stack_base :]
    assert len(args) == count
    low_p, high_p = gate.params
    params: list[Any] = []
    while len(params) < high_p and len(args) > gate.arity[0]:
        tail = builder.nodes[args[-1].node]
        if tail.kind != "const":
            break
        params.insert(0, tail.const)
        args.pop()
    low, high = gate.arity
    if len(args) < low or (high is not None and len(args) > high) or len(params) < low_p:
        raise builder.fail(
            marker.name_token, f"{name}() takes {_arity_text(gate.arity)}, got {count}"
        )
    start = (marker.name_token.line, marker.name_token.col)
    param = tuple(params) if high_p else None
    return builder.gate(name, args, start, (close.line, close.end_col), param=param)


def _arity_text(arity: tuple[int, int | None]) -> str:
    low, high = arity
    if high is None:
        return f"at least {low} arguments"
    if low == high:
        return "1 argument" if low == 1 else f"{low} arguments"
    return f"{low} to {high} arguments"


def _unknown_function(name: str) -> str:
    known = ", ".join(sorted(n for n, g in GATES.items() if g.by_name))
    return f"unknown function '{name}'; the gates you can call are: {known}"


def _expected_operand(token: Token, after: Token | None) -> str:
    if token.kind == END or token.kind == NEWLINE:
        return "the expression ends early: an operand is missing"
    if token.text == ")":
        return "empty parentheses, or ')' where a value should be"
    if token.text == "[":
        return "list literals are not allowed: pass vectors and matrices as inputs"
    return f"expected a number, a name or '(' but found '{token.text}'"


def _too_deep(depth: int, limits: ParseLimits) -> LimitError:
    return LimitError(
        "the nesting depth",
        depth,
        limits.max_nesting_depth,
        "max_nesting_depth",
        loc=("body", "expression"),
    )
