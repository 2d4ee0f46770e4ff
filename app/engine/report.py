"""How an answer names things: wire names, excerpts, symbols, parameters, cached values, warnings."""

from __future__ import annotations

import math
import re
from typing import Any

import numpy as np

from app.engine.circuit import Circuit, Node
from app.engine.gates import GATES
from app.engine.numbers import fmt, to_json
from app.engine.passes import Trace
from app.engine.shapes import shape_str
from app.engine.tensor_gates import tensor_symbol

_EXCERPT = 40
_NEWLINE = re.compile("\n")
_CALL = re.compile(r"[A-Za-z_]\w*\([^()]*\)")


class Excerpts:
    """Source text of a node's span, shortened in the middle; O(1) per node."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.line_starts = [0] + [m.end() for m in _NEWLINE.finditer(source)]

    def spans(self, nodes: list[Node]) -> list[tuple[int, int] | None]:
        """Each node's span as (start, end) offsets into the source, None for a node without
        one. A (line, col) is at line_starts[line - 1] + col - 1 (a line past the end counts as
        the last); one loop for all the nodes, as this runs once per node of a circuit."""
        starts = self.line_starts
        last = len(starts)
        found: list[tuple[int, int] | None] = []
        for node in nodes:
            span = node.span
            if span is None:
                found.append(None)
            else:
                start = starts[min(span.line, last) - 1] + span.col - 1
                found.append((start, starts[min(span.end_line, last) - 1] + span.end_col - 1))
        return found

    def texts(self, nodes: list[Node]) -> list[str]:
        """Each node's excerpt."""
        source = self.source
        found = []
        for where in self.spans(nodes):
            if where is None:
                found.append("")
                continue
            start, end = where
            if end - start <= _EXCERPT:
                text = source[start:end]
            else:
                text = source[start : start + 26] + " … " + source[end - 11 : end]
            found.append(" ".join(text.split()))
        return found


def node_symbol(node: Node, arg_names: list[str] | None = None) -> str:
    if node.kind == "input":
        return node.name or ""
    if node.kind == "const":
        return fmt(node.const)
    gate = GATES[node.op]  # type: ignore[index]
    label = gate.label(node.const, arg_names or []) if gate.label is not None else None
    return gate.symbol if label is None else label


def display_name(node: Node, excerpt: str, arg_names: list[str] | None = None) -> str:
    """How a caption names a wire: its input or stage name, its constant, or its source text
    (a long one by its gate's symbol, which may name the arguments: an index gate's [y])."""
    if node.labels:
        return node.labels[0]
    if node.kind == "input":
        return node.name or ""
    if node.kind == "const":
        return fmt(node.const)
    if len(excerpt) <= 24:
        bare = " " not in excerpt or _CALL.fullmatch(excerpt) is not None
        return excerpt if bare else f"({excerpt})"
    return f"the {node_symbol(node, arg_names)} gate's output"


def wire_names(circuit: Circuit, source: str) -> tuple[list[str], list[str]]:
    """Each node's source excerpt, and the name captions use for its wire."""
    texts = Excerpts(source).texts(circuit.nodes)
    names: list[str] = []  # in node order, so each node's arguments are named before it
    for node in circuit.nodes:
        names.append(display_name(node, texts[node.id], [names[a] for a in node.args]))
    return texts, names


def broadcast_note(names: list[str], xs: list[Any], out: Any) -> str:
    """Where broadcasting stretched an input, how its gradient is summed back to its shape."""
    out_shape = np.shape(out)
    notes = []
    for name, x in zip(names, xs, strict=True):
        shape = np.shape(x)
        if shape == out_shape:
            continue
        lead = len(out_shape) - len(shape)
        axes = list(range(lead)) + [
            lead + i for i, d in enumerate(shape) if d == 1 and out_shape[lead + i] != 1
        ]
        listed = ", ".join(str(a) for a in axes)
        over = "axes" if len(axes) > 1 else "axis"
        notes.append(
            f"{name} {shape_str(shape)} was broadcast to {shape_str(out_shape)}, so its gradient "
            f"is summed over {over} {listed} back to {shape_str(shape)}"
        )
    return ("; broadcasting: " + "; ".join(notes)) if notes else ""


def param_of(node: Node, arg_names: list[str]) -> Any:
    if node.kind != "gate" or node.const is None:
        return None
    if node.op == "index":
        return tensor_symbol(node.op, node.const, arg_names)
    if isinstance(node.const, tuple):
        return [to_json(c) if isinstance(c, float) else c for c in node.const]
    return to_json(node.const) if isinstance(node.const, float) else node.const


def _kinds(value: Any) -> list[str]:
    if type(value) is float:
        if math.isfinite(value):
            return []
        return ["NaN" if value != value else ("Infinity" if value > 0 else "-Infinity")]
    array = np.asarray(value, dtype=np.float64)
    if bool(np.isfinite(array).all()):
        return []
    found = []
    if bool(np.isposinf(array).any()):
        found.append("Infinity")
    if bool(np.isneginf(array).any()):
        found.append("-Infinity")
    if bool(np.isnan(array).any()):
        found.append("NaN")
    return found


def _gate_called(op: str | None, name: str) -> str:
    """'the exp gate y' for a named wire; a long one is already 'the exp gate's output'."""
    return f"the {op} gate" if name.startswith(f"the {op} gate") else f"the {op} gate {name}"


def non_finite_warnings(circuit: Circuit, trace: Trace, names: list[str]) -> list[dict[str, Any]]:
    """For each non-finite kind, the first gate that produced it, forward and backward."""
    warnings = []
    seen: set[str] = set()
    for node in circuit.nodes:
        if node.kind != "gate":
            continue
        for kind in _kinds(trace.values[node.id]):
            if kind not in seen:
                seen.add(kind)
                warnings.append(
                    {
                        "node": f"n{node.id}",
                        "pass": "forward",
                        "value": kind,
                        "msg": f"{_gate_called(node.op, names[node.id])} produced {kind} in the "
                        "forward pass",
                    }
                )
    seen = set()
    for node_id, _up, _locals, contributions, _acc in trace.steps:
        for contribution in contributions:
            for kind in _kinds(contribution):
                if kind not in seen:
                    seen.add(kind)
                    node = circuit.nodes[node_id]
                    warnings.append(
                        {
                            "node": f"n{node_id}",
                            "pass": "backward",
                            "value": kind,
                            "msg": f"the backward step of {_gate_called(node.op, names[node_id])}"
                            f" produced a gradient of {kind}",
                        }
                    )
    return warnings
