"""The lessons in Chromium: each built-in lesson walked to its end, every question answered right and then wrong, tasks done on the live view, progress and step links."""

from __future__ import annotations

import math
import re
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Frame, Locator, Page, expect

from tests.browser.conftest import screenshot, watched_page
from tests.live_app import running_app

pytestmark = pytest.mark.browser


def sigmoid(v: float) -> float:
    return 1 / (1 + math.exp(-v))


def g6(value: float) -> str:
    """A number as the feedback writes it (six significant digits, JavaScript's shortest text)."""
    return f"{value:.6g}"


@dataclass(frozen=True)
class Ask:
    """One question and the test's own answers to it: `right` and `wrong` are what is typed or
    picked (a number, or an option's index). For a task, the step's `Task` does the work."""

    id: str
    kind: str  # number | choice | task
    right: float | int = 0
    wrong: float | int = 0


def number(qid: str, right: float) -> Ask:
    # 1 away from the answer is wrong under every tolerance a lesson may set (at most 0.5 x |answer|
    # only for large answers; none of these is)
    return Ask(qid, "number", right, right + 1)


def choice(qid: str, right: int, wrong: int) -> Ask:
    return Ask(qid, "choice", right, wrong)


def task(qid: str) -> Ask:
    return Ask(qid, "task")


# The answers, each from the reference file (`ref`) or worked by hand here, never read from the
# API. Steps are listed in order; each is the list of its questions.
def simple(ref: dict[str, Any]) -> list[list[Ask]]:
    add_mul = ref["add_mul"]
    x, y, z = (add_mul["inputs"][k] for k in "xyz")
    q = x + y
    return [
        # f = x*y at x = 4, y = -3: df/dx = y
        [number("dfdx", -3), choice("sensitivity", 1, 0)],
        # max(4, 2): the smaller input gets 0; d(x + y)/dx = 1
        [number("dmaxdy", 0), number("dadddx", 1)],
        [number("q", add_mul["intermediates"]["x + y"]), number("f", add_mul["output"])],
        [
            number("dfdz", add_mul["grads"]["z"]),
            number("dfdq", z),  # the multiply gate swaps: df/dq = z
            number("dfdx", add_mul["grads"]["x"]),
            number("dfdy", add_mul["grads"]["y"]),
        ],
        # first-order change of a 0.01 x gradient nudge: 0.01 * |grad|^2, with grad = (z, z, q)
        [number("nudge", 0.01 * (z * z + z * z + q * q)), task("go-up")],
    ]


def patterns(ref: dict[str, Any]) -> list[list[Ask]]:
    grads = ref["max_route"]["grads"]
    x, y = 2, -1  # the fork circuit x*x*y + x*y + x
    return [
        [
            number("dz", grads["z"]),
            number("dw", grads["w"]),
            number("dx", grads["x"]),
            number("dy", grads["y"]),
            choice("which-gate", 0, 2),
        ],
        [number("fork-dx", 2 * x * y + y + 1), number("fork-dy", x * x + x)],
        # w * x with w = 0.01, x = 1000: each gets the other's value
        [number("dw-scale", 1000), number("dx-scale", 0.01), choice("rescale", 0, 2)],
    ]


def sigmoid_lesson(ref: dict[str, Any]) -> list[list[Ask]]:
    neuron = ref["sigmoid_neuron"]
    gates = {g["gate"]: g for g in neuron["gates"]}
    staged = ref["staged"]
    x, y = staged["inputs"]["x"], staged["inputs"]["y"]
    den = sigmoid(x) + (x + y) ** 2
    s1 = sigmoid(1.0)  # the dot product is 2*(-1) + (-3)*(-2) - 3 = 1
    return [
        [number("dot", gates["... + w2"]["value"]), number("out", neuron["output"])],
        [number("d-den", gates["+ 1"]["grad"]), number("d-dot", gates["... + w2"]["grad"])],
        [
            number("local", (1 - s1) * s1),
            number("dx0", neuron["grads"]["x0"]),
            number("dw1", neuron["grads"]["w1"]),
            task("fire"),
        ],
        # f = num * invden: df/dnum = invden = 1/den; df/dinvden is the cached num (option 0)
        [number("dnum", 1 / den), choice("cached", 0, 1)],
        [number("dfdx", staged["grads"]["x"]), number("dfdy", staged["grads"]["y"])],
    ]


