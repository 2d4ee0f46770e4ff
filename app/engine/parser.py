"""Parses expression text into a Circuit with an explicit-stack operator-precedence parser.

Nothing here recurses, so a 100,000-term chain or a deeply nested expression cannot hit
Python's recursion limit; depth, size and literal length are policy limits from Settings.
The text is only ever tokenized and parsed: no eval, exec or compile.
"""

from __future__ import annotations

from typing import Any

from app.core.errors import LimitError, ProblemError
from app.engine.builder import Builder, Operand, ParseLimits, bind_name, constant
from app.engine.circuit import Circuit, Span
from app.engine.gates import GATES, Gate, operators
from app.engine.lexer import (
    COL,
    END,
    END_COL,
    KIND,
    LINE,
    NAME,
    NEWLINE,
    NUM,
    OP,
    TEXT,
    RawToken,
    parse_problem,
    scan,
)
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


# The shunting-yard's stacks hold tuples, cheaper to make than class instances (one per
# operator and parenthesis). An operator waiting on the stack, binary or unary (prefix)
# minus/plus: (precedence, gate (None for unary plus), its token, unary).
_Pending = tuple[int, Gate | None, RawToken, bool]
# An open '(' on its own stack: (the '(' token, the function's name token for a call's '(',
# else None, the output stack's height and the operator stack's height when it opened).
_Marker = tuple[RawToken, RawToken | None, int, int]


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
    tokens, ends = scan(source, limits.max_literal_chars)
    statements = _split_statements(tokens, ends)
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
    tables = _operator_tables()
    nodes = builder.nodes
    stage_lines: dict[str, int] = {}
    output = -1
    last = len(statements) - 1
    for index, statement in enumerate(statements):
        if len(statement) >= 2 and statement[0][KIND] == NAME and statement[1][TEXT] == "=":
            name = statement[0][TEXT]
            output = _parse_expression(builder, statement[2:], assigned, statement[1], tables)[0]
            # No need to check that the name is not there yet (a list: the test would take time
            # in the number of names on the node): _assignments refused a name assigned twice.
            nodes[output].labels.append(name)
            builder.bindings[name] = output
            stage_lines[name] = statement[0][LINE]
        else:
            if index != last:
                raise builder.fail(
                    statement[0],
                    "only the last statement may be a bare expression; "
                    "name this stage: name = expression",
                )
            output = _parse_expression(builder, statement, assigned, None, tables)[0]
    circuit = Circuit(nodes, output, builder.input_names, stage_lines)
    return circuit.pruned(frozenset(builder.index_constants))


def _split_statements(tokens: list[RawToken], ends: list[int]) -> list[list[RawToken]]:
    """The statements' tokens, between the tokens that end statements (positions `ends`)."""
    statements: list[list[RawToken]] = []
    begin = 0
    for end in ends:
        if end > begin:
            statements.append(tokens[begin:end])
        begin = end + 1
    return statements


def _assignments(builder: Builder, statements: list[list[RawToken]]) -> dict[str, RawToken]:
    """Names bound by `name = ...` statements, checked for reuse and for clashing with gates,
    and every '=' checked to follow a stage name at the start of its statement."""
    assigned: dict[str, RawToken] = {}
    stages = [s for s in statements if len(s) >= 2 and s[1][TEXT] == "=" and s[0][KIND] == NAME]
    # Each '=' in the text is an '=' token or in a comment (the lexer refuses :=, == and !=),
    # and each stage has its '=' token: when the text holds no other '=', no '=' is out of
    # place and only the stages need a look, not each token.
    if builder.source.count("=") == len(stages):
        for statement in stages:
            _assign(builder, statement, assigned)
        return assigned
    for statement in statements:
        for position, token in enumerate(statement):
            if (token[KIND] == OP and token[TEXT] == "=") and (
                position != 1 or statement[0][KIND] != NAME
            ):
                raise builder.fail(
                    token,
                    "'=' may only follow a stage name at the start of a "
                    "statement: name = expression",
                )
        if len(statement) >= 2 and statement[1][TEXT] == "=" and statement[0][KIND] == NAME:
            _assign(builder, statement, assigned)
    return assigned


