"""Turns a circuit and its trace into the API's JSON-ready answer: nodes, edges, steps, rules."""

from __future__ import annotations

import math
import re
from typing import Any

import numpy as np

from app.engine.circuit import Circuit, Node
from app.engine.gates import GATES, Step
from app.engine.numbers import fmt, to_json
from app.engine.passes import Trace
from app.engine.shapes import shape_str
from app.engine.tensor_gates import index_input_names, tensor_symbol

_EXCERPT = 40
_CALL = re.compile(r"[A-Za-z_]\w*\([^()]*\)")


class Excerpts:
    """Source text of a node's span, shortened in the middle; O(1) per node."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.line_starts = [0]
        for i, ch in enumerate(source):
            if ch == "\n":
                self.line_starts.append(i + 1)

    def offset(self, line: int, col: int) -> int:
        return self.line_starts[min(line, len(self.line_starts)) - 1] + col - 1

    def text(self, node: Node) -> str:
        if node.span is None:
            return ""
        start = self.offset(node.span.line, node.span.col)
        end = self.offset(node.span.end_line, node.span.end_col)
        if end - start <= _EXCERPT:
            text = self.source[start:end]
        else:
            text = self.source[start : start + 26] + " … " + self.source[end - 11 : end]
        return " ".join(text.split())


def node_symbol(node: Node, arg_names: list[str] | None = None) -> str:
    if node.kind == "input":
        return node.name or ""
    if node.kind == "const":
        return fmt(node.const)
    gate = GATES[node.op]  # type: ignore[index]
    tensor = tensor_symbol(node.op, node.const, arg_names or [])
    if tensor is not None:
        return tensor
    if node.op == "pow":
        return f"**{fmt(node.const)}"
    return gate.symbol


def display_name(node: Node, excerpt: str) -> str:
    """How a caption names a wire: its input or stage name, its constant, or its source text."""
    if node.labels:
        return node.labels[0]
    if node.kind == "input":
        return node.name or ""
    if node.kind == "const":
        return fmt(node.const)
    if len(excerpt) <= 24:
        bare = " " not in excerpt or _CALL.fullmatch(excerpt) is not None
        return excerpt if bare else f"({excerpt})"
    return f"the {node_symbol(node)} gate's output"


def _uses(node: Node, port: int) -> list[int]:
    """Which cached forward values the local gradient of input `port` is computed from."""
    op = node.op
    args = node.args
    if op == "mul":
        return [args[1 - port]]
    if op == "div":
        return [args[1]] if port == 0 else [args[0], args[1]]
    if op in ("exp", "sigmoid", "tanh", "sqrt"):
        return [node.id]
    if op in ("log", "abs", "relu", "pow"):
        return [args[0]]
    if op == "pow_xy":
        return list(args) + ([node.id] if port == 1 else [])
    if op in ("max", "min"):
        # input i's local gradient is [x_i == out] (shared out among ties): it reads x_i and
        # the output only, so the answer stays linear in the arguments. With tie_break
        # "first" it also depends on whether an earlier input tied, which the kink says.
        return [args[port], node.id]
    if op in ("matmul", "dot"):  # dW = dD @ X.T uses X; dX = W.T @ dD uses W
        return [args[1 - port]]
    if op == "index":  # where the selected elements were
        return list(args[1:])
    return []


def wire_names(circuit: Circuit, source: str) -> tuple[list[str], list[str]]:
    """Each node's source excerpt, and the name captions use for its wire."""
    excerpts = Excerpts(source)
    texts = [excerpts.text(node) for node in circuit.nodes]
    return texts, [display_name(node, texts[node.id]) for node in circuit.nodes]


def _broadcast_note(names: list[str], xs: list[Any], out: Any) -> str:
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
        notes.append(
            f"{name} {shape_str(shape)} was broadcast to {shape_str(out_shape)}, so its gradient "
            f"is summed over axis{'es' if len(axes) > 1 else ''} {listed} back to {shape_str(shape)}"
        )
    return ("; broadcasting: " + "; ".join(notes)) if notes else ""


