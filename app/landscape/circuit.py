"""The loss of a small problem written as a staged circuit program: weights are inputs, data constants."""

from __future__ import annotations

from typing import Any

import numpy as np

from app.core.errors import LimitError
from app.core.limits import Limits
from app.landscape.data import problem
from app.landscape.losses import evaluate
from app.landscape.model import Setup


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


def score_name(i: int, j: int) -> str:
    return f"s{i}_{j}"


def signed_term(x: float, settings: Limits) -> str:
    """' + 1' or ' - 0.5', so no '+ -' appears in the program."""
    return f" - {number(-x, settings)}" if x < 0 else f" + {number(x, settings)}"


def loss_program(setup: Setup, settings: Limits) -> dict[str, Any]:
    """Stages s{i}_{j} = W{j}·x_i, then L{i} per example, then L = mean (+ reg * sum W^2)."""
    X, y, W, spec = setup.data.X, setup.data.y, setup.W, setup.spec
    n, num_classes = y.size, W.shape[0]
    if n * num_classes > settings.max_circuit_terms:
        raise LimitError("N*C", n * num_classes, settings.max_circuit_terms, "max_circuit_terms")
    if W.size > settings.max_inputs:
        raise LimitError(
            "C*D (weights as circuit inputs)", W.size, settings.max_inputs, "max_inputs"
        )
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
    lines.append(
        f"# per-example losses ({spec.loss}{'' if spec.loss != 'svm' else ', ' + spec.variant})"
    )
    delta = signed_term(spec.delta, settings)
    if spec.loss == "svm" and spec.variant != "ova" and num_classes == 1:
        lines.append(
            "# one class: there is no margin, so every L_i is 0 for every W "
            "(0 * s keeps the weights inputs of the circuit)"
        )
    for i in range(n):
        yi = int(y[i])
        others = [j for j in range(num_classes) if j != yi]
        if spec.loss == "softmax":
            # The stable log-sum-exp, as the landscape computes it: m + log(sum exp(s - m)) never
            # overflows, where log(sum exp(s)) is Infinity at scores of 1000 and dW NaN.
            scores = [score_name(i, j) for j in range(num_classes)]
            top = f"m{i}"
            most = f"max({', '.join(scores)})" if num_classes > 1 else scores[0]
            lines.append(f"{top} = {most}")
            exps = " + ".join(f"exp({s} - {top})" for s in scores)
            body = f"{top} + log({exps}) - {score_name(i, yi)}"
        elif not others and spec.variant != "ova":
            body = f"0 * {score_name(i, yi)}"
        elif spec.variant == "structured":
            margins = ", ".join(f"{score_name(i, j)} - {score_name(i, yi)}{delta}" for j in others)
            body = f"max(0, {margins})"
        elif spec.variant == "ova":
            terms = []
            for j in range(num_classes):
                if j == yi:
                    terms.append(f"max(0, {number(spec.delta, settings)} - {score_name(i, j)})")
                else:
                    terms.append(f"max(0, {number(spec.delta, settings)} + {score_name(i, j)})")
            body = " + ".join(terms)
        else:
            body = " + ".join(
                f"max(0, {score_name(i, j)} - {score_name(i, yi)}{delta})" for j in others
            )
        lines.append(f"L{i} = {body}")
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
