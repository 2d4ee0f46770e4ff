"""Forward and backward passes: iterative, reverse-topological, accumulating at forks.

The general path works on numpy float64 arrays (a scalar is 0-d). When every wire is a scalar
and every gate has a plain-float version, a fast path runs the same table on Python floats,
which are the same IEEE-754 doubles; a gate whose float version raises (math.exp overflow,
1/0) or leaves the reals falls back to its numpy version for that one value. The fast path
walks a ScalarPlan (each gate's float versions looked up once), which a cached circuit keeps.
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


def run(
    circuit: Circuit,
    inputs: dict[str, Any],
    output_grad: float = 1.0,
    tie_break: str = "split",
    fast: bool | None = None,
    memo: dict[str, Any] | None = None,
) -> Trace:
    """Forward then backward; `inputs` maps every input name to a float or float64 array.
    `fast`: whether to take the scalar path (None: when every input is a scalar and every gate
    has a plain-float version); `memo`: a cached circuit's, which keeps its ScalarPlan."""
    plan = None
    if fast or (fast is None and all(type(v) is float or np.ndim(v) == 0 for v in inputs.values())):
        plan = scalar_plan(circuit, memo)
    if fast is None:
        fast = plan is not None
    with np.errstate(all="ignore"):
        if fast:
            values = forward_scalar(circuit, inputs, plan)
            return backward_scalar(circuit, values, float(output_grad), tie_break, plan)
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

# One gate of a ScalarPlan: (node id, arity code, first input, second input, all inputs,
# param, scalar_forward, scalar_local, gate). The arity code is 2 or 1 for a gate of that many
# inputs and no param, whose loops read the inputs from the first two fields; 0 for any other.
PlannedGate = tuple[
    int,
    int,
    int,
    int,
    tuple[int, ...],
    Any,
    Callable[..., float],
    Callable[..., list[float]],
    Gate,
]
_PLAN = "scalar plan"  # the memo's key


@dataclass(frozen=True, slots=True)
class ScalarPlan:
    """The scalar path's work list for one circuit: its inputs, its constants (as floats) and
    its gates in creation order with their float versions looked up once, so the passes' loops
    make no GATES or attribute look-ups per node. It depends on the circuit alone."""

    inputs: list[tuple[int, str]]
    consts: list[tuple[int, float]]
    gates: list[PlannedGate]


def scalar_plan(circuit: Circuit, memo: dict[str, Any] | None = None) -> ScalarPlan | None:
    """The circuit's ScalarPlan, or None when a gate has no plain-float version; kept in
    `memo` (a cached circuit's: app/engine/cache.py) and read from it after."""
    if memo is not None and _PLAN in memo:
        return cast(ScalarPlan | None, memo[_PLAN])
    plan = _build_plan(circuit)
    if memo is not None:
        memo[_PLAN] = plan
    return plan


def _build_plan(circuit: Circuit) -> ScalarPlan | None:
    inputs: list[tuple[int, str]] = []
    consts: list[tuple[int, float]] = []
    gates: list[PlannedGate] = []
    for node in circuit.nodes:
        kind = node.kind
        if kind == "gate":
            gate = GATES[node.op]  # type: ignore[index]
            forward, local = gate.scalar_forward, gate.scalar_local
            if forward is None or local is None:
                return None
            args, param = node.args, node.const
            argc = len(args)
            arity = argc if param is None and argc <= 2 else 0
            first = args[0] if argc else -1
            second = args[1] if argc > 1 else -1
            gates.append((node.id, arity, first, second, args, param, forward, local, gate))
        elif kind == "input":
            inputs.append((node.id, node.name))  # type: ignore[arg-type]
        else:
            consts.append((node.id, float(node.const)))
    return ScalarPlan(inputs, consts, gates)


def _needs_plan(circuit: Circuit, plan: ScalarPlan | None) -> ScalarPlan:
    plan = plan or scalar_plan(circuit)
    if plan is None:
        raise ValueError("the scalar path needs a plain-float version of every gate")
    return plan


