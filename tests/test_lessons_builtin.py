"""The built-in lessons load clean, and every number question's answer key matches a value computed here without the engine (the reference file, or the notes' arithmetic written out)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from app.core.limits import Limits
from app.lessons import BUILTIN_DIR, builtin_lessons, load_folder


def _svm_1d(W: np.ndarray) -> float:
    """The Optimization notes' 1-D example (dataset cs231n-1d): x = 1, -2, 0.5 with classes
    0, 1, 2, scores s = x W (W a 3-vector, no bias), L = mean_i sum_{j != y_i} max(0, s_j -
    s_{y_i} + 1). Written out here, independent of app/landscape."""
    xs, ys = (1.0, -2.0, 0.5), (0, 1, 2)
    total = 0.0
    for x, y in zip(xs, ys, strict=True):
        s = x * W
        total += sum(max(0.0, s[j] - s[y] + 1.0) for j in range(3) if j != y)
    return total / 3


def _along_w0(w0: float) -> float:
    return _svm_1d(np.array([w0, 0.0, 0.0]))


def _truths(reference: dict[str, Any]) -> dict[tuple[str, int, str], float]:
    """(lesson, step, question) -> the true value, each worked independently."""
    add_mul, neuron = reference["add_mul"], reference["sigmoid_neuron"]
    max_route, staged = reference["max_route"], reference["staged"]
    svm = reference["svm_scores"]
    sig1 = 1 / (1 + math.exp(-1))  # the neuron's dot product is 2(-1) + (-3)(-2) - 3 = 1
    # At W = 0 every hinge of the 1-D example is active: the gradient sums x_i for j and -x_i
    # for y_i over all six terms, over 3: dw0 = (-1 - 1 - 2 + 0.5) / 3, dw1 = (1 + 2 + 2 +
    # 0.5) / 3, dw2 = (1 - 2 - 0.5 - 0.5) / 3
    grad0 = np.array([-3.5, 5.5, -2.0]) / 3
    # dW = dD X^T, so dW[0, 0] = dD[0, :] . X[0, :] (the lesson's numbers, in its prompt)
    dw00 = float(np.dot([-0.62, 0.32, 0.26], [1.61, -0.51, 1.44]))
    return {
        ("intuitions-simple", 0, "dfdx"): -3.0,  # d(xy)/dx = y
        ("intuitions-simple", 1, "dmaxdy"): 0.0,  # max routes: y = 2 < x = 4
        ("intuitions-simple", 1, "dadddx"): 1.0,
        ("intuitions-simple", 2, "q"): add_mul["intermediates"]["x + y"],
        ("intuitions-simple", 2, "f"): add_mul["output"],
        ("intuitions-simple", 3, "dfdz"): add_mul["grads"]["z"],
        ("intuitions-simple", 3, "dfdq"): add_mul["inputs"]["z"],  # multiply swaps: dq = z
        ("intuitions-simple", 3, "dfdx"): add_mul["grads"]["x"],
        ("intuitions-simple", 3, "dfdy"): add_mul["grads"]["y"],
        # each input moves by 0.01 * its gradient: df = 0.01 * (16 + 16 + 9)
        ("intuitions-simple", 4, "nudge"): 0.01 * sum(g * g for g in add_mul["grads"].values()),
        ("intuitions-patterns", 0, "dz"): max_route["grads"]["z"],
        ("intuitions-patterns", 0, "dw"): max_route["grads"]["w"],
        ("intuitions-patterns", 0, "dx"): max_route["grads"]["x"],
        ("intuitions-patterns", 0, "dy"): max_route["grads"]["y"],
        # f = x*x*y + x*y + x at (2, -1): df/dx = 2xy + y + 1, df/dy = x^2 + x
        ("intuitions-patterns", 1, "fork-dx"): 2 * 2 * -1 + -1 + 1,
        ("intuitions-patterns", 1, "fork-dy"): 2 * 2 + 2,
        # f = w x: dw = x, dx = w
        ("intuitions-patterns", 2, "dw-scale"): 1000.0,
        ("intuitions-patterns", 2, "dx-scale"): 0.01,
        ("intuitions-sigmoid", 0, "dot"): 1.0,
        ("intuitions-sigmoid", 0, "out"): neuron["output"],
        ("intuitions-sigmoid", 1, "d-den"): -1 / (1 + math.exp(-1)) ** 2,
        ("intuitions-sigmoid", 1, "d-dot"): neuron["grads"]["w2"],  # w2 is added to the dot
        ("intuitions-sigmoid", 2, "local"): sig1 * (1 - sig1),
        ("intuitions-sigmoid", 2, "dx0"): neuron["grads"]["x0"],
        ("intuitions-sigmoid", 2, "dw1"): neuron["grads"]["w1"],
        # f = num * invden: df/dnum = invden = 1 / (sigmoid(3) + (3 - 4)^2)
        ("intuitions-sigmoid", 3, "dnum"): 1 / (1 / (1 + math.exp(-3)) + 1),
        ("intuitions-sigmoid", 4, "dfdx"): staged["grads"]["x"],
        ("intuitions-sigmoid", 4, "dfdy"): staged["grads"]["y"],
        ("intuitions-vectorized", 0, "rows"): 5.0,  # W is 5 x 10, X is 10 x 3
        ("intuitions-vectorized", 0, "cols"): 3.0,
        ("intuitions-vectorized", 2, "dw00"): dw00,
        ("optimization-svm", 0, "cat"): svm["cases"][0]["loss"],
        ("optimization-svm", 0, "frog"): svm["cases"][2]["loss"],
        ("optimization-svm", 0, "mean"): svm["mean_first_three"],
        # at W = 0 every score is 0: each L_i is two margins of 1
        ("optimization-svm", 1, "l0"): 2.0,
        ("optimization-svm", 1, "total"): _svm_1d(np.zeros(3)),
        # along w0 the hinges break at w0 = 1 (cat), 0.5 (-2 w0 + 1) and -2 (0.5 w0 + 1)
        ("optimization-svm", 2, "kinks"): 3.0,
        ("optimization-svm", 2, "slope"): (_along_w0(1e-7) - _along_w0(-1e-7)) / 2e-7,
        ("optimization-svm", 2, "minimum"): min(_along_w0(w) for w in np.linspace(-3, 3, 6001)),
        ("optimization-svm", 3, "at-kink"): _along_w0(0.5),
        ("optimization-svm", 3, "left"): (_along_w0(0.5) - _along_w0(0.5 - 1e-7)) / 1e-7,
        ("optimization-svm", 3, "right"): (_along_w0(0.5 + 1e-7) - _along_w0(0.5)) / 1e-7,
        ("optimization-search", 2, "grad-w1"): grad0[1],
        ("optimization-search", 2, "one-step"): _svm_1d(-0.1 * grad0),
        ("optimization-search", 3, "fd-small"): (_along_w0(0.1) - _along_w0(0.0)) / 0.1,
        ("optimization-search", 3, "fd-large"): (_along_w0(0.6) - _along_w0(0.0)) / 0.6,
        # forward differences: one loss per weight, plus the loss at W itself
        ("optimization-search", 3, "cost"): 10 * 3073 + 1,
        ("optimization-search", 5, "updates"): 1_200_000 / 256,
    }


def test_every_built_in_lesson_loads_without_a_problem() -> None:
    lessons, problems = load_folder(BUILTIN_DIR, "builtin", Limits())
    assert problems == []
    assert len(lessons) == len(list(BUILTIN_DIR.glob("*.md"))) >= 6
    assert len({lesson.id for lesson in lessons}) == len(lessons)
    # each walks a course note, in the list's order
    assert all(lesson.source in ("Backprop, Intuitions", "Optimization") for lesson in lessons)


def test_every_number_key_matches_an_independent_value(reference: dict[str, Any]) -> None:
    truths = _truths(reference)
    asked = {}
    for lesson in builtin_lessons():
        for index, step in enumerate(lesson.steps):
            for question in step.questions:
                if question.kind == "number":
                    asked[(lesson.id, index, question.id)] = question
    # a new number question needs its value worked out here too
    assert set(asked) == set(truths)
    wrong = []
    for key, question in asked.items():
        truth = float(truths[key])
        # the key itself is exact (to float64's digits or the notes' own), whatever tolerance
        # the question allows the student; a finite difference over 1e-7 is good to ~1e-8
        if abs(float(question.answer or 0) - truth) > 1e-6 * max(1.0, abs(truth)):
            wrong.append((key, question.answer, truth))
    assert wrong == []


@pytest.mark.parametrize("name", sorted(p.name for p in BUILTIN_DIR.glob("*.md")))
def test_every_built_in_task_can_be_done(name: str) -> None:
    """A task's circuit has a number for an output, so moving an input can change it."""
    for lesson in builtin_lessons():
        if not lesson.path.endswith(name):
            continue
        for step in lesson.steps:
            for question in step.questions:
                if question.kind == "task":
                    assert isinstance(step.view.output, float) and math.isfinite(step.view.output)