def vectorized(ref: dict[str, Any]) -> list[list[Ask]]:
    # the notes' shapes: W (5, 10) @ X (10, 3) -> D (5, 3); dW = dD @ X.T, dX = W.T @ dD
    assert ref["matmul_shapes"]["backward"].startswith("dW = dD @ X.T")
    dd_row, x_row = [-0.62, 0.32, 0.26], [1.61, -0.51, 1.44]  # as the step's prompt gives them
    return [
        [number("rows", 5), number("cols", 3)],
        [choice("dw-product", 0, 1), choice("dx-product", 1, 0)],
        [number("dw00", sum(a * b for a, b in zip(dd_row, x_row, strict=True)))],
    ]


# The notes' three 1-D points x = (1, -2, 0.5), point i in class i, one weight per class.
POINTS = (1.0, -2.0, 0.5)


def svm_terms(W: Sequence[float]) -> list[float]:
    """Each L_i of the three 1-D examples, delta 1 (the notes' formulas)."""
    return [
        sum(max(0.0, W[j] * xi - W[i] * xi + 1) for j in range(3) if j != i)
        for i, xi in enumerate(POINTS)
    ]


def svm_loss(w0: float) -> float:
    return sum(svm_terms((w0, 0.0, 0.0))) / 3


def svm_lesson(ref: dict[str, Any]) -> list[list[Ask]]:
    cases = ref["svm_scores"]["cases"]
    return [
        [
            number("cat", cases[0]["loss"]),
            number("frog", cases[2]["loss"]),
            number("mean", ref["svm_scores"]["mean_first_three"]),
            task("lower"),
        ],
        [number("l0", svm_terms((0.0, 0.0, 0.0))[0]), number("total", svm_loss(0))],
        # kinks where 1 - w0, 1 - 2 w0 and 1 + w0/2 reach 0; slope (-2 - 2 + 1/2)/3; minimum at 1
        [number("kinks", 3), number("slope", (-2 - 2 + 0.5) / 3), number("minimum", svm_loss(1))],
        [
            number("at-kink", svm_loss(0.5)),
            number("left", (-2 - 2 + 0.5) / 3),
            number("right", (-2 + 0 + 0.5) / 3),
        ],
    ]


def search_lesson(ref: dict[str, Any]) -> list[list[Ask]]:
    # at W = 0 every hinge is on; class 1's gradient: wrong for x0 and x2 (+x), right for x1
    # with two hinges (-2 x1), averaged over 3
    grad = [(-2 * 1 - 2 + 0.5) / 3, (1 + 4 + 0.5) / 3, (1 - 2 - 1) / 3]
    after = [-0.1 * g for g in grad]
    return [
        [choice("uses-current", 0, 1), choice("goes-up", 1, 0)],
        [choice("local-rule", 1, 0)],
        [number("grad-w1", grad[1]), number("one-step", sum(svm_terms(after)) / 3)],
        [
            number("fd-small", (svm_loss(0.1) - svm_loss(0)) / 0.1),
            number("fd-large", (svm_loss(0.6) - svm_loss(0)) / 0.6),
            number("cost", 10 * 3073 + 1),
        ],
        [choice("too-big", 0, 1)],
        [number("updates", 1.2e6 / 256), choice("why-batch", 0, 1)],
    ]


LESSONS = {
    "intuitions-simple": simple,
    "intuitions-patterns": patterns,
    "intuitions-sigmoid": sigmoid_lesson,
    "intuitions-vectorized": vectorized,
    "optimization-svm": svm_lesson,
    "optimization-search": search_lesson,
}


# ------------------------------------------------------------------ helpers


def open_step(page: Page, lesson: str, step: int) -> None:
    """Opens 1-based `step` of `lesson` by its link and waits until it is shown."""
    page.goto(f"/lessons/{lesson}?step={step}")
    expect(page.locator("#lesson")).to_have_attribute("data-step", str(step))


def question(page: Page, qid: str) -> Locator:
    return page.locator(f'#step-questions form[data-question="{qid}"]')


def live_view(page: Page) -> Frame:
    """The step's live view once its page has drawn (the circuit's first evaluation, or the
    landscape's readout)."""
    handle = page.locator("#step-view").element_handle()
    assert handle is not None
    frame = handle.content_frame()
    assert frame is not None
    frame.wait_for_load_state()
    if frame.url.split("?")[0].endswith("/landscape"):
        frame.wait_for_selector("body[data-ready]")  # its first round of requests drawn
    else:
        frame.wait_for_function(
            "() => Number(document.getElementById('circuit')?.dataset.evaluations || 0) > 0"
        )
    return frame


def expect_verdict(form: Locator, result: str, verdict: str) -> None:
    expect(form).to_have_class(re.compile(rf"\b{result}\b"))
    expect(form.locator(".question-verdict")).to_have_text(verdict)
    # every check shows the rule that gives the right answer
    expect(form.locator(".question-explain")).to_have_text(re.compile(r"^Why: .{20,}"))


