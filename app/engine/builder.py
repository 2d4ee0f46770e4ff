"""Builds a circuit's nodes while parsing: node creation, name binding and the size limits."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from app.core.config import Settings
from app.core.errors import LimitError, ProblemError
from app.engine.circuit import Node, Span
from app.engine.gates import GATES
from app.engine.lexer import COL, LINE, RawToken, parse_problem

_DEFAULT = Settings.model_fields


@dataclass(frozen=True, slots=True)
class ParseLimits:
    """The parser's size limits. The defaults are Settings' defaults (one place sets limits);
    the API passes the configured values of the Settings fields of the same names."""

    max_expression_chars: int = _DEFAULT["max_expression_chars"].default
    max_gates: int = _DEFAULT["max_gates"].default
    max_nesting_depth: int = _DEFAULT["max_nesting_depth"].default
    max_inputs: int = _DEFAULT["max_inputs"].default
    max_statements: int = _DEFAULT["max_statements"].default
    max_literal_chars: int = _DEFAULT["max_literal_chars"].default


# A line and a column, both 1-based.
Position = tuple[int, int]
# A parsed operand: its node id and the source span it covers (start, end), for excerpts and
# errors. A plain tuple rather than a class: the parser makes one per operand and parenthesis.
Operand = tuple[int, Position, Position]


class Builder:
    """Appends nodes in creation order (so the list is topological) and binds names to them."""

    def __init__(self, source: str, limits: ParseLimits) -> None:
        self.source = source
        self.limits = limits
        self.nodes: list[Node] = []
        self.bindings: dict[str, int] = {}
        self.input_names: list[str] = []
        self.gates = 0
        # Constant stages an index read by value (v[k] with k = 1): used, though no wire feeds on.
        self.index_constants: set[str] = set()

    def fail(self, token: RawToken, msg: str) -> ProblemError:
        return ProblemError(parse_problem(self.source, token[LINE], token[COL], msg))

    def add(self, node: Node) -> int:
        """Appends an input or constant node (gates come from gate(), which counts them)."""
        node.id = len(self.nodes)
        self.nodes.append(node)
        return node.id

    def gate(
        self,
        op: str,
        args: tuple[int, ...],
        start: Position,
        end: Position,
        param: Any = None,
    ) -> Operand:
        """A gate node on the nodes `args`, spanning start to end in the source."""
        nodes = self.nodes
        node_id = len(nodes)
        span = Span(start[0], start[1], end[0], end[1])
        # Node's fields by position (id, kind, op, args, name, const, labels, span): a call with
        # keywords costs about twice as much, and a program makes one node per gate.
        nodes.append(Node(node_id, "gate", op, args, None, param, [], span))
        self.gates += 1
        if self.gates > self.limits.max_gates:
            raise LimitError(
                "the number of gates",
                self.gates,
                self.limits.max_gates,
                "max_gates",
                loc=("body", "expression"),
            )
        return (node_id, start, end)


def constant(builder: Builder, token: RawToken) -> Operand:
    _, text, line, col, end_col = token
    value = float(text)
    if not math.isfinite(value):
        raise builder.fail(token, f"the number {text} is too large for float64")
    span = Span(line, col, line, end_col)
    node_id = builder.add(Node(0, "const", None, (), None, value, [], span))  # see gate()
    return (node_id, (line, col), (line, end_col))


def bind_name(builder: Builder, token: RawToken, assigned: dict[str, RawToken]) -> Operand:
    _, name, line, col, end_col = token
    node_id = builder.bindings.get(name)
    if node_id is not None:
        return (node_id, (line, col), (line, end_col))
    gate = GATES.get(name)
    if gate is not None and gate.by_name and gate.reserved:
        raise builder.fail(token, f"'{name}' is a gate: call it, as in {name}(x)")
    if name in assigned:
        at = assigned[name]
        if (at[LINE], at[COL]) > (line, col):
            raise builder.fail(token, f"'{name}' is used before it is assigned on line {at[LINE]}")
        raise builder.fail(token, f"'{name}' is used in its own definition")
    if len(builder.input_names) >= builder.limits.max_inputs:
        raise LimitError(
            "the number of inputs",
            len(builder.input_names) + 1,
            builder.limits.max_inputs,
            "max_inputs",
            loc=("body", "expression"),
        )
    span = Span(line, col, line, end_col)
    node_id = builder.add(Node(0, "input", name=name, span=span))
    builder.bindings[name] = node_id
    builder.input_names.append(name)
    return (node_id, (line, col), (line, end_col))
