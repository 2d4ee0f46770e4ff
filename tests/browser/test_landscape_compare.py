"""Runs side by side in Chromium: five step sizes of gradient descent on the notes' three points, against numpy."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import screenshot
from tests.browser.test_landscape_page import acknowledge_rejections, axis_pixel, open_page

pytestmark = pytest.mark.browser

REFERENCE = json.loads(Path("/work/shared/reference/cs231n_examples.json").read_text())
# cs231n-1d: the notes' three 1-D points, one per class
X = np.array([1.0, -2.0, 0.5])
Y = [0, 1, 2]
W0 = np.array([0.3, -0.1, 0.6])  # one weight per class (D = 1)
REG = 0.7
STEPS = 150
CHOSEN = 1.0
# five step sizes half a decade apart around the chosen one, to three digits
SIZES = [0.1, 0.316, 1.0, 3.16, 10.0]


def hinge_loss(scores: np.ndarray, label: int, delta: float = 1.0) -> float:
    """The Weston-Watkins L_i of one example: sum over j != y of max(0, s_j - s_y + delta)."""
    return sum(max(0.0, s - scores[label] + delta) for j, s in enumerate(scores) if j != label)


def test_the_hinge_loss_is_the_reference_one() -> None:
    for case in REFERENCE["svm_scores"]["cases"]:
        got = hinge_loss(np.array(case["scores"]), case["y"], case["delta"])
        assert got == pytest.approx(case["loss"], rel=1e-12)


def loss_and_grad(w: np.ndarray) -> tuple[float, np.ndarray]:
    """The mean L_i plus REG * sum(w²), and its gradient: an active term (margin > 0) adds x to
    its class j's weight and takes x from the true class's."""
    loss, grad = 0.0, np.zeros(3)
    for x, label in zip(X, Y, strict=True):
        scores = w * x
        loss += hinge_loss(scores, label)
        for j in range(3):
            if j != label and scores[j] - scores[label] + 1.0 > 0:
                grad[j] += x
                grad[label] -= x
    return loss / 3 + REG * float(w @ w), grad / 3 + 2 * REG * w


def gradient_descent(step_size: float) -> tuple[list[float], bool]:
    """Up to STEPS steps of w -= step_size * dL/dw, stopping before the first non-finite point."""
    w, losses = W0.copy(), [loss_and_grad(W0)[0]]
    with np.errstate(over="ignore", invalid="ignore"):
        for _ in range(STEPS):
            w = w - step_size * loss_and_grad(w)[1]
            loss = loss_and_grad(w)[0]
            if not (np.isfinite(loss) and np.isfinite(w).all()):
                return losses, True
            losses.append(loss)
    return losses, False


def last_point(d: str) -> tuple[float, float]:
    numbers = [float(v) for v in re.findall(r"-?\d+(?:\.\d+)?(?:e-?\d+)?", d)]
    return numbers[-2], numbers[-1]


def test_five_step_sizes_end_where_numpy_says(page: Page) -> None:
    runs = [gradient_descent(size) for size in SIZES]
    # reg 0.7: a step scales w by |1 - 1.4 * step size| besides the bounded hinge part, so the
    # largest (×13 a step) overflows w² within 150 steps and the smallest settles
    assert runs[-1][1] and not runs[0][1]
    open_page(
        page,
        f"?dataset=cs231n-1d&winit=table&W=0.3;-0.1;0.6&reg={REG}&method=gd&lr={CHOSEN}"
        f"&psteps={STEPS}&cmp=steps",
    )
    legend = page.locator("#ls-compare-legend li")
    expect(legend).to_have_count(5)
    names = legend.locator(".run-name").all_text_contents()
    assert names == [f"gd · step {s:g}" for s in SIZES]
    zero, per_unit = axis_pixel(page, ".compare-chart", "axis-y")
    x_zero, x_per_step = axis_pixel(page, ".compare-chart", "axis-x")
    top = page.locator(".compare-chart .axis-y .tick").last.text_content()
    top_value = float(top.replace("\u2212", "-").replace(",", ""))
    for k, (losses, diverged) in enumerate(runs):
        item = legend.nth(k)
        assert item.get_attribute("data-diverged") == str(diverged).lower()
        shown = float(item.locator(".run-end").get_attribute("data-value"))
        assert shown == pytest.approx(losses[-1], rel=1e-9)
        line = page.locator(f'.compare-chart path.run-line[data-run="{k}"]')
        end_x, end_y = last_point(line.get_attribute("d"))
        assert end_x == pytest.approx(x_zero + (len(losses) - 1) * x_per_step, abs=1.0)
        if losses[-1] <= top_value:  # drawn inside the chart: its end is at its loss
            assert end_y == pytest.approx(zero + losses[-1] * per_unit, abs=1.0)
        if diverged:
            expect(item.locator(".run-end")).to_contain_text(
                f"diverged after step {len(losses) - 1}"
            )
            mark = page.locator(f'.compare-chart .diverged-mark[data-run="{k}"]')
            expect(mark).to_have_count(1)
    # too small, about right, bouncing, growing, diverged: the two smallest settle lowest
    assert max(runs[0][0][-1], runs[1][0][-1]) < runs[2][0][-1] < runs[3][0][-1]
    # hovering a legend row names and thickens its line
    legend.nth(1).hover()
    expect(page.locator('.compare-chart path.run-line[data-run="1"]')).to_have_class(
        re.compile(r"\bhot\b")
    )
    expect(page.locator(".compare-chart .compare-hover")).to_have_text("gd · step 0.316")
    screenshot(page, "landscape-compare-step-sizes")


def test_every_gradient_rule_at_one_step_size(page: Page) -> None:
    open_page(
        page,
        "?dataset=cs231n-1d&winit=table&W=0.3;-0.1;0.6&reg=0.1&method=momentum&lr=0.05"
        "&psteps=20&batch=8&cmp=optimizers",
    )
    names = page.locator("#ls-compare-legend li .run-name").all_text_contents()
    assert names == [f"{rule} · step 0.05" for rule in ("gd", "sgd", "momentum", "adam")]
    # the chosen rule's update is written out beside its settings
    expect(page.locator("#ls-rule")).to_contain_text("v = μ·v − step_size·dL/dW")


def test_a_comparison_over_budget_is_said_in_its_box_and_the_rest_draws(page: Page) -> None:
    # cifar-shaped, N = 1000, D = 3073, C = 10: each gd run of 50 steps is 50 × 1000 × 10 ×
    # 3173 = 1.59e9 work units, so five are 7.9e9, over BPC_MAX_OPTIMIZE_WORK (6e9)
    page.goto("/landscape?dataset=cifar-shaped&n=1000&method=gd&psteps=50&cmp=steps")
    box = page.locator("#ls-compare-error")
    expect(box).to_be_visible(timeout=60_000)
    expect(box).to_contain_text("BPC_MAX_OPTIMIZE_WORK")
    expect(page.locator("#ls-error")).to_be_hidden()
    expect(page.locator(".plot1d path.total-loss")).to_have_count(1)
    assert acknowledge_rejections(page, 413) == 1  # the comparison's, and no other
