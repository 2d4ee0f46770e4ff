"""Tensor gates: matmul (@), dot, transpose (.T), sum, mean and reshape; indexing is in index_gate.

Each gate's gradient has its input's shape; `vjp` computes it from the upstream gradient, and
`shape` says what the output's shape is (or why the inputs do not fit) before anything runs.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from functools import partial
from typing import Any

import numpy as np

from app.engine.gates import GATES, Gate, Step, no_uses, register, uses_other
from app.engine.index_gate import index_input_names
from app.engine.numbers import fmt
from app.engine.shapes import Shape, ShapeError, grad_name, shape_str

__all__ = ["index_input_names", "tensor_symbol"]


def _s(x: Any) -> str:
    return shape_str(np.shape(x))


def _d(name: str) -> str:
    return grad_name(name)


_ATOM = re.compile(r"[A-Za-z_]\w*(\(.*\))?|\(.*\)")


def _t(name: str) -> str:
    """name.T, parenthesized unless the name is one operand already: W.T, d(A.T).T, (a + b).T."""
    return f"{name}.T" if _ATOM.fullmatch(name) else f"({name}).T"


def _ndim_error(name: str, shape: Shape, what: str) -> ShapeError:
    return ShapeError(f"{what}, but {name} is {shape_str(shape)} with {len(shape)} dimensions")


# ---------------------------------------------------------------- matmul and dot


def _matmul_hint(a: Shape, b: Shape, na: str, nb: str) -> str:
    if len(b) == 2 and a[-1] == b[1]:
        return f"; did you mean {na} @ {_t(nb)}?"
    if len(a) == 2 and a[0] == b[0]:
        return f"; did you mean {_t(na)} @ {nb}?"
    if len(a) == 2 and len(b) == 2 and a[0] == b[1]:
        return f"; did you mean {nb} @ {na}?"
    return ""


def _matmul_shape(shapes: Sequence[Shape], param: Any, names: Sequence[str], known: Any) -> Shape:
    (a, b), (na, nb) = shapes, names
    for shape, name in ((a, na), (b, nb)):
        if not shape:
            raise ShapeError(f"@ needs vectors or matrices, but {name} is a scalar; use * to scale")
        if len(shape) > 2:
            raise _ndim_error(name, shape, "@ takes vectors and matrices")
    if a[-1] != b[0]:
        raise ShapeError(
            f"inner dimensions differ, {na} is {shape_str(a)} and {nb} is {shape_str(b)}"
            + _matmul_hint(a, b, na, nb)
        )
    return a[:-1] + b[1:]


def _contraction_work(out: Shape, args: Sequence[Shape]) -> int:
    """Multiply-adds of @ or dot: each output element sums over the first operand's last axis."""
    return math.prod(out) * (args[0][-1] if args[0] else 1)


def _matmul_vjp(g: Any, xs: Sequence[Any], out: Any, param: Any) -> list[Any]:
    a, b = xs
    if a.ndim == 1 and b.ndim == 1:
        return [g * b, g * a]
    if b.ndim == 1:
        return [np.outer(g, b), a.T @ g]
    if a.ndim == 1:
        return [b @ g, np.outer(a, g)]
    return [g @ b.T, a.T @ g]


def _explain_matmul(s: Step) -> str:
    a, b = s.names
    x, y = s.xs
    dd, da, db = _d(s.out_name), _d(a), _d(b)
    g = _s(s.upstream)
    head = "matmul gate swaps like multiply, transposed so each gradient has its input's shape: "
    if np.ndim(x) == 1 and np.ndim(y) == 1:
        return (
            f"{head}{da} = {dd} · {b}: scalar × {_s(y)} -> {_s(x)}; "
            f"{db} = {dd} · {a}: scalar × {_s(x)} -> {_s(y)}"
        )
    if np.ndim(y) == 1:
        return (
            f"{head}{da} = outer({dd}, {b}): {g} ⊗ {_s(y)} -> {_s(x)}; "
            f"{db} = {_t(a)} @ {dd}: {_s(x.T)} @ {g} -> {_s(y)}"
        )
    if np.ndim(x) == 1:
        return (
            f"{head}{da} = {b} @ {dd}: {_s(y)} @ {g} -> {_s(x)}; "
            f"{db} = outer({a}, {dd}): {_s(x)} ⊗ {g} -> {_s(y)}"
        )
    return (
        f"{head}{da} = {dd} @ {_t(b)}: {g} @ {_s(y.T)} -> {_s(x)}; "
        f"{db} = {_t(a)} @ {dd}: {_s(x.T)} @ {g} -> {_s(y)}"
    )