def _assign(builder: Builder, statement: list[RawToken], assigned: dict[str, RawToken]) -> None:
    """Records the stage `statement` (name = ...) in `assigned`, or raises what is wrong."""
    name_token = statement[0]
    name = name_token[TEXT]
    gate = GATES.get(name)
    if gate is not None and gate.by_name and gate.reserved:
        raise builder.fail(name_token, f"cannot assign to '{name}': it is the name of a gate")
    if name in assigned:
        raise builder.fail(
            name_token,
            f"'{name}' is already assigned on line "
            f"{assigned[name][LINE]}; give each stage its own name",
        )
    if len(statement) == 2:
        raise builder.fail(statement[1], f"'{name} =' needs an expression after '='")
    assigned[name] = name_token


def _parse_expression(
    builder: Builder,
    tokens: list[RawToken],
    assigned: dict[str, RawToken],
    after: RawToken | None,
    tables: tuple[dict[str, Gate], dict[str, Gate]],
) -> Operand:
    """One expression, by shunting-yard: operands and operators on explicit stacks, and the
    open parentheses on a third, so that the operators above the innermost '(' are those from
    position `floor` of the operator stack up."""
    max_depth = builder.limits.max_nesting_depth
    bindings = builder.bindings
    infix, prefix = tables
    output: list[Operand] = []
    ops: list[_Pending] = []
    markers: list[_Marker] = []  # innermost last; how many is the nesting depth
    floor = 0
    expect_operand = True
    i = 0
    n = len(tokens)
    while i < n:
        token = tokens[i]
        kind, text, line, col, end_col = token
        if expect_operand:
            if kind == NAME:
                if i + 1 < n and tokens[i + 1][TEXT] == "(":
                    gate = GATES.get(text)
                    if gate is None or not gate.by_name:
                        raise builder.fail(token, _unknown_function(text))
                    if len(markers) >= max_depth:
                        raise _too_deep(len(markers) + 1, builder.limits)
                    floor = len(ops)
                    markers.append((tokens[i + 1], token, len(output), floor))
                    i += 2
                    if i < n and tokens[i][TEXT] == ")":
                        raise builder.fail(tokens[i], f"{text}() needs {_arity_text(gate.arity)}")
                    continue
                bound = bindings.get(text)  # bind_name's first case, without the call
                if bound is None:
                    output.append(bind_name(builder, token, assigned))
                else:
                    output.append((bound, (line, col), (line, end_col)))
                expect_operand = False
            elif kind == NUM:
                output.append(constant(builder, token))
                expect_operand = False
            elif text == "(":
                if len(markers) >= max_depth:
                    raise _too_deep(len(markers) + 1, builder.limits)
                floor = len(ops)
                markers.append((token, None, len(output), floor))
            elif kind == OP and (text in prefix or text == _IDENTITY):
                gate = prefix.get(text)
                binding = (gate or prefix["-"]).precedence
                assert binding is not None  # register() refuses an operator without one
                ops.append((binding, gate, token, True))
            else:
                raise builder.fail(token, _expected_operand(token, after))
        elif kind == OP and text in infix:
            gate = infix[text]
            precedence = gate.precedence
            assert precedence is not None  # register() refuses an operator without one
            right_assoc = gate.right_assoc
            while len(ops) > floor:
                top = ops[-1][0]
                if top > precedence or (top == precedence and not right_assoc):
                    _reduce(builder, ops, output)
                else:
                    break
            ops.append((precedence, gate, token, False))
            expect_operand = True
        elif text == ",":
            while len(ops) > floor:
                _reduce(builder, ops, output)
            if not markers or markers[-1][1] is None:
                raise builder.fail(token, "a ',' outside a function call: tuples are not allowed")
            expect_operand = True
        elif text == ")":
            while len(ops) > floor:
                _reduce(builder, ops, output)
            if not markers:
                raise builder.fail(token, "unmatched ')'")
            paren, name_token, base, _ = markers.pop()
            floor = markers[-1][3] if markers else 0
            if name_token is None:
                output[-1] = (output[-1][0], (paren[LINE], paren[COL]), (line, end_col))
            else:
                output.append(_call(builder, name_token, output, base, token))
        elif text == "[":
            close = closing_bracket(builder, tokens, i)
            output[-1] = parse_index(
                builder, output[-1], tokens[i + 1 : close], tokens[close], assigned
            )
            i = close
        elif text == ".":
            attr = tokens[i + 1] if i + 1 < n else None
            if attr is None or attr[KIND] != NAME or attr[TEXT] != "T":
                shown = attr[TEXT] if attr is not None else ""
                raise builder.fail(
                    token,
                    f"attribute access '.{shown}' is not allowed; the only attribute is .T "
                    "(transpose)",
                )
            operand = output[-1]
            output[-1] = builder.gate(
                "transpose", (operand[0],), operand[1], (attr[LINE], attr[END_COL])
            )
            i += 1
        elif kind in (NUM, NAME):
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

    if expect_operand:
        last = tokens[-1] if tokens else after
        assert last is not None
        raise ProblemError(
            parse_problem(
                builder.source,
                last[LINE],
                last[END_COL],
                "the expression ends early: an operand is missing",
            )
        )
    while ops:
        if len(ops) == floor:
            raise builder.fail(markers[-1][0], "'(' is never closed")
        _reduce(builder, ops, output)
    if markers:
        raise builder.fail(markers[-1][0], "'(' is never closed")
    assert len(output) == 1
    return output[0]


