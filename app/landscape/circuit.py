"""The loss of a small problem written as a staged circuit program: weights are inputs, data constants."""

from __future__ import annotations

from typing import Any

import numpy as np

from app.core.errors import LimitError
from app.core.limits import Limits
from app.landscape.data import problem
from app.landscape.loss_kind import score_name
from app.landscape.losses import LOSSES, evaluate, kind_of
from app.landscape.model import Setup

__all__ = ["loss_program", "number", "score_name", "weight_name"]


def number(x: float, settings: Limits) -> str:
    """A literal without exponent notation (the circuit grammar's plain numbers)."""
    text = np.format_float_positional(float(x), trim="-")
    if len(text.lstrip("-")) > settings.max_literal_chars:
        raise problem(
            f"the value {x!r} needs {len(text)} digits as a plain literal, over the circuit "
            f"limit of {settings.max_literal_chars}; rescale the data",
            ("body", "dataset"),
        )
    return text


def weight_name(c: int, d: int) -> str:
    return f"W{c}_{d}"


def loss_program(setup: Setup, settings: Limits) -> dict[str, Any]:
    """Stages s{i}_{j} = W{j}·x_i, then L{i} per example (the loss's own lines, LossKind.circuit),
    then L = mean (+ reg * sum W^2)."""
    X, y, W, spec = setup.data.X, setup.data.y, setup.W, setup.spec
    n, num_classes = y.size, W.shape[0]
    if n * num_classes > settings.max_circuit_terms:
        raise LimitError("N*C", n * num_classes, settings.max_circuit_terms, "max_circuit_terms")
    if W.size > settings.max_inputs:
        raise LimitError(
            "C*D (weights as circuit inputs)", W.size, settings.max_inputs, "max_inputs"
        )
    kind = kind_of(spec)
    if kind.circuit is None:
        label = next((c.label for c in LOSSES if c.name == spec.loss), spec.loss)
        raise problem(f"the {label} loss has no circuit form", ("body", "loss"))
    lines = ["# scores: s{i}_{j} = W{j} . x{i} (weights are inputs, data are constants)"]
    for i in range(n):
        for j in range(num_classes):
            parts = []
            for d in range(X.shape[1]):
                coefficient = X[i, d]
                sign = "-" if coefficient < 0 else "+"
                parts.append(f"{sign} {weight_name(j, d)}*{number(abs(coefficient), settings)}")
            body = " ".join(parts)
            body = body[2:] if body.startswith("+ ") else "-" + body[2:]
            lines.append(f"{score_name(i, j)} = {body}")
    lines.append(f"# per-example losses ({kind.heading})")
    lines += kind.circuit(y, num_classes, spec, lambda x: number(x, settings))
    mean = f"({' + '.join(f'L{i}' for i in range(n))}) / {n}"
    if spec.reg:
        squares = " + ".join(
            f"{weight_name(c, d)}**2" for c in range(num_classes) for d in range(W.shape[1])
        )
        lines.append(f"L = {mean} + {number(spec.reg, settings)} * ({squares})")
    else:
        lines.append(f"L = {mean}")
    result = evaluate(W, X, y, spec)
    return {
        "expression": "\n".join(lines),
        "inputs": {
            weight_name(c, d): float(W[c, d]) for c in range(num_classes) for d in range(W.shape[1])
        },
        "loss": result.loss,
        "data_loss": result.data_loss,
        "reg_loss": result.reg_loss,
        "grad_W": result.grad_W.tolist(),
    }