def build_report(circuit: Circuit, trace: Trace, source: str, tie_break: str) -> dict[str, Any]:
    nodes = circuit.nodes
    values, grads = trace.values, trace.grads
    texts, names = wire_names(circuit, source)
    shapes = [list(np.shape(v)) for v in values]
    warnings: list[dict[str, Any]] = list(circuit.warnings)

    node_out = []
    for node in nodes:
        node_out.append(
            {
                "id": f"n{node.id}",
                "kind": node.kind,
                "op": node.op,
                "symbol": node_symbol(node, [names[a] for a in node.args]),
                "label": node.labels[0]
                if node.labels
                else (node.name if node.kind == "input" else None),
                "labels": node.labels,
                "inputs": [f"n{a}" for a in node.args],
                "value": to_json(values[node.id]),
                "grad": to_json(
                    grads[node.id]
                    if grads[node.id] is not None
                    else np.zeros(np.shape(values[node.id]))
                ),
                "shape": shapes[node.id],
                "text": texts[node.id],
                "span": node.span.as_dict() if node.span else None,
                "param": _param(node, [names[a] for a in node.args]),
            }
        )

    edge_ids: dict[tuple[int, int], int] = {}
    edges: list[dict[str, Any]] = []
    for node in nodes:
        for port, arg in enumerate(node.args):
            edge_ids[(node.id, port)] = len(edges)
            edges.append(
                {
                    "id": f"e{len(edges)}",
                    "source": f"n{arg}",
                    "target": f"n{node.id}",
                    "port": port,
                    "value": to_json(values[arg]),
                    "grad": 0.0,
                    "shape": shapes[arg],
                }
            )

    steps = []
    for index, (node_id, upstream, locals_, contributions, accumulated) in enumerate(trace.steps):
        node = nodes[node_id]
        gate = GATES[node.op]  # type: ignore[index]
        xs = [values[a] for a in node.args]
        step_inputs = []
        for port, arg in enumerate(node.args):
            edge = edges[edge_ids[(node_id, port)]]
            edge["grad"] = to_json(contributions[port])
            step_inputs.append(
                {
                    "node": f"n{arg}",
                    "port": port,
                    "edge": edge["id"],
                    "local_grad": None if locals_[port] is None else to_json(locals_[port]),
                    "contribution": to_json(contributions[port]),
                    "accumulated": to_json(accumulated[port]),
                    "uses": [f"n{u}" for u in _uses(node, port)],
                }
            )
        kink = None
        if gate.kink is not None:
            found = gate.kink(
                [np.asarray(x) for x in xs], np.asarray(values[node_id]), node.const, tie_break
            )
            kink = found.as_dict() if found else None
        view = Step(
            [names[a] for a in node.args],
            xs,
            values[node_id],
            upstream,
            locals_,
            contributions,
            node.const,
            tie_break,
            names[node_id],
        )
        rule = gate.explain(view)
        if gate.vjp is None and not trace.fast:
            rule += _broadcast_note([names[a] for a in node.args], xs, values[node_id])
        if kink is not None:
            rule += f". Kink: {kink['convention']}"
            kink["text"] = kink["convention"]
        steps.append(
            {
                "index": index,
                "node": f"n{node_id}",
                "op": node.op,
                "symbol": node_symbol(node, [names[a] for a in node.args]),
                "upstream": to_json(upstream),
                "inputs": step_inputs,
                "rule": rule,
                "formula": gate.derivative,
                "kink": kink,
            }
        )

    warnings.extend(_non_finite_warnings(circuit, trace, names))
    output = circuit.output
    gradients = {}
    for node in nodes:
        if node.kind == "input":
            grad = grads[node.id]
            gradients[node.name] = to_json(
                grad if grad is not None else np.zeros(np.shape(values[node.id]))
            )
    return {
        "expression": source,
        "output": {"value": to_json(values[output]), "shape": shapes[output], "node": f"n{output}"},
        "inputs": list(circuit.input_names),
        "nodes": node_out,
        "edges": edges,
        "forward": [f"n{node.id}" for node in nodes],
        "backward": steps,
        "gradients": gradients,
        "warnings": warnings,
        "stats": {"gates": circuit.gate_count, "nodes": len(nodes), "fast_path": trace.fast},
        "index_inputs": index_input_names(circuit),
    }


def _param(node: Node, arg_names: list[str]) -> Any:
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


def _non_finite_warnings(circuit: Circuit, trace: Trace, names: list[str]) -> list[dict[str, Any]]:
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
                        "msg": f"the {node.op} gate {names[node.id]} produced {kind} in the forward pass",
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
                            "msg": f"the backward step of the {node.op} gate {names[node_id]} "
                            f"produced a gradient of {kind}",
                        }
                    )
    return warnings
