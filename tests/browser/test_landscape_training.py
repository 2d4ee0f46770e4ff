"""Training you can watch, in Chromium: each step is W -= lr * dW, checked against numpy; scrub back; play."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import numpy as np
import pytest
from playwright.sync_api import Page, expect

from tests.browser.test_landscape_dataview import POINTS, QUERY, W, with_bias
from tests.browser.test_landscape_page import open_page

pytestmark = pytest.mark.browser

LR = 0.5
REG = 0.1


def loss_and_grad(Wt: np.ndarray) -> tuple[float, np.ndarray]:
    """Weston-Watkins (delta 1) on the six points with reg: the mean L_i + reg sum(W²), and dW."""
    X, y = with_bias(POINTS)
    n = len(y)
    S = X @ Wt.T
    margins = S - S[np.arange(n), y][:, None] + 1.0
    margins[np.arange(n), y] = 0.0
    active = (margins > 0).astype(float)
    active[np.arange(n), y] = -active.sum(axis=1)  # the true class loses x per active term
    grad = active.T @ X / n + 2 * REG * Wt
    return float(np.maximum(0, margins).sum() / n + REG * np.sum(Wt * Wt)), grad


def descent(steps: int) -> list[np.ndarray]:
    seen = [W.copy()]
    for _ in range(steps):
        seen.append(seen[-1] - LR * loss_and_grad(seen[-1])[1])
    return seen


def url_W(page: Page) -> np.ndarray:
    text = parse_qs(urlsplit(page.url).query)["W"][0]
    return np.array([[float(v) for v in row.split(",")] for row in text.split(";")])


def test_steps_follow_gradient_descent_and_scrub_back(page: Page) -> None:
    open_page(page, f"{QUERY}&lr={LR}&reg={REG}")
    out = page.locator("#ls-train-out")
    expected = descent(2)
    page.click("#ls-train-step")
    expect(out).to_have_text(re.compile(r"^step 1 / 1: loss"))
    page.click("#ls-train-step")
    expect(out).to_have_text(re.compile(r"^step 2 / 2: loss"))
    np.testing.assert_allclose(url_W(page), expected[2], rtol=1e-12, atol=1e-15)
    shown = float(out.text_content().split("loss ")[1])
    assert shown == pytest.approx(loss_and_grad(expected[2])[0], rel=1e-5)  # 6 digits shown
    # scrub back to the start: W (and so every view) returns to it
    page.locator("#ls-train-scrub").fill("0")
    expect(out).to_have_text(re.compile(r"^step 0 / 2: loss"))
    np.testing.assert_allclose(url_W(page), W, rtol=0, atol=0)
    loss0 = loss_and_grad(W)[0]
    assert float(out.text_content().split("loss ")[1]) == pytest.approx(loss0, rel=1e-5)


def test_play_runs_until_paused(page: Page) -> None:
    open_page(page, f"{QUERY}&lr={LR}&reg={REG}")
    out = page.locator("#ls-train-out")
    page.click("#ls-train-play")
    expect(out).to_have_text(re.compile(r"^step ([5-9]|\d\d+) / "), timeout=20_000)
    page.click("#ls-train-play")
    expect(page.locator("#ls-train-play")).to_have_text("Play")
    # a step already asked for is still drawn: wait until the last W has its loss shown
    expect(out).to_have_text(re.compile(r"^step (\d+) / \1: loss"))
    k = int(re.match(r"step (\d+)", out.text_content() or "").group(1))  # type: ignore[union-attr]
    np.testing.assert_allclose(url_W(page), descent(k)[k], rtol=1e-10, atol=1e-13)


BLOBS_W = np.array([[0.4, -0.2, 0.1], [-0.3, 0.5, 0.0], [0.1, 0.2, -0.3]])
# the page's link for blobs with N = 300 at BLOBS_W, and the same problem as the API takes it
BLOBS_QUERY = "?dataset=blobs&n=300&d=2&c=3&bias=1&winit=table&W=" + ";".join(
    ",".join(repr(float(v)) for v in row) for row in BLOBS_W
)
BLOBS_BODY = {
    "dataset": {"name": "blobs", "n": 300, "d": 2, "c": 3, "seed": 0},
    "bias": True,
    "W": BLOBS_W.tolist(),
}


def ww_losses(Wt: np.ndarray, X: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Weston-Watkins (delta 1, no reg): each L_i, and dW of their mean."""
    n = len(y)
    S = X @ Wt.T
    margins = S - S[np.arange(n), y][:, None] + 1.0
    margins[np.arange(n), y] = 0.0
    active = (margins > 0).astype(float)
    active[np.arange(n), y] = -active.sum(axis=1)
    return np.maximum(0, margins).sum(axis=1), active.T @ X / n