register(
    Gate(
        "matmul",
        "@",
        (2, 2),
        np.matmul,
        "D = W @ X: dW = dD @ X.T, dX = W.T @ dD",
        "matmul gate swaps like multiply, with transposes so that each gradient has its input's shape",
        _explain_matmul,
        vjp=_matmul_vjp,
        infix=True,
        by_name=False,
        shape=_matmul_shape,
        operator="@",
        precedence=20,
        uses=uses_other,
        multiply_adds=_contraction_work,
    )
)


def _dot_shape(shapes: Sequence[Shape], param: Any, names: Sequence[str], known: Any) -> Shape:
    (a, b), (na, nb) = shapes, names
    for shape, name in ((a, na), (b, nb)):
        if len(shape) != 1:
            raise _ndim_error(name, shape, "dot takes two vectors (use @ for matrices)")
    if a != b:
        raise ShapeError(
            f"the vectors differ in length, {na} is {shape_str(a)} and {nb} is {shape_str(b)}"
        )
    return ()


register(
    Gate(
        "dot",
        "·",
        (2, 2),
        np.dot,
        "d/da (a · b) = b, d/db (a · b) = a",
        "dot gate swaps like multiply: each vector receives the other vector times the upstream gradient",
        lambda s: (
            f"dot gate swaps like multiply: {_d(s.names[0])} = {_d(s.out_name)} · {s.names[1]} = "
            f"{fmt(s.upstream)} · {s.names[1]}, {_s(s.xs[0])}; {_d(s.names[1])} = "
            f"{_d(s.out_name)} · {s.names[0]}, {_s(s.xs[1])}"
        ),
        vjp=lambda g, xs, out, p: [g * xs[1], g * xs[0]],
        shape=_dot_shape,
        reserved=False,
        uses=uses_other,
        multiply_adds=_contraction_work,
    )
)


# ---------------------------------------------------------------- transpose and reshape


def _explain_transpose(s: Step) -> str:
    x = s.names[0]
    if np.ndim(s.xs[0]) < 2:
        return f"transpose of a {'vector' if np.ndim(s.xs[0]) else 'scalar'} changes nothing: {x} receives the upstream gradient unchanged"
    return (
        f"transpose gate transposes the gradient back: {_d(x)} = {_t(_d(s.out_name))}: "
        f"{_s(s.upstream)} -> {_s(s.xs[0])}"
    )


register(
    Gate(
        "transpose",
        ".T",
        (1, 1),
        np.transpose,
        "Y = X.T: dX = dY.T",
        "transpose gate transposes the upstream gradient back to the input's shape",
        _explain_transpose,
        vjp=lambda g, xs, out, p: [np.transpose(g)],
        shape=lambda shapes, p, names, known: tuple(reversed(shapes[0])),
        uses=no_uses,
    )
)


def _dims(param: Sequence[float], name: str, shape: Shape) -> Shape:
    if any(not float(d).is_integer() for d in param):
        raise ShapeError(
            f"reshape's dimensions must be integers, got {', '.join(fmt(d) for d in param)}"
        )
    dims = [int(d) for d in param]
    size = math.prod(shape)
    if dims.count(-1) > 1 or any(d == 0 or d < -1 for d in dims):
        raise ShapeError("reshape's dimensions must be positive, with at most one -1 (inferred)")
    if -1 in dims:
        rest = -math.prod(dims)
        if size % rest:
            raise ShapeError(
                f"cannot reshape {name} {shape_str(shape)} of {size} elements into "
                f"{shape_str(dims)}: {size} is not a multiple of {rest}"
            )
        dims[dims.index(-1)] = size // rest
    if math.prod(dims) != size:
        raise ShapeError(
            f"cannot reshape {name} {shape_str(shape)} of {size} elements into "
            f"{shape_str(dims)} of {math.prod(dims)} elements"
        )
    return tuple(dims)