def _reduce(builder: Builder, ops: list[_Pending], output: list[Operand]) -> None:
    """Applies the operator on top of the stack to the operands on top of the output stack."""
    _, gate, token, unary = ops.pop()
    if unary:
        output[-1] = _apply_unary(builder, gate, token, output[-1])
        return
    assert gate is not None
    right, _, end = output.pop()
    left, start, _ = output[-1]
    right_node = builder.nodes[right]
    if gate.constant_form is not None and right_node.kind == "const":
        output[-1] = builder.gate(gate.constant_form, (left,), start, end, right_node.const)
    else:
        output[-1] = builder.gate(gate.name, (left, right), start, end)


def _apply_unary(builder: Builder, gate: Gate | None, token: RawToken, operand: Operand) -> Operand:
    start = (token[LINE], token[COL])
    node_id, _, end = operand
    if gate is None:  # unary plus
        return (node_id, start, end)
    node = builder.nodes[node_id]
    if (
        token[TEXT] == "-"
        and node.kind == "const"
        and not node.labels
        and node_id == len(builder.nodes) - 1
    ):
        # A negative literal such as -2.5 is a constant, not a negate gate.
        node.const = -node.const
        node.span = Span(start[0], start[1], end[0], end[1])
        return (node_id, start, end)
    return builder.gate(gate.name, (node_id,), start, end)


def _call(
    builder: Builder, name_token: RawToken, output: list[Operand], base: int, close: RawToken
) -> Operand:
    """The call whose arguments are the operands above position `base` of the output stack."""
    name = name_token[TEXT]
    gate = GATES[name]
    args = output[base:]
    del output[base:]
    count = len(args)
    low_p, high_p = gate.params
    params: list[Any] = []
    while len(params) < high_p and len(args) > gate.arity[0]:
        tail = builder.nodes[args[-1][0]]
        if tail.kind != "const":
            break
        params.insert(0, tail.const)
        args.pop()
    low, high = gate.arity
    if len(args) < low or (high is not None and len(args) > high) or len(params) < low_p:
        raise builder.fail(name_token, f"{name}() takes {_arity_text(gate.arity)}, got {count}")
    start = (name_token[LINE], name_token[COL])
    param = tuple(params) if high_p else None
    ids = tuple([arg[0] for arg in args])
    return builder.gate(name, ids, start, (close[LINE], close[END_COL]), param)


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


def _expected_operand(token: RawToken, after: RawToken | None) -> str:
    kind, text = token[KIND], token[TEXT]
    if kind in (END, NEWLINE):
        return "the expression ends early: an operand is missing"
    if text == ")":
        return "empty parentheses, or ')' where a value should be"
    if text == "[":
        return "list literals are not allowed: pass vectors and matrices as inputs"
    return f"expected a number, a name or '(' but found '{text}'"


def _too_deep(depth: int, limits: ParseLimits) -> LimitError:
    return LimitError(
        "the nesting depth",
        depth,
        limits.max_nesting_depth,
        "max_nesting_depth",
        loc=("body", "expression"),
    )
