"""The loss of a small problem written as a staged circuit program: weights are inputs, data constants.

`scope="example"` writes one example's loss L_i (its C scores, its max(0, ...) gates, their sum),
small enough to read on the circuit page, by default at an example where a max gate routes 0;
`scope="all"` writes the whole loss (every example, the mean, the regularizer).
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from app.core.errors import LimitError
from app.core.limits import Limits
from app.landscape.data import problem
from app.landscape.loss_kind import LossKind, LossSpec, score_name
from app.landscape.losses import LOSSES, LossResult, evaluate, kind_of
from app.landscape.model import Setup

__all__ = [
    "circuit_offer",
    "hinge_terms",
    "loss_program",
    "number",
    "pick_example",
    "score_name",
    "unavailable",
    "weight_name",
]


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


# ------------------------------------------------------------------ sizes


def _too_big(n: int, c: int, d: int, scope: str, settings: Limits) -> tuple[LimitError, str] | None:
    """The first size check the scope's program fails: the 413 naming the setting, for API
    users, and the same in plain words, which the landscape page shows. None: it fits."""
    if c * d > settings.max_inputs:
        return (
            LimitError("C*D (weights as circuit inputs)", c * d, settings.max_inputs, "max_inputs"),
            f"W has {c} × {d} = {c * d} weights, and a circuit takes at most "
            f"{settings.max_inputs} inputs: even one example's loss is too big for the circuit page",
        )
    if scope == "example" and c > settings.max_circuit_terms:
        return (
            LimitError(
                "C (one example's scores)", c, settings.max_circuit_terms, "max_circuit_terms"
            ),
            f"one example has {c} class scores, and the circuit page draws at most "
            f"{settings.max_circuit_terms}: even one example's loss is too big for it",
        )
    if scope == "all" and n * c > settings.max_circuit_terms:
        return (
            LimitError("N*C", n * c, settings.max_circuit_terms, "max_circuit_terms"),
            f"this data has {n} examples × {c} classes = {n * c} scores, and the circuit page "
            f"draws the whole loss for at most {settings.max_circuit_terms}: open a single "
            "example instead",
        )
    return None


def unavailable(n: int, c: int, d: int, scope: str, settings: Limits) -> str | None:
    """Why the scope's program is too big, in plain words (None: it fits)."""
    refused = _too_big(n, c, d, scope, settings)
    return refused[1] if refused else None


# ------------------------------------------------------------------ routing: the max(0, ...) gates


def _terms_per_example(kind: LossKind, y: np.ndarray, num_classes: int, spec: LossSpec) -> int:
    """How many max(0, ...) gates one example's L_i has: one per hinge term (term_values), one
    for a loss that is a single max over several lines per example (the structured SVM), none
    for a smooth loss. The same for every example (the true class only moves a slot)."""
    if kind.term_values is not None:
        return len(kind.term_values(np.zeros((1, 1, num_classes)), y[:1], spec))
    if kind.line_terms is not None:
        return 1 if num_classes > 1 else 0
    return 0


def inactive_counts(
    kind: LossKind, result: LossResult, y: np.ndarray, spec: LossSpec
) -> np.ndarray:
    """Per example, how many of its max gates have margin <= 0 (they route 0 to the scores)."""
    per = _terms_per_example(kind, y, result.margins.shape[1], spec)
    if per == 0:
        return np.zeros(y.size, dtype=int)
    counts: np.ndarray = per - result.active.sum(axis=1)
    return counts


def pick_example(counts: np.ndarray, per: int) -> int:
    """The first example with a max gate routing 0 and one passing gradient on (both behaviours
    in one picture), else the first with one routing 0, else example 0."""
    mixed = np.flatnonzero((counts > 0) & (counts < per))
    if mixed.size:
        return int(mixed[0])
    routing = np.flatnonzero(counts > 0)
    return int(routing[0]) if routing.size else 0