def answer(page: Page, ask: Ask, value: float | int) -> Locator:
    form = question(page, ask.id)
    if ask.kind == "number":
        form.locator("input.answer-number").fill(repr(float(value)))
    else:
        form.locator(f'input[type="radio"][value="{value}"]').check()
    form.locator("button.question-check").click()
    return form


def answer_right_then_wrong(page: Page, ask: Ask) -> None:
    form = answer(page, ask, ask.right)
    expect_verdict(form, "right", "Right.")
    form = answer(page, ask, ask.wrong)
    if ask.kind == "number":
        expected = f"Not quite: the answer is {g6(float(ask.right))}."
    else:
        option = form.locator(".question-option").nth(int(ask.right)).inner_text().strip()
        expected = f"Not quite: the answer is “{option}”."
    expect_verdict(form, "wrong", expected)


def set_input(frame: Frame, name: str, value: float) -> None:
    """Types a new value for one input of the embedded circuit page, as a student would, and
    waits until its link holds it."""
    frame.get_by_label(name, exact=True).fill(str(value))
    frame.wait_for_function(
        "([name, value]) => JSON.parse(new URLSearchParams(location.hash.slice(1)).get('in'))[name] === value",
        arg=[name, value],
    )


def check_task(page: Page, qid: str, result: str, verdict: str) -> None:
    form = question(page, qid)
    form.locator("button.question-check").click()
    expect_verdict(form, result, verdict)


# Each task, done for real on the live view: first so that the output moves the asked way, then
# so that it does not. The outputs are worked out by hand.
def do_go_up(page: Page) -> None:
    frame = live_view(page)
    frame.locator("#nudge").click()  # follow the gradient: (x, y, z) + 0.01 (-4, -4, 3)
    frame.wait_for_function(
        "() => JSON.parse(new URLSearchParams(location.hash.slice(1)).get('in')).z === -3.97"
    )
    nudged = (-2.04 + 4.96) * -3.97
    check_task(page, "go-up", "right", f"Done. The output went from -12 to {g6(nudged)}.")
    set_input(frame, "z", -5)  # (-2.04 + 4.96) * -5, below -12
    check_task(page, "go-up", "wrong", f"Not yet. The output went from -12 to {g6(2.92 * -5)}.")


def do_fire(page: Page) -> None:
    frame = live_view(page)
    set_input(frame, "w2", -2.4)  # the dot product becomes 1.6: sigma rises by 0.101
    start = sigmoid(1.0)
    check_task(
        page, "fire", "right", f"Done. The output went from {g6(start)} to {g6(sigmoid(1.6))}."
    )
    set_input(frame, "w2", -2.9)  # 1.1: a rise of 0.019, less than the 0.1 asked
    check_task(
        page, "fire", "wrong", f"Not yet. The output went from {g6(start)} to {g6(sigmoid(1.1))}."
    )


def do_lower(page: Page) -> None:
    frame = live_view(page)
    set_input(frame, "s0", 4)  # max(0, 5.1 - 4 + 1) + max(0, -1.7 - 4 + 1) = 2.1
    check_task(page, "lower", "right", "Done. The output went from 2.9 to 2.1.")
    set_input(frame, "s0", 3)  # 3.1: higher than 2.9
    check_task(page, "lower", "wrong", "Not yet. The output went from 2.9 to 3.1.")


TASKS = {"go-up": do_go_up, "fire": do_fire, "lower": do_lower}


# ------------------------------------------------------------------ tests


@pytest.mark.parametrize("lesson", list(LESSONS))
def test_each_lesson_walks_to_its_end_right_then_wrong(
    page: Page, reference: dict[str, Any], lesson: str
) -> None:
    steps = LESSONS[lesson](reference)
    open_step(page, lesson, 1)
    expect(page.locator("#step-counter")).to_have_text(f"Step 1 of {len(steps)}")
    for k, asks in enumerate(steps, start=1):
        expect(page.locator("#lesson")).to_have_attribute("data-step", str(k))
        expect(page.locator("#step-counter")).to_have_text(f"Step {k} of {len(steps)}")
        assert page.url.endswith(f"?step={k}")
        live_view(page)  # every step shows a live view
        shown = page.locator("#step-questions form.question")
        expect(shown).to_have_count(len(asks))
        assert [f.get_attribute("data-question") for f in shown.all()] == [a.id for a in asks]
        for ask in asks:
            if ask.kind == "task":
                TASKS[ask.id](page)
            else:
                answer_right_then_wrong(page, ask)
        if k < len(steps):
            page.locator("#step-next").click()
    expect(page.locator("#step-next")).to_be_disabled()
    expect(page.locator("#lesson-end")).to_be_visible()
    screenshot(page, f"lesson-{lesson}-end")


