"""Built-in example circuits: every circuit in the CS231n reference file, and a few more."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import numpy as np

from app.core.config import get_settings
from app.core.limits import Limits
from app.core.presets_file import DEFAULT_TOLERANCE

# The sigmoid neuron's inputs and gradients (reference file, float64), shared by two presets.
_NEURON_INPUTS = {"w0": 2, "x0": -1, "w1": -3, "x1": -2, "w2": -3}
_NEURON_GRADS = {
    "w0": -0.19661193324148188,
    "x0": 0.39322386648296376,
    "w1": -0.39322386648296376,
    "x1": -0.5898357997244457,
    "w2": 0.19661193324148188,
}

BUILT_IN: list[dict[str, Any]] = [
    {
        "id": "add_mul",
        "title": "(x + y) * z",
        "description": "The notes' first circuit: the add gate distributes, the multiply gate swaps.",
        "expression": "(x + y) * z",
        "inputs": {"x": -2, "y": 5, "z": -4},
        "expected": {"output": -12.0, "grads": {"x": -4.0, "y": -4.0, "z": 3.0}},
    },
    {
        "id": "max_route",
        "title": "2 * (x*y + max(z, w))",
        "description": "Add distributes 2 to both inputs, max routes 2 to z and 0 to w, "
        "multiply swaps: dx = y · 2 = -8, dy = x · 2 = 6.",
        "expression": "2 * (x*y + max(z, w))",
        "inputs": {"x": 3, "y": -4, "z": 2, "w": -1},
        "expected": {"output": -20.0, "grads": {"x": -8.0, "y": 6.0, "z": 2.0, "w": 0.0}},
    },
    {
        "id": "sigmoid_neuron",
        "title": "Sigmoid neuron",
        "description": "A 2-input neuron, 1 / (1 + exp(-(w·x + b))), gate by gate.",
        "expression": "1 / (1 + exp(-(w0*x0 + w1*x1 + w2)))",
        "inputs": _NEURON_INPUTS,
        "expected": {
            "output": 0.7310585786300049,
            "grads": _NEURON_GRADS,
        },
    },
    {
        "id": "sigmoid_staged",
        "title": "Sigmoid neuron, staged",
        "description": "The same neuron in two named stages; the sigmoid gate's local gradient "
        "is σ(1 - σ) = 0.197.",
        "expression": "dot = w0*x0 + w1*x1 + w2\nf = sigmoid(dot)",
        "inputs": _NEURON_INPUTS,
        "expected": {
            "output": 0.7310585786300049,
            "grads": _NEURON_GRADS,
        },
    },
    {
        "id": "staged",
        "title": "Staged computation",
        "description": "The notes' staged example (x + σ(y)) / (σ(x) + (x + y)²): x and y fork, "
        "and their gradients add up from every branch.",
        "expression": (
            "sigy = 1 / (1 + exp(-y))  # sigmoid in numerator\n"
            "num = x + sigy\n"
            "sigx = 1 / (1 + exp(-x))  # sigmoid in denominator\n"
            "xpy = x + y\n"
            "xpysqr = xpy**2\n"
            "den = sigx + xpysqr\n"
            "invden = 1 / den\n"
            "f = num * invden"
        ),
        "inputs": {"x": 3, "y": -4},
        "expected": {
            "output": 1.5456448841066441,
            "grads": {"x": 2.0595697955721652, "y": 1.5922327514838093},
        },
    },
    {
        "id": "staged_compact",
        "title": "(x + sigmoid(y)) / (sigmoid(x) + (x + y)**2)",
        "description": "The staged example as one expression, with sigmoid gates.",
        "expression": "(x + sigmoid(y)) / (sigmoid(x) + (x + y)**2)",
        "inputs": {"x": 3, "y": -4},
        "expected": {
            "output": 1.5456448841066441,
            "grads": {"x": 2.0595697955721652, "y": 1.5922327514838093},
        },
    },
    {
        "id": "scale_sensitivity",
        "title": "w * x with x = 1000",
        "description": "The multiply gate hands w a gradient of x = 1000: input scale sets the "
        "gradient's scale, which is why preprocessing and initialization matter.",
        "expression": "w * x",
        "inputs": {"w": 0.01, "x": 1000},
        "expected": {"output": 10.0, "grads": {"w": 1000.0, "x": 0.01}},
    },
    {
        "id": "fork",
        "title": "Gradients add at forks",
        "description": "x feeds four gates; its gradient is the sum of what flows back along "
        "each branch (2xy + y + 1 = -4 - 1 + 1 = -4): step through and watch the running sum.",
        "expression": "x*x*y + x*y + x",
        "inputs": {"x": 2, "y": -1},
        "expected": {"output": -4.0, "grads": {"x": -4.0, "y": 6.0}},
    },
    {
        "id": "max_tie",
        "title": "A max tie (a kink)",
        "description": "max(z, w) with z = w: the gradient is not defined; the default splits it "
        "evenly (PyTorch); tie_break 'first' gives it all to z.",
        "expression": "3 * max(z, w)",
        "inputs": {"z": 1.5, "w": 1.5},
        "expected": {"output": 4.5, "grads": {"z": 1.5, "w": 1.5}},
    },
    {
        "id": "relu_neuron",
        "title": "ReLU neuron",
        "description": "relu routes the gradient only where its input is positive.",
        "expression": "h = relu(w0*x0 + w1*x1 + b)\nout = 2*h - 1",
        "inputs": {"w0": 0.5, "x0": 2, "w1": -1, "x1": 0.5, "b": 0.25},
        "expected": {
            "output": 0.5,
            "grads": {"w0": 4.0, "x0": 1.0, "w1": 1.0, "x1": -2.0, "b": 2.0},
        },
    },
    # ---------------------------------------------------------------- tensors (issue 3)
    {
        "id": "matmul_shapes",
        "title": "D = W @ X: gradients have their tensor's shape",
        "description": "The notes' matrix multiply, W (5×10) @ X (10×3) -> D (5×3). dD is a "
        "random upstream gradient, as in the notes (L = sum(D * dD) hands D exactly dD); then "
        "dW = dD @ X.T is (5,10) and dX = W.T @ dD is (10,3): match the dimensions and the "
        "formula writes itself.",
        "expression": "D = W @ X\nL = sum(D * dD)",
        "inputs": {
            "W": [
                [-0.36, 2.97, 0.15, 0.58, -0.38, -0.82, -0.07, 0.06, -0.72, -1.21],
                [0.99, -0.82, 1.36, -2.92, 0.73, 0.86, -0.14, 1.69, 0.07, -0.01],
                [-0.56, 0.27, -1.6, 1.49, -0.08, 0.55, 1.8, -0.45, -1.95, 0.01],
                [1.12, -0.9, 0.37, 1.1, 1.31, -0.75, 0.22, 0.61, -1.25, 0.36],
                [-0.56, 1.06, -0.52, -0.66, -0.27, -0.51, -1.24, -1.0, 0.23, -0.8],
            ],
            "X": [
                [1.61, -0.51, 1.44],
                [-0.17, 0.75, -0.88],
                [0.54, -0.13, 0.25],
                [1.65, -0.96, 0.12],
                [-1.67, -1.57, -0.28],
                [-0.7, 0.02, 0.02],
                [-0.71, -0.25, -0.27],
                [-0.04, 0.47, -0.83],
                [1.05, -0.4, -0.37],
                [-1.68, 0.57, 1.26],
            ],
            "dD": [
                [-0.62, 0.32, 0.26],
                [-1.01, -0.07, 0.36],
                [0.29, 0.96, -0.42],
                [-2.18, 0.86, 0.07],
                [0.42, 1.03, 0.82],
            ],
        },
        "expected": {
            "output": -1.689124000000002,
            "grad_shapes": {"W": [5, 10], "X": [10, 3], "dD": [5, 3]},
        },
    },
    {
        "id": "two_layer_net",
        "title": "2-layer network: h = relu(W1 @ x + b1), s = W2 @ h + b2",
        "description": "A 3 -> 4 -> 2 network on one example; L = sum(s) makes the output a "
        "scalar so every weight has a gradient. Two hidden units are dead (relu blocks them), "
        "so their rows of dW1 are 0.",
        "expression": "h = relu(W1 @ x + b1)\ns = W2 @ h + b2\nL = sum(s)",
        "inputs": {
            "W1": [
                [0.19, -0.52, -0.41],
                [-2.44, 1.8, 1.14],
                [-0.33, 0.77, 0.28],
                [-0.55, 0.98, -0.31],
            ],
            "x": [-0.33, -0.79, 0.45],
            "b1": [-0.05, 0.27, -0.3, 0.06],
            "W2": [[-0.89, 0.84, 0.19, 0.33], [0.41, -1.01, 0.78, 2.06]],
            "b2": [-0.82, -0.86],
        },
        "expected": {
            "output": -1.762782,
            "grad_shapes": {"W1": [4, 3], "x": [3], "b1": [4], "W2": [2, 4], "b2": [2]},
        },
    },
    {
        "id": "svm_one_example",
        "title": "Multiclass SVM loss of one example",
        "description": "s = W @ x gives the lecture's cat scores (3.2, 5.1, -1.7); with y = 0 "
        "(cat) the hinge terms are max(0, 5.1 - 3.2 + 1) = 2.9 and max(0, -1.7 - 3.2 + 1) = 0. "
        "The j = y term is always max(0, 1) = 1, hence the - 1. y is an index: an integer "
        "input that gets no gradient.",
        "expression": "s = W @ x\nL = sum(max(0, s - s[y] + 1)) - 1",
        "inputs": {
            "W": [[1.2, 1.0, 0.0, 0.0], [0.1, 2.0, 2.0, 0.0], [-0.5, -0.2, 0.0, 0.8]],
            "x": [1.0, 2.0, 0.5, -1.0],
            "y": 0,
        },
        "expected": {
            "output": 2.8999999999999995,
            "grad_shapes": {"W": [3, 4], "x": [4]},
        },
    },
]


def _check_teacher_preset(preset: dict[str, Any], limits: Limits | None = None) -> None:
    """A teacher preset must not reuse a built-in id, must evaluate within `limits` (the
    configured ones at start-up), and must match `expected` within its tolerance."""
    from app.engine import evaluate

    if any(p["id"] == preset["id"] for p in BUILT_IN):
        raise ValueError("this id is a built-in preset's")
    report = evaluate(preset["expression"], preset["inputs"], limits=limits)
    expected = preset.get("expected", {})
    tolerance = expected.get("tolerance", DEFAULT_TOLERANCE)
    if "output" in expected:
        _compare("output", report["output"]["value"], expected["output"], tolerance)
    for name, want in expected.get("grads", {}).items():
        if name not in report["gradients"]:
            raise ValueError(f"expected grad {name}, but {name} is not an input of the circuit")
        _compare(f"grad {name}", report["gradients"][name], want, tolerance)


def _compare(what: str, got: Any, want: Any, tolerance: float) -> None:
    """|got - want| <= tolerance * max(1, |want|) for each element, shapes equal."""
    # a non-finite answer is written "NaN" or "Infinity", which float64 reads back
    got_array = np.asarray(got, dtype=np.float64)
    want_array = np.asarray(want, dtype=np.float64)
    if got_array.shape != want_array.shape:
        raise ValueError(
            f"expected {what} with shape {list(want_array.shape)}, but the circuit gives shape "
            f"{list(got_array.shape)}"
        )
    allowed = tolerance * np.maximum(1.0, np.abs(want_array))
    if not bool(np.all(np.abs(got_array - want_array) <= allowed)):
        equals = "" if what == "output" else " ="
        raise ValueError(
            f"expected {what}{equals} {_short(want)}, but the circuit gives {_short(got)}: "
            f"further apart than the tolerance {tolerance:g} × max(1, |expected|) (write more "
            "digits, or set expected.tolerance, e.g. 0.0001 for four digits)"
        )


def _short(value: Any) -> str:
    return f"{value!r:.80}" if isinstance(value, list) else str(value)


@lru_cache(maxsize=8)
def _teacher_presets(path: str, limits: Limits) -> tuple[dict[str, Any], ...]:
    from app.core.presets_file import load_teacher_presets

    def check(preset: dict[str, Any]) -> None:
        _check_teacher_preset(preset, limits)

    return tuple(load_teacher_presets(path, check=check, limits=limits))


def all_presets(presets_file: str | None = None) -> list[dict[str, Any]]:
    presets = [dict(p) for p in BUILT_IN]
    if presets_file:
        # a teacher's tensors and circuits are held to the configured limits (BPC_MAX_...)
        limits = Limits.from_settings(get_settings())
        presets.extend(dict(p, source="teacher") for p in _teacher_presets(presets_file, limits))
    return presets