register(
    Gate(
        "reshape",
        "reshape",
        (1, 1),
        lambda x, p: np.reshape(x, _dims(p, "x", np.shape(x))),
        "Y = reshape(X, dims): dX = reshape(dY, X's shape)",
        "reshape gate reshapes the upstream gradient back to the input's shape; no value changes",
        lambda s: (
            f"reshape gate reshapes the gradient back: {_d(s.names[0])} = {_d(s.out_name)} "
            f"reshaped {_s(s.upstream)} -> {_s(s.xs[0])}"
        ),
        vjp=lambda g, xs, out, p: [np.reshape(g, np.shape(xs[0]))],
        params=(1, 8),
        shape=lambda shapes, p, names, known: _dims(p, names[0], shapes[0]),
        uses=no_uses,
        label=lambda dims, names: "reshape(" + ",".join(str(int(d)) for d in dims) + ")",
    )
)


# ---------------------------------------------------------------- reductions: sum and mean


def _axis(param: Sequence[float]) -> int | None:
    return int(param[0]) if param else None


def _reduce_shape(shapes: Sequence[Shape], param: Any, names: Sequence[str], known: Any) -> Shape:
    shape = shapes[0]
    if not param:
        return ()
    axis = param[0]
    if not float(axis).is_integer():
        raise ShapeError(f"the axis must be an integer, got {fmt(axis)}")
    k = int(axis)
    if not -len(shape) <= k < len(shape):
        valid = f"-{len(shape)} to {len(shape) - 1}" if shape else "none: it is a scalar"
        raise ShapeError(
            f"axis {k} is out of range for {names[0]} {shape_str(shape)} (valid axes: {valid})"
        )
    k %= len(shape)
    return shape[:k] + shape[k + 1 :]


def _spread(g: Any, x: Any, param: Sequence[float]) -> Any:
    """The upstream gradient copied back along the reduced axes, to the input's shape."""
    axis = _axis(param)
    grown = g if axis is None else np.expand_dims(g, axis)
    return np.array(np.broadcast_to(grown, np.shape(x)))


# Bound with partial(), not made by a factory at import: mutation testing switches a function's
# mutants when it is called (app/engine/gates.py says more).
def _reduce_label(word: str, param: Any, names: Sequence[str]) -> str | None:
    return f"{word}(axis={int(param[0])})" if param else None


def _explain_reduce(word: str, s: Step) -> str:
    x = s.names[0]
    axis = _axis(s.param)
    n = np.size(s.xs[0]) if axis is None else np.shape(s.xs[0])[axis]
    share = "the upstream gradient" if word == "sum" else f"the upstream gradient / {n}"
    where = "every element" if axis is None else f"along axis {axis}, every element"
    return (
        f"{word} gate distributes like add: {where} of {x} receives {share}: "
        f"{_d(x)} = {_d(s.out_name)}{'' if word == 'sum' else f' / {n}'} copied "
        f"{_s(s.upstream)} -> {_s(s.xs[0])}"
    )


register(
    Gate(
        "sum",
        "Σ",
        (1, 1),
        lambda x, p: np.sum(x, axis=_axis(p)),
        "d/dx_i Σ x = 1",
        "sum gate distributes like add: every summed element receives the upstream gradient",
        partial(_explain_reduce, "sum"),
        vjp=lambda g, xs, out, p: [_spread(g, xs[0], p)],
        params=(0, 1),
        shape=_reduce_shape,
        uses=no_uses,
        label=partial(_reduce_label, "sum"),
    )
)


def _count(x: Any, param: Sequence[float]) -> int:
    axis = _axis(param)
    return int(np.size(x)) if axis is None else int(np.shape(x)[axis])


register(
    Gate(
        "mean",
        "mean",
        (1, 1),
        lambda x, p: np.mean(x, axis=_axis(p)),
        "d/dx_i mean(x) = 1/n",
        "mean gate distributes like add, divided by n: every element receives upstream / n",
        partial(_explain_reduce, "mean"),
        vjp=lambda g, xs, out, p: [_spread(g, xs[0], p) / _count(xs[0], p)],
        params=(0, 1),
        shape=_reduce_shape,
        uses=no_uses,
        label=partial(_reduce_label, "mean"),
    )
)


def tensor_symbol(op: str | None, param: Any, arg_names: Sequence[str]) -> str | None:
    """How the diagram labels a gate whose constant arguments matter (its Gate.label), else None."""
    gate = GATES.get(op or "")
    if gate is None or gate.label is None:
        return None
    return gate.label(param, arg_names)