def test_the_list_shows_every_built_in_lesson_in_order(page: Page) -> None:
    page.goto("/lessons")
    cards = page.locator("#lessons-list .lesson-card")
    expect(cards).to_have_count(len(LESSONS))
    assert [c.get_attribute("data-lesson") for c in cards.all()] == list(LESSONS)
    expect(cards.first.locator("h2 a")).to_have_attribute("href", "/lessons/intuitions-simple")
    expect(cards.first.locator(".lesson-facts")).to_have_text(
        "5 steps · follows Backprop, Intuitions"
    )
    cards.first.locator("h2 a").click()
    expect(page.locator("#lesson")).to_have_attribute("data-step", "1")


def test_progress_survives_a_reload_and_shows_in_the_list(page: Page) -> None:
    open_step(page, "intuitions-simple", 3)
    answer(page, number("q", 3), 3)
    expect(question(page, "q")).to_have_class(re.compile(r"\bright\b"))
    answer(page, number("f", -12), -11)
    expect(question(page, "f")).to_have_class(re.compile(r"\bwrong\b"))

    page.reload()
    expect(page.locator("#lesson")).to_have_attribute("data-step", "3")
    expect(question(page, "q")).to_have_class(re.compile(r"\bwas-right\b"))
    expect(question(page, "q").locator(".question-verdict")).to_have_text(
        "You answered this right before."
    )
    expect(question(page, "f")).to_have_class(re.compile(r"\bwas-wrong\b"))

    # without a step in its link, the lesson opens where the student left it
    page.goto("/lessons/intuitions-simple")
    expect(page.locator("#lesson")).to_have_attribute("data-step", "3")
    assert page.url.endswith("?step=3")
    page.goto("/lessons")
    mine = page.locator('[data-lesson="intuitions-simple"] .lesson-mine')
    expect(mine).to_have_text("You are at step 3 of 5; 1 question answered right.")
    expect(page.locator('[data-lesson="intuitions-patterns"] .lesson-mine')).to_have_count(0)


def test_a_step_link_opens_that_step_and_back_forward_move_between_steps(page: Page) -> None:
    open_step(page, "intuitions-simple", 4)
    expect(page.locator("#step-title")).to_have_text("The chain rule, gate by gate")
    expect(page.locator("#step-counter")).to_have_text("Step 4 of 5")
    # step 4 has no view of its own: it keeps step 3's circuit, (x + y) * z
    frame = live_view(page)
    assert "embed=1" in frame.url
    assert (
        frame.evaluate("() => new URLSearchParams(location.hash.slice(1)).get('e')")
        == "(x + y) * z"
    )
    expect(page.locator("#lesson-steps a[aria-current='step']")).to_have_text(
        "The chain rule, gate by gate"
    )

    page.locator("#step-next").click()
    expect(page.locator("#lesson")).to_have_attribute("data-step", "5")
    assert page.url.endswith("?step=5")
    page.go_back()
    expect(page.locator("#lesson")).to_have_attribute("data-step", "4")
    expect(page.locator("#step-title")).to_have_text("The chain rule, gate by gate")
    page.go_forward()
    expect(page.locator("#lesson")).to_have_attribute("data-step", "5")
    # the list of steps links each one
    page.locator("#lesson-steps a", has_text="Multiplication").click()
    expect(page.locator("#lesson")).to_have_attribute("data-step", "1")
    expect(page.locator("#lesson-intro")).to_be_visible()


def test_prose_shows_maths_as_text_with_its_symbols(page: Page) -> None:
    open_step(page, "intuitions-simple", 1)
    maths = page.locator("#step-prose .math", has_text="∂f")
    expect(maths.first).to_be_visible()
    # the TeX source \partial f / \partial x reads as symbols, with no backslash left
    assert all("\\" not in text for text in page.locator("#step-prose .math").all_inner_texts())
    open_step(page, "intuitions-sigmoid", 1)
    # e^{-(w_0 x_0 + ...)}: a superscript holding subscripts
    expect(page.locator("#lesson-intro .math sup sub").first).to_have_text("0")


# ------------------------------------------------------------------ a teacher's lesson