def hinge_terms(
    kind: LossKind, result: LossResult, y: np.ndarray, spec: LossSpec, examples: list[int]
) -> list[dict[str, Any]]:
    """The examples' max(0, ...) gates: the class j of each, its margin, and whether it is
    active (margin > 0: the gate passes its gradient on) or routes 0 to the scores."""
    terms = []
    num_classes = result.margins.shape[1]
    for i in examples:
        if kind.term_values is not None:
            slots = [
                j for _, j, _ in kind.term_values(np.zeros((1, 1, num_classes)), y[i : i + 1], spec)
            ]
            for j in slots:
                terms.append(
                    {
                        "example": i,
                        "cls": j,
                        "margin": float(result.margins[i, j]),
                        "active": bool(result.active[i, j]),
                    }
                )
        elif kind.line_terms is not None and num_classes > 1:
            # one max over the wrong classes' margins: the largest is the gate's argument
            row = result.margins[i].copy()
            row[int(y[i])] = -np.inf
            j = int(row.argmax())
            terms.append(
                {
                    "example": i,
                    "cls": j,
                    "margin": float(row[j]),
                    "active": bool(result.active[i].any()),
                }
            )
    return terms


def routing_note(counts: np.ndarray, per: int, example: int | None) -> str:
    """One sentence on what the max gates do at this W (for the chosen example, or all)."""
    if per == 0:
        return (
            "this loss has no max(0, …) gate: every score passes gradient on (softmax: "
            "p_j − 1 for the true class, p_j for the others)"
        )
    if example is None:
        total = int(counts.sum())
        if total == 0:
            return (
                "every margin is active at this W: each max gate passes its gradient on; "
                "move W to see a max gate route 0"
            )
        return f"{total} max gate(s) have margin ≤ 0 at this W: each routes 0 to its scores"
    here = int(counts[example])
    if here:
        return (
            f"example {example}: {here} of its {per} max gate(s) have margin ≤ 0 at this W, so "
            "each routes 0 to its scores (the other side of the max, the 0, gets the gradient)"
        )
    others = np.flatnonzero(counts > 0)
    if others.size:
        return (
            f"every margin of example {example} is active at this W: each max gate passes its "
            f"gradient on; pick example {int(others[0])} to see a max gate route 0"
        )
    return (
        f"every margin is active at this W, for example {example} and every other: each max "
        "gate passes its gradient on; move W to see a max gate route 0"
    )


def circuit_offer(
    setup: Setup, result: LossResult, settings: Limits, with_counts: bool
) -> dict[str, Any]:
    """What the landscape page needs before a click: the example it would open, whether each
    scope fits (with the reason when not), and the routing note for that example."""
    data, spec = setup.data, setup.spec
    kind = kind_of(spec)
    n, c, d = data.n, data.num_classes, data.d
    per = _terms_per_example(kind, data.y, c, spec)
    counts = inactive_counts(kind, result, data.y, spec)
    example = pick_example(counts, per)
    return {
        "example": example,
        "example_unavailable": unavailable(n, c, d, "example", settings),
        "all_unavailable": unavailable(n, c, d, "all", settings),
        "no_circuit_form": kind.circuit is None,
        "gates_per_example": per,
        "inactive": counts.tolist() if with_counts else None,
        "note": routing_note(counts, per, example),
    }


# ------------------------------------------------------------------ the program


def _score_lines(setup: Setup, examples: list[int], settings: Limits) -> list[str]:
    X, num_classes = setup.data.X, setup.W.shape[0]
    lines = []
    for i in examples:
        for j in range(num_classes):
            parts = []
            for d in range(X.shape[1]):
                coefficient = X[i, d]
                sign = "-" if coefficient < 0 else "+"
                parts.append(f"{sign} {weight_name(j, d)}*{number(abs(coefficient), settings)}")
            body = " ".join(parts)
            body = body[2:] if body.startswith("+ ") else "-" + body[2:]
            lines.append(f"{score_name(i, j)} = {body}")
    return lines


_DEFINED = re.compile(r"^\s*([A-Za-z_]\w*)\s*=")


def _as_example(lines: list[str], i: int, num_classes: int) -> list[str]:
    """Lines a loss wrote for a one-example dataset (its example 0) renamed to example i: the
    scores s0_j and each defined name ending in the index (L0, m0) get i instead. Renaming is
    whole-name and skips a name already taken, so the program means the same either way."""
    if i == 0:
        return lines
    renames = {score_name(0, j): score_name(i, j) for j in range(num_classes)}
    defined = [match.group(1) for line in lines if (match := _DEFINED.match(line))]
    # every name the lines define is taken, not only those renamed so far: x0 must not become
    # an x3 that a later line defines
    taken = set(renames.values()) | set(defined)
    for old in defined:
        if re.fullmatch(r"[A-Za-z]+0", old):
            new = f"{old[:-1]}{i}"
            if new not in taken:
                renames[old] = new
                taken.add(new)
    pattern = re.compile(r"(?<![\w.])(" + "|".join(map(re.escape, renames)) + r")(?!\w)")
    return [
        line if line.lstrip().startswith("#") else pattern.sub(lambda m: renames[m.group(1)], line)
        for line in lines
    ]


