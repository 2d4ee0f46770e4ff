"""The circuit page's pure ES modules (state, format, timeline, caption, player, panels), run in Chromium."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Page

from tests.browser.test_circuit_page import Reference, evaluate, wait_evaluated

pytestmark = pytest.mark.browser

M = "/static/js/circuit/"


def run(page: Page, body: str, arg: Any = None) -> Any:
    """Runs `body` (an async function of (modules, arg)) with the page's modules imported."""
    return page.evaluate(
        f"""async (arg) => {{
        const m = {{}};
        for (const name of ["state", "format", "timeline", "caption", "player", "panels", "editor", "layout", "api"]) {{
          Object.assign(m, await import("{M}" + name + ".js"));
        }}
        return await ({body})(m, arg);
    }}""",
        arg,
    )


@pytest.fixture
def ready(page: Page) -> Page:
    page.goto("/")
    wait_evaluated(page)
    return page


def test_state_round_trips_through_the_url(ready: Page) -> None:
    state = {
        "expression": "dot = w*x + b\n1 / (1 + exp(-dot))",
        "inputs": {"w": 2, "x": -1.5, "b": [1, 2]},
        "outputGrad": -2,
        "tieBreak": "first",
        "step": 7,
        "speed": 4,
        "predict": True,
        "gradcheck": True,
        "collapse": True,
        "present": True,
        "view": [1.5625, -40.5, 12.25],  # zoom and pan
    }
    back = run(ready, "(m, s) => m.readState(m.writeState(s))", state)
    assert back == state
    assert "v=1.5625%2C-40.5%2C12.25" in run(ready, "(m, s) => m.writeState(s)", state)
    # a view with a missing number, or a scale that is not positive, is no view (fitted)
    for hash_ in ("#v=1%2C%2C2", "#v=0%2C1%2C2", "#v=1%2C2", "#v=a%2C1%2C2"):
        assert run(ready, f"(m) => m.readState('{hash_}').view") is None, hash_
    # defaults are left out of links, and a broken value falls back to its default
    assert run(ready, "(m) => m.writeState(m.defaultState())") == "#"
    broken = run(ready, "(m) => m.readState('#in=%7Bnot-json&s=-3&tie=nope&sp=0&e=x')")
    assert broken["inputs"] == {} and broken["step"] is None and broken["tieBreak"] == "split"
    assert broken["speed"] == 1 and broken["expression"] == "x"


def test_number_formatting(ready: Page) -> None:
    shown = run(
        ready,
        "(m) => [-11.5924, 0.19661193324148188, -8, 0, 1e-7, 123456.7, 'Infinity', 'NaN', -0.0000001]"
        ".map(m.fmt)",
    )
    assert shown == ["-11.59", "0.1966", "-8", "0", "1.00e-7", "123457", "∞", "NaN", "-1.00e-7"]
    # the server's text says "Infinity"; the page writes it as fmt does (issue 12, item 14)
    said = "x receives Infinity · -1 = -Infinity; NaN stays"
    assert run(ready, "(m, t) => m.fmtText(t)", said) == "x receives ∞ · -1 = -∞; NaN stays"
    assert run(ready, "(m) => [m.fmtAny([[1, 2, 3], [4, 5, 6]]), m.fmtAny(null), m.paren(-4)]") == [
        "[2×3]",
        "—",
        "(-4)",
    ]


def test_input_names_are_guessed_like_the_parser(ready: Page) -> None:
    names = run(
        ready,
        "(m) => m.guessInputNames('dot = w0*x0 + w1*x1 + w2  # exp(q)\\nf = sigmoid(dot) * 2e5 * z')",
    )
    assert names == ["w0", "x0", "w1", "x1", "w2", "z"]


def test_timeline_and_frames(ready: Page, live_server: str, reference: Reference) -> None:
    example = reference["add_mul"]
    circuit = evaluate(live_server, example["expression"], example["inputs"])
    result = run(
        ready,
        """(m, c) => {
        const tl = m.buildTimeline(c);
        return {
          phases: tl.steps.map((s) => s.phase),
          start: m.frameAt(tl, 0), middle: m.frameAt(tl, 2.5), end: m.frameAt(tl, 99),
          pulse: [m.pulseFraction(tl.steps[0], 0.25), m.pulseFraction(tl.steps[2], 0.25)],
        };
    }""",
        circuit,
    )
    assert result["phases"] == ["forward", "forward", "backward", "backward"]
    assert result["start"] == {"t": 0, "done": 0, "active": -1, "progress": 0, "moving": False}
    assert result["middle"] == {"t": 2.5, "done": 2, "active": 2, "progress": 0.5, "moving": True}
    assert result["end"] == {"t": 4, "done": 4, "active": 3, "progress": 1, "moving": False}
    assert result["pulse"] == [0.25, 0.75]  # forward fills left to right, gradients flow back


