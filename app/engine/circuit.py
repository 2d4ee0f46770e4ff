"""The circuit a program parses into: nodes in creation (hence topological) order."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


# Not frozen: the parser makes one per node, and a frozen dataclass's __init__ costs about three
# times as much; a span is replaced, never changed (parser.py's negative literal).
@dataclass(slots=True)
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

    def pruned(self, read_as_constants: frozenset[str] = frozenset()) -> Circuit:
        """Drops nodes that do not feed the output, warning about stages that go nowhere
        (a constant stage read by an index, `k = 1` then `v[k]`, is used: no warning)."""
        nodes = self.nodes
        live = [False] * len(nodes)
        live[self.output] = True
        for node in reversed(nodes):
            if live[node.id]:
                for arg in node.args:
                    live[arg] = True
        if all(live):
            return self
        warnings = [
            {
                "node": None,
                "msg": f"stage '{label}' (line {self.stage_lines.get(label, '?')}) "
                "does not feed the output and is left out",
            }
            for node in nodes
            if not live[node.id]
            for label in node.labels
            if label not in read_as_constants
        ]
        remap: dict[int, int] = {}
        kept: list[Node] = []
        for node in nodes:
            if live[node.id]:
                remap[node.id] = len(kept)
                node.args = tuple(remap[a] for a in node.args)
                node.id = len(kept)
                kept.append(node)
        used = {n.name for n in kept if n.kind == "input"}
        unused = [name for name in self.input_names if name not in used]
        for name in unused:
            warnings.append(
                {"node": None, "msg": f"input '{name}' only feeds stages that are left out"}
            )
        return Circuit(
            kept,
            remap[self.output],
            [n for n in self.input_names if n in used],
            self.stage_lines,
            warnings,
        )
