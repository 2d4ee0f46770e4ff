"""Shape inference: every wire's shape from the input shapes, checked before anything runs.

Each gate's `shape` function maps input shapes to the output shape or raises ShapeError with
a message in dimension-analysis terms; gates without one are elementwise and follow numpy
broadcasting. The pass also enforces the tensor limits (rank, elements per node and per
request), so an over-size circuit is refused before any array is allocated.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from app.core.errors import LimitError, ProblemError
from app.core.limits import Limits
from app.engine.circuit import Circuit
from app.engine.gates import GATES
from app.engine.lexer import parse_problem

Shape = tuple[int, ...]


class ShapeError(Exception):
    """A gate cannot take inputs of these shapes; the message says why in dimension terms."""


def shape_str(shape: Sequence[int]) -> str:
    """(5,10) for a matrix, (3,) for a vector, () for a scalar: numpy's own notation."""
    if len(shape) == 1:
        return f"({shape[0]},)"
    return "(" + ",".join(str(d) for d in shape) + ")"


def grad_name(name: str) -> str:
    """The gradient of a wire in the notes' notation, for tensor rules: dW, d(W @ X)."""
    if name.startswith("the "):  # "the Σ gate's output": too long to read as a gradient
        return "dout"
    if name.isidentifier() or (name.startswith("(") and name.endswith(")")):
        return "d" + name
    return f"d({name})"


def broadcast_shape(shapes: Sequence[Shape], names: Sequence[str]) -> Shape:
    """numpy's broadcasting rule: align trailing axes; each pair is equal or one of them is 1."""
    out: Shape = ()
    out_from = ""
    for shape, name in zip(shapes, names, strict=True):
        try:
            merged = tuple(np.broadcast_shapes(out, shape))
        except ValueError:
            axis = _clash_axis(out, shape)
            raise ShapeError(
                f"shapes do not broadcast, {out_from} is {shape_str(out)} and {name} is "
                f"{shape_str(shape)}: counted from the right, axis {axis} has "
                f"{out[len(out) - axis]} and {shape[len(shape) - axis]}, and neither is 1"
            ) from None
        if merged == shape or not out_from:
            out_from = name
        out = merged
    return out


def _clash_axis(a: Shape, b: Shape) -> int:
    for k in range(1, min(len(a), len(b)) + 1):
        x, y = a[-k], b[-k]
        if x != y and x != 1 and y != 1:
            return k
    return 1


def infer_shapes(
    circuit: Circuit,
    values: dict[str, Any],
    source: str,
    names: Sequence[str],
    texts: Sequence[str],
    limits: Limits,
) -> list[Shape]:
    """The shape of every node, in order; a 422 at the gate's position on a mismatch."""
    max_rank = limits.max_tensor_rank
    max_node_elements = limits.max_tensor_elements_per_node
    max_request_elements = limits.max_tensor_elements_per_request
    max_matmul_work = limits.max_tensor_matmul_work
    shapes: list[Shape] = []
    total = 0
    work = 0  # multiply-adds of the products: small wires can still hide a long inner axis
    for node in circuit.nodes:
        if node.kind == "input":
            shape: Shape = tuple(np.shape(values[node.name]))  # type: ignore[index]
        elif node.kind == "const":
            shape = ()
        else:
            gate = GATES[node.op]  # type: ignore[index]
            arg_shapes = [shapes[a] for a in node.args]
            arg_names = [names[a] for a in node.args]
            known = [_known(circuit, a, values) for a in node.args]
            try:
                if gate.shape is None:
                    shape = broadcast_shape(arg_shapes, arg_names)
                else:
                    shape = gate.shape(arg_shapes, node.const, arg_names, known)
                if len(shape) > max_rank:
                    raise ShapeError(
                        f"the result {shape_str(shape)} has {len(shape)} dimensions, "
                        f"more than the limit of {max_rank} (setting BPC_MAX_TENSOR_RANK)"
                    )
            except ShapeError as error:
                span = node.span
                line, col = (span.line, span.col) if span else (1, 1)
                problem = parse_problem(source, line, col, f"{texts[node.id]}: {error}")
                problem.type = "shape_error"
                problem.extra["shapes"] = [list(s) for s in arg_shapes]
                raise ProblemError(problem) from None
        elements = math.prod(shape)
        if elements > max_node_elements:
            raise LimitError(
                f"the elements of {texts[node.id] or names[node.id]} {shape_str(shape)}",
                elements,
                max_node_elements,
                "max_tensor_elements_per_node",
                loc=("body", "expression"),
            )
        contraction = GATES[node.op].multiply_adds if node.op is not None else None
        if contraction is not None:
            work += contraction(shape, [shapes[a] for a in node.args])
            if work > max_matmul_work:
                raise LimitError(
                    "the multiply-adds of all @ and dot gates together",
                    work,
                    max_matmul_work,
                    "max_tensor_matmul_work",
                    loc=("body", "expression"),
                )
        total += elements
        if total > max_request_elements:
            raise LimitError(
                "the elements of all wires together",
                total,
                max_request_elements,
                "max_tensor_elements_per_request",
                loc=("body", "expression"),
            )
        shapes.append(shape)
    return shapes


def _known(circuit: Circuit, node_id: int, values: dict[str, Any]) -> Any:
    """A value known before running (an input's or a constant's), else None."""
    node = circuit.nodes[node_id]
    if node.kind == "input":
        return values[node.name]  # type: ignore[index]
    if node.kind == "const":
        return node.const
    return None
