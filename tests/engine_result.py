"""Readers of the engine's typed result (app/engine/result.py) that engine tests share."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from app.engine.result import EvaluateResult, StepResult


def output(result: EvaluateResult) -> Any:
    """The circuit's output value (a float, or a numpy array for tensors)."""
    return result.values[result.circuit.output]


def op_of(result: EvaluateResult, step: StepResult) -> str | None:
    return result.circuit.nodes[step.node].op


def step_for(result: EvaluateResult, op: str) -> StepResult:
    """The first backward step (in the order the steps ran) of a gate `op`."""
    return next(s for s in result.steps if op_of(result, s) == op)


def same(a: Any, b: Any) -> bool:
    """Equal as numbers, NaN equal to NaN: what comparing the wire's "NaN" strings meant."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return a.shape == b.shape and bool(np.all((a == b) | (np.isnan(a) & np.isnan(b))))


INF, NAN = math.inf, math.nan


def scalar_output(result: EvaluateResult) -> float:
    """The output of a circuit whose output is one number (a float or a 0-d array)."""
    value = output(result)
    assert np.shape(value) == (), np.shape(value)
    return float(value)
