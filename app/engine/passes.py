"""Forward and backward passes: iterative, reverse-topological, accumulating at forks.

The general path works on numpy float64 arrays (a scalar is 0-d). When every wire is a scalar
and every gate has a plain-float version, a fast path runs the same table on Python floats,
which are the same IEEE-754 doubles; a gate whose float version raises (math.exp overflow,
1/0) or leaves the reals falls back to its numpy version for that one value.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, cast

import numpy as np

from app.engine.circuit import Circuit
from app.engine.gates import GATES, Gate

# One backward step: (node index, upstream, local grads, contributions, accumulated after each).
StepRecord = tuple[int, Any, list[Any], list[Any], list[Any]]


@dataclass(slots=True)
class Trace:
    values: list[Any]
    grads: list[Any]
    steps: list[StepRecord] = field(default_factory=list)
    fast: bool = False


def unbroadcast(grad: Any, shape: tuple[int, ...]) -> Any:
    """Sums a gradient back over the axes that broadcasting stretched, to the input's shape."""
    grad = np.asarray(grad)
    if grad.shape == shape:
        return grad
    extra = grad.ndim - len(shape)
    if extra > 0:
        grad = grad.sum(axis=tuple(range(extra)))
    stretched = tuple(i for i, d in enumerate(shape) if d == 1 and grad.shape[i] != 1)
    if stretched:
        grad = grad.sum(axis=stretched, keepdims=True)
    return grad.reshape(shape)


def can_run_fast(circuit: Circuit, inputs: dict[str, Any]) -> bool:
    if any(np.ndim(v) != 0 for v in inputs.values()):
        return False
    gates = [GATES[node.op] for node in circuit.nodes if node.op is not None]
    return all(gate.scalar_forward is not None and gate.scalar_local is not None for gate in gates)


def run(
    circuit: Circuit,
    inputs: dict[str, Any],
    output_grad: float = 1.0,
    tie_break: str = "split",
    fast: bool | None = None,
) -> Trace:
    """Forward then backward; `inputs` maps every input name to a float or float64 array."""
    if fast is None:
        fast = can_run_fast(circuit, inputs)
    with np.errstate(all="ignore"):
        if fast:
            values = forward_scalar(circuit, inputs)
            return backward_scalar(circuit, values, float(output_grad), tie_break)
        values = forward(circuit, inputs)
        return backward(circuit, values, output_grad, tie_break)


# ---------------------------------------------------------------- general (numpy) path


def forward(circuit: Circuit, inputs: dict[str, Any]) -> list[Any]:
    values: list[Any] = [None] * len(circuit.nodes)
    for node in circuit.nodes:
        if node.kind == "gate":
            gate = GATES[node.op]  # type: ignore[index]
            xs = [values[a] for a in node.args]
            out = gate.forward(*xs) if node.const is None else gate.forward(*xs, node.const)
            values[node.id] = np.asarray(out, dtype=np.float64)
        elif node.kind == "input":
            values[node.id] = np.asarray(inputs[node.name], dtype=np.float64)  # type: ignore[index]
        else:
            values[node.id] = np.asarray(node.const, dtype=np.float64)
    return values


def backward(circuit: Circuit, values: list[Any], output_grad: Any, tie_break: str) -> Trace:
    grads: list[Any] = [None] * len(circuit.nodes)
    out = values[circuit.output]
    grads[circuit.output] = np.full(np.shape(out), output_grad, dtype=np.float64)
    trace = Trace(values, grads)
    for node in reversed(circuit.nodes):
        upstream = grads[node.id]
        if node.kind != "gate" or upstream is None:
            continue
        gate = GATES[node.op]  # type: ignore[index]
        xs = [values[a] for a in node.args]
        locals_, contributions = _gate_backward(
            gate, upstream, xs, values[node.id], node.const, tie_break
        )
        accumulated = []
        for arg, contribution in zip(node.args, contributions, strict=True):
            previous = grads[arg]
            grads[arg] = contribution if previous is None else previous + contribution
            accumulated.append(grads[arg])
        trace.steps.append((node.id, upstream, locals_, contributions, accumulated))
    return trace


def _gate_backward(
    gate: Gate, upstream: Any, xs: list[Any], out: Any, param: Any, tie_break: str
) -> tuple[list[Any], list[Any]]:
    if gate.vjp is not None:
        contributions = [
            np.asarray(c, dtype=np.float64) for c in gate.vjp(upstream, xs, out, param)
        ]
        return [None] * len(xs), contributions
    # register() refused, by name, any gate with neither a vjp nor a local rule
    local = cast(Callable[..., list[Any]], gate.local)
    locals_ = [np.asarray(g, dtype=np.float64) for g in local(xs, out, param, tie_break)]
    contributions = [
        unbroadcast(upstream * g, np.shape(x)) for g, x in zip(locals_, xs, strict=True)
    ]
    return locals_, contributions


# ---------------------------------------------------------------- scalar fast path


def _scalar_call(gate: Gate, xs: list[float], param: Any) -> float:
    try:
        assert gate.scalar_forward is not None
        out = gate.scalar_forward(*xs) if param is None else gate.scalar_forward(*xs, param)
        if type(out) is float:
            return out
        if type(out) is int:
            return float(out)
    except (ArithmeticError, ValueError):
        pass
    arrays = [np.float64(x) for x in xs]
    result = gate.forward(*arrays) if param is None else gate.forward(*arrays, param)
    return float(result)


def forward_scalar(circuit: Circuit, inputs: dict[str, Any]) -> list[Any]:
    values: list[Any] = [0.0] * len(circuit.nodes)
    for node in circuit.nodes:
        kind = node.kind
        if kind == "gate":
            gate = GATES[node.op]  # type: ignore[index]
            values[node.id] = _scalar_call(gate, [values[a] for a in node.args], node.const)
        elif kind == "input":
            values[node.id] = float(inputs[node.name])  # type: ignore[index]
        else:
            values[node.id] = float(node.const)
    return values


def _scalar_local(
    gate: Gate, xs: list[float], out: float, param: Any, tie_break: str
) -> list[float]:
    try:
        assert gate.scalar_local is not None
        local = gate.scalar_local(xs, out, param, tie_break)
        for g in local:  # a loop, not all(...): this runs once per backward step
            if type(g) is not float:
                break
        else:
            return local
    except (ArithmeticError, ValueError):
        pass
    assert gate.local is not None
    arrays = [np.float64(x) for x in xs]
    return [float(g) for g in gate.local(arrays, np.float64(out), param, tie_break)]


def backward_scalar(
    circuit: Circuit, values: list[Any], output_grad: float, tie_break: str
) -> Trace:
    nodes = circuit.nodes
    grads: list[Any] = [None] * len(nodes)
    grads[circuit.output] = output_grad
    trace = Trace(values, grads, fast=True)
    steps = trace.steps
    for node in reversed(nodes):
        upstream = grads[node.id]
        if upstream is None or node.kind != "gate":
            continue
        gate = GATES[node.op]  # type: ignore[index]
        args = node.args
        xs = [values[a] for a in args]
        local = _scalar_local(gate, xs, values[node.id], node.const, tie_break)
        contributions = []
        accumulated = []
        for arg, g in zip(args, local, strict=True):
            c = upstream * g  # IEEE: 0 * inf is NaN here as in numpy
            contributions.append(c)
            previous = grads[arg]
            total = c if previous is None else previous + c
            grads[arg] = total
            accumulated.append(total)
        steps.append((node.id, upstream, local, contributions, accumulated))
    return trace