def forward_scalar(
    circuit: Circuit, inputs: dict[str, Any], plan: ScalarPlan | None = None
) -> list[Any]:
    """Every node's value as a Python float; `plan`: the circuit's (scalar_plan)."""
    plan = _needs_plan(circuit, plan)
    values: list[Any] = [0.0] * len(circuit.nodes)
    for node_id, name in plan.inputs:
        values[node_id] = float(inputs[name])
    for node_id, const in plan.consts:
        values[node_id] = const
    out: float | None  # None: the float version gave no float
    for node_id, arity, first, second, args, param, forward, _, gate in plan.gates:
        # the float version, inlined (this runs once per gate): an int result is made a float;
        # any other than a float, or an ArithmeticError or ValueError, takes the numpy version
        try:
            if arity == 2:
                out = forward(values[first], values[second])
            elif arity == 1:
                out = forward(values[first])
            elif param is None:
                out = forward(*[values[a] for a in args])
            else:
                out = forward(*[values[a] for a in args], param)
            if type(out) is not float:
                out = float(out) if type(out) is int else None
        except (ArithmeticError, ValueError):
            out = None
        values[node_id] = _numpy_forward(gate, values, args, param) if out is None else out
    return values


def _numpy_forward(gate: Gate, values: list[Any], args: tuple[int, ...], param: Any) -> float:
    arrays = [np.float64(values[a]) for a in args]
    result = gate.forward(*arrays) if param is None else gate.forward(*arrays, param)
    return float(result)


def _numpy_local(
    gate: Gate, xs: list[float], out: float, param: Any, tie_break: str
) -> list[float]:
    assert gate.local is not None
    arrays = [np.float64(x) for x in xs]
    return [float(g) for g in gate.local(arrays, np.float64(out), param, tie_break)]


def backward_scalar(
    circuit: Circuit,
    values: list[Any],
    output_grad: float,
    tie_break: str,
    plan: ScalarPlan | None = None,
) -> Trace:
    """Every node's gradient and every step, on Python floats; `plan`: the circuit's."""
    plan = _needs_plan(circuit, plan)
    grads: list[Any] = [None] * len(circuit.nodes)
    grads[circuit.output] = output_grad
    trace = Trace(values, grads, fast=True)
    append = trace.steps.append
    for node_id, arity, first, second, args, param, _, local_rule, gate in reversed(plan.gates):
        upstream = grads[node_id]
        if upstream is None:
            continue
        if arity == 2:
            xs = [values[first], values[second]]
        elif arity == 1:
            xs = [values[first]]
        else:
            xs = [values[a] for a in args]
        out = values[node_id]
        # the float version, inlined: a local gradient that is not a float, or an
        # ArithmeticError or ValueError, takes the numpy version instead
        try:
            local = local_rule(xs, out, param, tie_break)
        except (ArithmeticError, ValueError):
            local = _numpy_local(gate, xs, out, param, tie_break)
        else:
            for g in local:  # a loop, not all(...): this runs once per backward step
                if type(g) is not float:
                    local = _numpy_local(gate, xs, out, param, tie_break)
                    break
        # IEEE: 0 * inf is NaN here as in numpy. Two inputs and one, written out (the usual
        # cases: no zip and no appends), then any number; in port order each way, so an input
        # taken twice (x * x) adds up in turn
        if arity == 2:
            local_first, local_second = local
            c_first = upstream * local_first
            previous = grads[first]
            total_first = c_first if previous is None else previous + c_first
            grads[first] = total_first
            c_second = upstream * local_second
            previous = grads[second]
            total_second = c_second if previous is None else previous + c_second
            grads[second] = total_second
            append((node_id, upstream, local, [c_first, c_second], [total_first, total_second]))
            continue
        if arity == 1:
            [local_first] = local
            c_first = upstream * local_first
            previous = grads[first]
            total_first = c_first if previous is None else previous + c_first
            grads[first] = total_first
            append((node_id, upstream, local, [c_first], [total_first]))
            continue
        contributions = []
        accumulated = []
        for arg, g in zip(args, local, strict=True):
            c = upstream * g
            contributions.append(c)
            previous = grads[arg]
            total = c if previous is None else previous + c
            grads[arg] = total
            accumulated.append(total)
        append((node_id, upstream, local, contributions, accumulated))
    return trace