def test_far_rows_of_the_table_are_written_when_scrolled_to(page: Page) -> None:
    """With 300 examples a step writes only the rows in or near the table's scroll box; the
    last row, far below it, shows the new W's L_i once it is scrolled into view."""
    open_page(page, f"{BLOBS_QUERY}&lr=0.5")
    answer = page.request.post(
        "/api/v1/landscape/loss", data={**BLOBS_BODY, "include_data": True}
    ).json()
    X, y = np.array(answer["X"]), np.array(answer["y"])
    losses0, grad = ww_losses(BLOBS_W, X, y)
    losses1, _ = ww_losses(BLOBS_W - 0.5 * grad, X, y)
    assert losses0[299] != losses1[299]  # the step changes the last example's loss
    last = page.locator('#ls-examples tbody tr[data-i="299"] td.li')
    assert float(last.get_attribute("data-value") or "nan") == pytest.approx(
        losses0[299], rel=1e-12, abs=1e-15
    )
    page.click("#ls-train-step")
    expect(page.locator("#ls-train-out")).to_have_text(re.compile(r"^step 1 / 1: loss"))
    first = page.locator('#ls-examples tbody tr[data-i="0"] td.li')
    assert float(first.get_attribute("data-value") or "nan") == pytest.approx(
        losses1[0], rel=1e-12, abs=1e-15
    )
    # far below the box: not written by the step (the old W's loss is still there)
    assert float(last.get_attribute("data-value") or "nan") == pytest.approx(
        losses0[299], rel=1e-12, abs=1e-15
    )
    page.locator("#ls-examples").evaluate("box => { box.scrollTop = box.scrollHeight; }")
    page.wait_for_function(
        "v => Math.abs(Number(document.querySelector("
        "'#ls-examples tbody tr[data-i=\"299\"] td.li').dataset.value) - v) < 1e-12",
        arg=float(losses1[299]),
    )
    shown = last.text_content() or ""
    assert float(shown) == pytest.approx(losses1[299], rel=5e-4)  # four significant digits


def test_hundreds_of_kinks_are_one_rug_path_with_a_tick_each(page: Page) -> None:
    """blobs with N = 300 has 362 kinks in the default range: more than are drawn as dots, so
    they are ticks on the axis, one path with a tick at each kink's a."""
    open_page(page, BLOBS_QUERY)
    answer = page.request.post(
        "/api/v1/landscape/slice",
        data={
            **BLOBS_BODY,
            "dims": 1,
            "range": [-3, 3],
            "steps": 201,
            "direction": "axis",
            "axis": [0, 0],
        },
    ).json()
    alphas = [k["alpha"] for k in answer["kinks"]]
    assert len(alphas) > 300  # over DOTTED_KINKS
    rug = page.locator(".plot1d path.kink-tick")
    expect(rug).to_have_attribute("data-count", str(len(alphas)))
    expect(page.locator(".plot1d circle.kink")).to_have_count(0)
    # each tick's x is its kink's a on the plot's own axis, read from two of its ticks (the
    # axis shows the weight's own value, W[0, 0] + a)
    ticks = page.evaluate(
        """() => [...document.querySelectorAll('.plot1d .axis-x .tick')].map((t) => [
          Number(t.textContent.replace('\\u2212', '-')),
          t.transform.baseVal.consolidate().matrix.e])"""
    )
    (a0, x0), (a1, x1) = ticks[0], ticks[-1]
    x0, x1 = x0 - 0.5, x1 - 0.5  # d3 axis offset: ticks sit half a pixel right at DPR 1
    scale = (x1 - x0) / (a1 - a0)
    xs = [float(v) for v in re.findall(r"M([-\d.]+),", rug.get_attribute("d") or "")]
    assert len(xs) == len(alphas)
    w00 = BLOBS_W[0, 0]
    np.testing.assert_allclose(xs, [x0 + (w00 + a - a0) * scale for a in alphas], atol=0.01)
    expect(page.locator(".plot1d .legend")).to_contain_text(f"kinks ({len(alphas)}), as ticks")
