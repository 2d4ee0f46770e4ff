"""The index gate, x[1], x[:, 0], s[y]: routes the upstream gradient into the selected elements.

Indices are integer constants, slices or integer-valued inputs. They are not differentiable: an
input used as an index receives a gradient of 0 along that edge, is listed in the response's
`index_inputs`, and the gradient check leaves it out (a step of h is not an index).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from app.engine.circuit import Circuit
from app.engine.gates import Gate, Step, register
from app.engine.numbers import fmt
from app.engine.shapes import Shape, ShapeError, grad_name, shape_str


def _s(x: Any) -> str:
    return shape_str(np.shape(x))


# An index entry: ("int", k), ("slice", start, stop, step) or ("arg", port) for an input name.
IndexEntry = tuple[Any, ...]


def _numpy_index(param: Sequence[IndexEntry], xs: Sequence[Any]) -> tuple[Any, ...]:
    index: list[Any] = []
    for entry in param:
        if entry[0] == "int":
            index.append(entry[1])
        elif entry[0] == "slice":
            index.append(slice(entry[1], entry[2], entry[3]))
        else:
            index.append(int(xs[entry[1]]))
    return tuple(index)


def _index_forward(*args: Any) -> Any:
    *xs, param = args
    return np.array(np.asarray(xs[0])[_numpy_index(param, xs)])


def _index_vjp(g: Any, xs: Sequence[Any], out: Any, param: Any) -> list[Any]:
    grad = np.zeros(np.shape(xs[0]))
    grad[_numpy_index(param, xs)] = g  # basic indexing selects each element at most once
    return [grad] + [np.zeros(()) for _ in xs[1:]]


def index_text(param: Sequence[IndexEntry], arg_names: Sequence[str]) -> str:
    """The subscript as written: [y], [1], [:, 0], [1:3]."""
    parts = []
    for entry in param:
        if entry[0] == "int":
            parts.append(str(entry[1]))
        elif entry[0] == "arg":
            parts.append(arg_names[entry[1]] if entry[1] < len(arg_names) else "?")
        else:
            start, stop, step = ("" if v is None else str(v) for v in entry[1:])
            parts.append(f"{start}:{stop}" + (f":{step}" if step else ""))
    return "[" + ", ".join(parts) + "]"


def _index_shape(shapes: Sequence[Shape], param: Any, names: Sequence[str], known: Any) -> Shape:
    shape, name = shapes[0], names[0]
    if not shape:
        raise ShapeError(f"{name} is a scalar and cannot be indexed")
    if len(param) > len(shape):
        raise ShapeError(
            f"too many indices: {name} is {shape_str(shape)} with {len(shape)} "
            f"dimension{'s' if len(shape) > 1 else ''}, the index has {len(param)} entries"
        )
    out: list[int] = []
    for axis, entry in enumerate(param):
        n = shape[axis]
        if entry[0] == "slice":
            length = len(range(*slice(entry[1], entry[2], entry[3]).indices(n)))
            if length == 0:
                raise ShapeError(
                    f"the slice {index_text([entry], names)} selects nothing from axis {axis} "
                    f"of {name}, which has {n} elements"
                )
            out.append(length)
            continue
        if entry[0] == "arg":
            value, label = known[entry[1]], names[entry[1]]
            if np.ndim(value) != 0:
                raise ShapeError(
                    f"the index {label} must be a single integer, but it is {_s(value)}"
                )
            if not float(value).is_integer():
                raise ShapeError(
                    f"the index {label} is {fmt(value)}, but an index must be an integer"
                )
            k = int(value)
            label = f"{label} = {k}"
        else:
            k = entry[1]
            label = str(k)
        if not -n <= k < n:
            raise ShapeError(
                f"index {label} is out of range for axis {axis} of {name}, which has "
                f"{n} elements (valid: {-n} to {n - 1})"
            )
    return tuple(out) + shape[len(param) :]


def _explain_index(s: Step) -> str:
    x = s.names[0]
    text = f"{x}{index_text(s.param, s.names)}"
    found = [s.names[e[1]] for e in s.param if e[0] == "arg"]
    values = ", ".join(
        f"{n} = {int(s.xs[e[1]])}"
        for n, e in zip(found, [e for e in s.param if e[0] == "arg"], strict=True)
    )
    rule = (
        f"index gate routes: the upstream gradient {_s(s.upstream)} goes back into the elements "
        f"{text} selected, and every other element of {grad_name(x)} {_s(s.xs[0])} gets 0"
    )
    if values:
        rule += f"; the index ({values}) is an integer, not differentiable, so it gets no gradient"
    return rule


def _index_uses(out: int, args: Sequence[int], port: int) -> list[int]:
    return list(args[1:])  # where the selected elements were


register(
    Gate(
        "index",
        "[ ]",
        (1, None),
        _index_forward,
        "Y = X[i]: dX[i] = dY, 0 elsewhere",
        "index gate routes: the selected elements receive the upstream gradient, the rest get 0",
        _explain_index,
        vjp=_index_vjp,
        by_name=False,
        shape=_index_shape,
        uses=_index_uses,
        label=index_text,
    )
)


def index_input_names(circuit: Circuit) -> list[str]:
    """Inputs used as an index: integers, not differentiated (their index edge carries 0)."""
    found: list[str] = []
    for node in circuit.nodes:
        if node.op == "index":
            for arg in node.args[1:]:
                name = circuit.nodes[arg].name
                if name is not None and name not in found:
                    found.append(name)
    return found
