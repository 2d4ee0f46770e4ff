"""Centred-difference gradient check, marking inputs near a kink instead of failing them.

An entry whose analytic or numeric gradient is not finite (exp(1000), 1/0, an output gradient
near the float64 limit) cannot be compared: the input is marked "not finite" with the reason and
left out of pass/fail, and every number in the answer stays finite or a JSON-safe string.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from app.engine.circuit import Circuit
from app.engine.gates import GATES
from app.engine.numbers import json_number
from app.engine.passes import Trace, forward, forward_scalar
from app.engine.tensor_gates import index_input_names

TOLERANCE = 1e-5


def _objective(
    circuit: Circuit, inputs: dict[str, Any], seed: float, fast: bool
) -> tuple[float, Any]:
    values = forward_scalar(circuit, inputs) if fast else forward(circuit, inputs)
    return float(np.sum(np.asarray(values[circuit.output]) * seed)), _branches(circuit, values)


def _branches(circuit: Circuit, values: list[Any]) -> Any:
    """Which side of every kink each kink-capable gate is on (a max's winner, a relu's sign)."""
    signature = []
    for node in circuit.nodes:
        if node.kind == "gate" and GATES[node.op].kink is not None:  # type: ignore[index]
            xs = [np.asarray(values[a]) for a in node.args]
            if len(xs) > 1:
                out = np.asarray(values[node.id])
                signature.append(tuple((x == out).tobytes() for x in xs))
            else:
                signature.append(np.sign(xs[0]).tobytes())
    return tuple(signature)


def rel_error(a: float, b: float) -> float:
    """|a - b| / max(|a|, |b|, 1e-8), scaled first so that a - b cannot overflow near 1e308."""
    if a == b:
        return 0.0
    scale = max(abs(a), abs(b), 1e-8)
    return abs(a / scale - b / scale)


def _not_finite_reason(name: str, analytic: float, numeric: float, index: list[int]) -> str:
    where = f" at index {index}" if index else ""
    if not math.isfinite(analytic):
        return (
            f"the analytic gradient{where} is {json_number(analytic)}, so no difference "
            "can be compared with it"
        )
    return (
        f"the centred difference{where} is {json_number(numeric)}: the output is not finite "
        f"(or overflows) at {name} ± h"
    )


def gradcheck(
    circuit: Circuit, inputs: dict[str, Any], trace: Trace, seed: float, h: float = 1e-5
) -> dict[str, Any]:
    fast = trace.fast
    with np.errstate(all="ignore"):
        here = _branches(circuit, trace.values)
        kinked_here = _has_kink(circuit, trace)
        results = []
        skipped = index_input_names(circuit)  # integers: a bump of h is not a valid index
        for node in circuit.nodes:
            if node.kind != "input" or node.name in skipped:
                continue
            name = node.name
            assert name is not None
            base = np.asarray(inputs[name], dtype=np.float64)
            analytic = np.asarray(trace.grads[node.id] if trace.grads[node.id] is not None else 0.0)
            numeric = np.zeros(base.shape)
            near_kink = False
            for index in np.ndindex(base.shape or ()):
                shifted = dict(inputs)
                bumped = base.copy()
                bumped[index] = base[index] + h
                shifted[name] = float(bumped) if base.ndim == 0 else bumped
                plus, sig_plus = _objective(circuit, shifted, seed, fast)
                bumped[index] = base[index] - h
                shifted[name] = float(bumped) if base.ndim == 0 else bumped
                minus, sig_minus = _objective(circuit, shifted, seed, fast)
                numeric[index] = (plus - minus) / (2 * h)
                near_kink = near_kink or sig_plus != here or sig_minus != here
            pairs = list(
                zip(
                    np.ravel(analytic * np.ones(base.shape)).tolist(),
                    np.ravel(numeric).tolist(),
                    strict=True,
                )
            )
            finite = [math.isfinite(a) and math.isfinite(n) for a, n in pairs]
            errors = [
                rel_error(a, n) if ok else -1.0 for (a, n), ok in zip(pairs, finite, strict=True)
            ]
            worst = max(errors) if errors else 0.0
            worst_at = list(np.unravel_index(int(np.argmax(errors)), base.shape)) if errors else []
            passed = bool(worst < TOLERANCE)
            if not passed and kinked_here:
                near_kink = True
            entry = {
                "name": name,
                "analytic": analytic,
                "numeric": numeric,
                "rel_error": worst,
                "worst_index": [int(i) for i in worst_at],
                "passed": True if passed else (None if near_kink else False),
                "near_kink": near_kink,
                "status": "pass" if passed else ("kink" if near_kink else "fail"),
                "reason": None,
            }
            if not all(finite):
                first = finite.index(False)
                at = [int(i) for i in np.unravel_index(first, base.shape)] if base.ndim else []
                entry["reason"] = _not_finite_reason(name, *pairs[first], at) + (
                    f" ({finite.count(False)} of {len(finite)} entries not compared)"
                )
                entry["rel_error"] = worst if worst >= 0 else None
                if passed:  # a failure among the finite entries still fails
                    entry.update(passed=None, status="not finite")
            results.append(entry)
    return {
        "h": h,
        "tolerance": TOLERANCE,
        "passed": all(r["passed"] is not False for r in results),
        "inputs": results,
    }


def _has_kink(circuit: Circuit, trace: Trace) -> bool:
    for node in circuit.nodes:
        gate = GATES.get(node.op or "")
        if node.kind == "gate" and gate is not None and gate.kink is not None:
            xs = [np.asarray(trace.values[a]) for a in node.args]
            if gate.kink(xs, np.asarray(trace.values[node.id]), node.const, "split") is not None:
                return True
    return False
