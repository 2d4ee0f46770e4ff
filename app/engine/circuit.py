"""The circuit a program parses into: nodes in creation (hence topological) order."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class Span:
    line: int
    col: int
    end_line: int
    end_col: int

    def as_dict(self) -> dict[str, int]:
        return {
            "line": self.line,
            "col": self.col,
            "end_line": self.end_line,
            "end_col": self.end_col,
        }


@dataclass(slots=True)
class Node:
    """One wire's source: an input, a constant, or a gate applied to earlier nodes."""

    id: int
    kind: str  # "input" | "const" | "gate"
    op: str | None = None  # gate name for kind == "gate"
    args: tuple[int, ...] = ()
    name: str | None = None  # input name
    const: Any = None  # constant value (float), or a gate's static parameter (index, axis)
    labels: list[str] = field(default_factory=list)  # stage names bound to this node
    span: Span | None = None
    text: str = ""  # the source excerpt this node came from


@dataclass(slots=True)
class Circuit:
    nodes: list[Node]
    output: int
    input_names: list[str]  # first-use order
    stage_lines: dict[str, int] = field(default_factory=dict)
    warnings: list[dict[str, Any]] = field(default_factory=list)

    @property
    def gate_count(self) -> int:
        return sum(1 for node in self.nodes if node.kind == "gate")

    def input_node(self, name: str) -> Node:
        return next(node for node in self.nodes if node.kind == "input" and node.name == name)