def test_fork_caption_shows_the_running_sum(ready: Page, live_server: str) -> None:
    circuit = evaluate(live_server, "x*x*y + x*y + x", {"x": 2, "y": -1})
    lines = run(
        ready,
        """(m, c) => {
        const tl = m.buildTimeline(c);
        return m.captionFor(c, tl, tl.steps.length - 1).lines;
    }""",
        circuit,
    )
    # the last step is x * x: both of its inputs are x, so dx grows twice
    assert "fork: gradients add up, dx = 1 + (-1) + (-2) = -2" in lines
    assert "fork: gradients add up, dx = 1 + (-1) + (-2) + (-2) = -4" in lines
    assert "uses the cached forward value: x = 2" in lines


def test_multiply_caption_has_the_real_numbers(
    ready: Page, live_server: str, reference: Reference
) -> None:
    example = reference["max_route"]
    circuit = evaluate(live_server, example["expression"], example["inputs"])
    caption = run(
        ready,
        """(m, c) => {
        const tl = m.buildTimeline(c);
        const i = tl.steps.findIndex((s) => s.phase === "backward" && s.backward.symbol === "×" && s.backward.upstream === 2);
        return m.captionFor(c, tl, i);
    }""",
        circuit,
    )
    assert "dx += local gradient · upstream = (-4) · 2 = -8" in caption["lines"]
    assert "dy += local gradient · upstream = 3 · 2 = 6" in caption["lines"]
    names = {n["id"]: n["symbol"] for n in circuit["nodes"]}
    assert sorted(names[i] for i in caption["uses"]) == ["x", "y"]


def test_player_clock_is_cancellable_and_flushable(ready: Page) -> None:
    result = run(
        ready,
        """(m) => {
        let now = 0;
        const queue = [];
        const frames = [];
        const player = new m.Player({
          onFrame: (t) => frames.push(t),
          raf: (cb) => queue.push(cb),
          caf: () => queue.splice(0),
          now: () => now,
        });
        player.setLength(10);
        player.speed = 2;
        player.play(6);
        now = 500; queue.shift()(now);  // half a second at 2 steps/s
        const afterTick = player.t;
        player.pause();
        const pausedQueue = queue.length;
        player.play(6);
        player.flush();
        const flushed = [player.t, player.playing];
        player.reducedMotion = true;
        player.seek(3.7);
        return { afterTick, pausedQueue, flushed, last: frames.at(-1) };
    }""",
    )
    assert result == {"afterTick": 1, "pausedQueue": 0, "flushed": [6, False], "last": 3}


def test_nudge_and_prediction_checks(ready: Page) -> None:
    result = run(
        ready,
        """(m) => ({
        nudged: m.nudgedInputs({x: -2, y: 5, z: -4, W: [[1, 2]]}, {x: -4, y: -4, z: 3, W: [[10, -10]]}),
        predicted: m.predictedChange({x: -4, y: -4, z: 3}),
        right: m.checkPrediction(" -8 ", -8), close: m.checkPrediction("-8.05", -8), far: m.checkPrediction("-8.1", -8),
        wrong: m.checkPrediction("8", -8), empty: m.checkPrediction("", -8),
    })""",
    )
    assert result["nudged"] == {"x": -2.04, "y": 4.96, "z": -3.97, "W": [[1.1, 1.9]]}
    assert result["predicted"] == pytest.approx(0.41)
    # within 1% of the answer counts as right
    assert result["right"]["ok"] and result["close"]["ok"]
    assert result["far"]["ok"] is False and result["wrong"]["ok"] is False
    assert result["empty"] == {"ok": False, "valid": False}


def test_kink_caption_names_the_convention(ready: Page, live_server: str) -> None:
    circuit = evaluate(live_server, "3 * max(z, w)", {"z": 1.5, "w": 1.5})
    caption = run(
        ready,
        """(m, c) => {
        const tl = m.buildTimeline(c);
        return m.captionFor(c, tl, tl.steps.length - 1);
    }""",
        circuit,
    )
    assert caption["kink"].startswith("kink (tie):")
    assert any("PyTorch" in line for line in caption["lines"])
    assert "dz += local gradient · upstream = 0.5 · 3 = 1.5" in caption["lines"]


def test_a_newer_evaluation_aborts_the_stale_one(ready: Page) -> None:
    result = run(
        ready,
        """async (m) => {
        const realFetch = window.fetch;
        let calls = 0;
        window.fetch = (url, options) => new Promise((resolve, reject) => {
          const n = ++calls;
          options.signal.addEventListener("abort", () => reject(new DOMException("stale", "AbortError")));
          setTimeout(() => resolve(new Response(JSON.stringify({ n }), { status: 200 })), 50);
        });
        try {
          const evaluator = new m.Evaluator();
          const first = evaluator.evaluate({ expression: "x" }).catch((e) => e.name);
          const second = evaluator.evaluate({ expression: "x + 1" });
          return [await first, await second];
        } finally {
          window.fetch = realFetch;
        }
    }""",
    )
    assert result == ["AbortError", {"n": 2}]