def _weights(W: np.ndarray) -> dict[str, float]:
    return {weight_name(c, d): float(W[c, d]) for c in range(W.shape[0]) for d in range(W.shape[1])}


def loss_program(
    setup: Setup, settings: Limits, scope: str = "all", example: int | None = None
) -> dict[str, Any]:
    """scope "example": s{i}_{j} = W{j}·x_i, then L{i} (the loss's own lines, LossKind.circuit)
    for one example (the server's pick when `example` is None). scope "all": the scores of every
    example, every L{i}, then L = mean (+ reg * sum W^2)."""
    X, y, W, spec = setup.data.X, setup.data.y, setup.W, setup.spec
    n, num_classes = y.size, W.shape[0]
    refused = _too_big(n, num_classes, X.shape[1], scope, settings)
    if refused is not None:
        raise refused[0]
    kind = kind_of(spec)
    if kind.circuit is None:
        label = next((c.label for c in LOSSES if c.name == spec.loss), spec.loss)
        raise problem(f"the {label} loss has no circuit form", ("body", "loss"))
    if example is not None and example >= n:
        raise problem(
            f"example {example} is out of range: this data has {n} examples (0 to {n - 1})",
            ("body", "example"),
        )
    result = evaluate(W, X, y, spec)
    per = _terms_per_example(kind, y, num_classes, spec)
    counts = inactive_counts(kind, result, y, spec)

    def literal(x: float) -> str:
        return number(x, settings)

    answer: dict[str, Any] = {
        "scope": scope,
        "inputs": _weights(W),
        "loss": result.loss,
        "data_loss": result.data_loss,
        "reg_loss": result.reg_loss,
        "grad_W": result.grad_W.tolist(),
    }
    if scope == "example":
        i = pick_example(counts, per) if example is None else example
        yi = int(y[i])
        features = ", ".join(number(v, settings) for v in X[i])
        lines = [
            f"# example {i} of {n}: x{i} = ({features}), true class y{i} = {yi}",
            f"# scores: {score_name(i, 0)[:-1]}j = Wj . x{i} (weights are inputs, the features constants)",
            *_score_lines(setup, [i], settings),
            f"# its loss L{i} ({kind.heading}); no regularizer: that is on the whole loss",
            *_as_example(kind.circuit(y[i : i + 1], num_classes, spec, literal), i, num_classes),
        ]
        one = kind.parts(X[i : i + 1] @ W.T, y[i : i + 1], spec)
        answer.update(
            example=i,
            label=yi,
            value=float(result.per_example[i]),
            value_grad_W=np.outer(one.dscores[0], X[i]).tolist(),
            terms=hinge_terms(kind, result, y, spec, [i]),
            note=routing_note(counts, per, i),
        )
    else:
        lines = ["# scores: s{i}_{j} = W{j} . x{i} (weights are inputs, data are constants)"]
        lines += _score_lines(setup, list(range(n)), settings)
        lines.append(f"# per-example losses ({kind.heading})")
        lines += kind.circuit(y, num_classes, spec, literal)
        mean = f"({' + '.join(f'L{i}' for i in range(n))}) / {n}"
        if spec.reg:
            squares = " + ".join(
                f"{weight_name(c, d)}**2" for c in range(num_classes) for d in range(W.shape[1])
            )
            lines.append(f"L = {mean} + {number(spec.reg, settings)} * ({squares})")
        else:
            lines.append(f"L = {mean}")
        answer.update(
            example=None,
            label=None,
            value=result.loss,
            value_grad_W=result.grad_W.tolist(),
            terms=hinge_terms(kind, result, y, spec, list(range(n))),
            note=routing_note(counts, per, None),
        )
    answer["expression"] = "\n".join(lines)
    return answer