PAYLOAD = "<img src=x onerror=window.__xss=1>"
# (prose reads _..._ as italics, so its payloads name a global without underscores)
IN_PROSE = "<img src=x onerror=window.xssprose=1>"
TEACHER_LESSON = f"""---
format: 1
id: teacher-markup
title: "Markup {PAYLOAD} in a title"
summary: "<script>window.__xss=2</script> {PAYLOAD}"
order: 5
source: a teacher
---

Intro {IN_PROSE} with maths $<b>x</b>^2$.

## Step {PAYLOAD}

Prose <script>window.xssprose=2</script> and **bold {IN_PROSE}**.

```view
page: circuit
expression: x * y
inputs: {{x: 2, y: 3}}
```

```question
id: pick
kind: choice
prompt: "Pick {PAYLOAD}"
options:
  - "{PAYLOAD}"
  - plain
answer: 0
explain: "The rule {PAYLOAD}"
```
"""


@pytest.fixture(scope="module")
def teacher_server() -> Iterator[str]:
    with tempfile.TemporaryDirectory() as folder:
        (Path(folder) / "markup.md").write_text(TEACHER_LESSON)
        with running_app({"BPC_LESSONS_DIR": folder}) as base:
            yield base


def test_a_teachers_lesson_is_listed_first_and_its_markup_stays_text(
    browser: Browser, teacher_server: str
) -> None:
    with watched_page(browser, teacher_server) as page:
        page.goto("/lessons")
        cards = page.locator("#lessons-list .lesson-card")
        expect(cards).to_have_count(len(LESSONS) + 1)
        # order 5 sorts before the built-ins' 10
        expect(cards.first).to_have_attribute("data-lesson", "teacher-markup")
        expect(cards.first.locator("h2")).to_have_text(f"Markup {PAYLOAD} in a title")
        expect(cards.first.locator(".lesson-facts")).to_have_text(
            "1 step · follows a teacher · from your teacher"
        )

        open_step(page, "teacher-markup", 1)
        expect(page.locator("#step-title")).to_have_text(f"Step {PAYLOAD}")
        expect(page.locator("#step-prose strong")).to_have_text(f"bold {IN_PROSE}")
        expect(page.locator("#lesson-intro .math")).to_contain_text("<b>x</b>")
        form = answer(page, choice("pick", 0, 1), 1)
        expect_verdict(form, "wrong", f"Not quite: the answer is “{PAYLOAD}”.")
        expect(form.locator(".question-explain")).to_have_text(f"Why: The rule {PAYLOAD}")
        assert page.evaluate("[window.__xss, window.xssprose]") == [None, None]
        assert page.locator("main img").count() == 0
        assert page.locator("main script").count() == 0


# ------------------------------------------------------------------ the player's pure parts


def test_the_players_modules_read_links_numbers_and_storage(page: Page) -> None:
    page.goto("/lessons")
    got = page.evaluate(
        """async () => {
        const address = await import("/static/js/lessons/address.js");
        const questions = await import("/static/js/lessons/questions.js");
        const progress = await import("/static/js/lessons/progress.js");
        const refusing = { getItem() { throw new Error("refused"); }, setItem() { throw new Error("refused"); } };
        const lesson = progress.createProgress(refusing).lesson("x");
        lesson.record(2, "q", true);
        return {
          steps: ["?step=3", "?step=0", "?step=6", "?step=2.5", "?embed=1", "?step=5&embed=1"]
            .map((s) => address.stepFromSearch(s, 5)),
          search: address.searchWithStep("?embed=1&step=9", 1),
          circuit: address.embeddedLink("/#e=x+*+y&in=%7B%22x%22%3A2%7D"),
          landscape: address.embeddedLink("/landscape?view=1d&W=0.5;0;0"),
          live: address.liveLink({ pathname: "/", search: "?embed=1", hash: "#e=x&s=2" }),
          numbers: ["-4", "\u22124", " 0.41 ", "-7/6", "1e3", "", "abc", "1/0"].map(questions.readNumber),
          shown: [0.19661193324148188, -12, 4687.5, 30731, 1 / 3].map(questions.shown),
          refused: [lesson.result(2, "q"), lesson.rightCount()],
        };
      }"""
    )
    assert got["steps"] == [2, None, None, None, None, 4]
    assert got["search"] == "?embed=1&step=2"
    assert got["circuit"] == "/?embed=1#e=x+*+y&in=%7B%22x%22%3A2%7D"
    assert got["landscape"] == "/landscape?view=1d&W=0.5%3B0%3B0&embed=1"
    assert got["live"] == "/#e=x&s=2"
    assert got["numbers"] == [-4, -4, 0.41, -7 / 6, 1000, None, None, None]
    assert got["shown"] == ["0.196612", "-12", "4687.5", "30731", "0.333333"]
    # storage that refuses every call: progress lasts as long as the page
    assert got["refused"] == ["right", 1]
