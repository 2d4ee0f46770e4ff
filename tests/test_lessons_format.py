"""The lesson file format (docs/lessons.md): what a good file gives, and each bad file's line and reason."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote_plus

import pytest

from app.core.limits import Limits
from app.lessons import LessonError, parse_lesson
from app.lessons.links import LinkError, circuit_state, split_link
from app.lessons.markdown import MarkdownError, inline, render

FRONT = """---
format: 1
id: add-gate
title: The add gate
summary: One sentence.
order: 30
source: Backprop, Intuitions
---
"""

STEP = """
## The add gate distributes

Prose with $\\partial f / \\partial x$.

```view
page: circuit
expression: (x + y) * z
inputs: {x: -2, y: 5, z: -4}
step: 0
```

```question
id: dfdx
kind: number
prompt: What is df/dx?
answer: -4
tolerance: 1e-9
explain: The add gate distributes the gradient z = -4 to x.
```
"""


def lesson(text: str, limits: Limits | None = None):
    return parse_lesson("t.md", text.encode(), "teacher", limits or Limits())


def problem(text: str, limits: Limits | None = None) -> str:
    with pytest.raises(LessonError) as info:
        lesson(text, limits)
    return str(info.value)


def line_of(text: str, needle: str) -> int:
    """The 1-based line of the first line holding `needle` (the line an error must name)."""
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


def test_a_good_file_gives_its_lesson() -> None:
    got = lesson(FRONT + "\nIntro *words*.\n" + STEP)
    assert (got.id, got.title, got.summary, got.order, got.source) == (
        "add-gate",
        "The add gate",
        "One sentence.",
        30,
        "Backprop, Intuitions",
    )
    assert got.intro_html == "<p>Intro <em>words</em>.</p>"
    [step] = got.steps
    assert step.title == "The add gate distributes"
    assert step.html == '<p>Prose with <span class="math">\\partial f / \\partial x</span>.</p>'
    # the link the circuit page itself writes for this state (URLSearchParams: a space is +)
    assert step.view.link == (
        "/#e=%28x+%2B+y%29+*+z&in=%7B%22x%22%3A-2%2C%22y%22%3A5%2C%22z%22%3A-4%7D&s=0"
    )
    # (x + y) * z at -2, 5, -4 is 3 * -4 = -12
    assert step.view.output == -12.0
    [question] = step.questions
    assert (question.kind, question.answer, question.tolerance) == ("number", -4, 1e-9)
    public = got.public()["steps"][0]
    assert public["questions"] == [{"id": "dfdx", "kind": "number", "prompt": "What is df/dx?"}]
    assert "explain" not in str(public) and "-4" not in str(public["questions"])


def test_a_step_without_a_view_keeps_the_one_before() -> None:
    got = lesson(FRONT + STEP + "\n## Next\n\nMore words.\n")
    assert got.steps[1].view == got.steps[0].view


def test_a_view_link_is_written_as_the_page_writes_it() -> None:
    text = FRONT + STEP.replace(
        "page: circuit\nexpression: (x + y) * z\ninputs: {x: -2, y: 5, z: -4}\nstep: 0",
        'link: "http://localhost:8000/?embed=1#e=x+*+y&in=%7B%22x%22%3A4%2C%22y%22%3A-3%7D"',
    ).replace("answer: -4", "answer: -3")
    view = lesson(text).steps[0].view
    assert view.link == "/#e=x+*+y&in=%7B%22x%22%3A4%2C%22y%22%3A-3%7D"
    assert (view.expression, view.inputs, view.output) == ("x * y", {"x": 4, "y": -3}, -12.0)


def test_landscape_views_by_link_or_by_field_names() -> None:
    by_link = FRONT + '\n## L\n\n```view\nlink: "/landscape?view=2d&loss=softmax&lr=0.5"\n```\n'
    assert lesson(by_link).steps[0].view.link == "/landscape?view=2d&loss=softmax&lr=0.5"
    by_names = FRONT + "\n## L\n\n```view\npage: landscape\nloss: softmax\nview: 2d\nlr: 0.5\n```\n"
    # written in the page's table order, whatever the file's order
    assert lesson(by_names).steps[0].view.link == "/landscape?view=2d&loss=softmax&lr=0.5"


def test_yaml_1_1_traps_are_read_as_the_teacher_meant() -> None:
    # 1e-9 without a dot is text in YAML 1.1; "Yes" is a boolean; 0.50 is the number 0.5
    text = FRONT.replace("title: The add gate", "title: Yes") + STEP.replace(
        "```\n\n```question",
        "```\n\n```question\noptions:\n  - 0.50\n  - no\nanswer: 1\n"
        "id: pick\nkind: choice\nprompt: Which?\nexplain: Because.\n```\n\n```question",
        1,
    )
    got = lesson(text)
    assert got.title == "Yes"
    choice = got.steps[0].questions[0]
    assert choice.options == ("0.50", "no") and choice.answer == 1
    assert got.steps[0].questions[1].tolerance == 1e-9


def _bad(text: str, needle: str, reason: str) -> None:
    """`text` is refused at the line holding `needle`, with `reason` in the message."""
    message = problem(text)
    assert message.startswith(f"t.md:{line_of(text, needle)}: "), message
    assert reason in message, message


@pytest.mark.parametrize(
    ("change", "needle", "reason"),
    [
        (("answer: -4", "answr: -4"), "answr", "unknown key 'answr' in the question block"),
        (("answer: -4", "answer: -4\nanswer: 3"), "answer: 3", "'answer' is given twice"),
        (("answer: -4", "answer: minus four"), "answer:", "'answer' must be a number, got str"),
        (("answer: -4", "answer: yes"), "answer:", "YAML reads yes/no/on/off"),
        (("answer: -4", "answer: .nan"), "answer:", "'answer' must be finite"),
        (("tolerance: 1e-9", "tolerance: 0.6"), "tolerance:", "at most 0.5"),
        (("tolerance: 1e-9", "tolerance: 0"), "tolerance:", "above 0"),
        (("kind: number", "kind: numbr"), "kind:", "kind must be number, choice or task"),
        (("id: dfdx", "id: dF"), "id: dF", "lowercase letters"),
        (("explain: The add", "explanation: The add"), "explanation", "unknown key"),
        (("step: 0", "stp: 0"), "stp: 0", "the circuit page has no such field"),
        (("step: 0", "step: -1"), "step: -1", "must be 0 or more"),
        (("step: 0", "tieBreak: both"), "tieBreak", "must be one of split, first"),
        (("(x + y) * z", "(x + y) ^ z"), "expression:", "the view's circuit: "),
        (("z: -4}", "q: -4}"), "expression:", "the view's circuit: "),
        (("```question", "```qestion"), "qestion", "did you mean ```question?"),
        (("id: add-gate", "id: Add_Gate"), "id: Add_Gate", "'id' must be 1-64 lowercase"),
        (("format: 1", "format: 2"), "format: 2", "format 2 is not one this version reads"),
        (("order: 30", "order: 3.5"), "order:", "'order' must be a whole number"),
        (("order: 30", "colour: red"), "colour", "unknown key 'colour' in the front matter"),
        (("Prose with", "# Title\n\nProse with"), "# Title", "each step starts with '## '"),
        (("Prose with", "[x](javascript:alert(1)) with"), "[x]", "must be relative"),
        (("inputs: {", "inputs: [1]\nx: {"), "inputs:", "'inputs' must be a mapping"),
    ],
)
def test_each_bad_file_names_its_line_and_reason(
    change: tuple[str, str], needle: str, reason: str
) -> None:
    text = FRONT + STEP
    assert change[0] in text
    _bad(text.replace(change[0], change[1], 1), needle, reason)


@pytest.mark.parametrize(
    ("body", "needle", "reason"),
    [
        ("\n## Only prose\n\nNo view here.\n", "## Only prose", "the first step needs a ```view"),
        ("\nJust an introduction.\n", "Just an", "the lesson has no steps"),
        ("\n```view\npage: circuit\nexpression: x\n```\n" + STEP, "```view", "belongs in a step"),
        (
            STEP + "\n```view\npage: circuit\nexpression: y\n```\n",
            "```view\npage: circuit\nexpression: y",
            "second view in the step (the first is at line 14)",
        ),
        (
            STEP + "\n```question\nid: dfdx\nkind: choice\nprompt: p\nexplain: e\noptions: [a, b]"
            "\nanswer: 2\n```\n",
            "answer: 2",
            "answer is the option's index from 0 to 1",
        ),
        (
            STEP + "\n```question\nid: c\nkind: choice\nprompt: p\nexplain: e\noptions: [a]"
            "\nanswer: 0\n```\n",
            "options: [a]",
            "a choice has 2 to 8 options, got 1",
        ),
        (
            STEP + "\n```question\nid: dfdx\nkind: task\ngoal: increase\nprompt: p\nexplain: e\n"
            "```\n",
            "id: dfdx\nkind: task",
            "question id 'dfdx' is used twice",
        ),
        (
            STEP + "\n```question\nid: t\nkind: task\ngoal: up\nprompt: p\nexplain: e\n```\n",
            "goal: up",
            "goal must be increase or decrease",
        ),
        (
            STEP + "\n```question\nid: t\nkind: task\ngoal: increase\nby: -1\nprompt: p\n"
            "explain: e\n```\n",
            "by: -1",
            "by must be above 0",
        ),
        (
            STEP + "\n```question\nid: t\nkind: task\ngoal: increase\nprompt: p\nexplain: e\n"
            "answer: 1\n```\n",
            "answer: 1\n```\n",
            "unknown key 'answer' in the question block of a task question",
        ),
        (
            "\n## L\n\n```view\nlink: /landscape?view=2d\n```\n\n```question\nid: t\nkind: task\n"
            "goal: increase\nprompt: p\nexplain: e\n```\n",
            "```question",
            "must be the circuit page",
        ),
        ("\n## S\n\n```view\npage: circuit\n", "```view", "never closed"),
        ("\n## S\n\n```view\nlink: /lessons\n```\n", "link:", "must be one of the pages"),
        ("\n## S\n\n```view\nlink: /#e=x&zz=1\n```\n", "link:", "has no field 'zz'"),
        ("\n## S\n\n```view\nlink: /?e=x\n```\n", "link:", "in the link's hash"),
        ("\n## S\n\n```view\nlink: /#e=x&in=%7Bx\n```\n", "link:", "'in' (inputs) is not JSON"),
        ("\n## S\n\n```view\nlink: /landscape?loss=hinge\n```\n", "link:", "one of svm, softmax"),
        (
            "\n## S\n\n```view\npage: circuit\nexpression: x\ninputs: {x: &a 1}\ng: *a\n```\n",
            "g: *a",
            "YAML alias",
        ),
        (
            "\n## S\n\n```view\npage: circuit\nexpression: x\ninputs: {x: 1\n```\n",
            "inputs:",
            "not valid YAML",
        ),
        (STEP + "\n$$\nf = x\n", "$$\nf = x", "display maths opened with $$ is never closed"),
    ],
)
def test_bad_steps_name_their_line(body: str, needle: str, reason: str) -> None:
    text = FRONT + body
    message = problem(text)
    # a needle of several lines is unique as a whole: the error names its first line
    at = text.index(needle) if "\n" in needle else None
    line = text[:at].count("\n") + 1 if at is not None else line_of(text, needle)
    assert message.startswith(f"t.md:{line}: "), (message, line)
    assert reason in message, message


def test_front_matter_must_open_and_close() -> None:
    assert problem("# A lesson\n") == "t.md:1: a lesson file starts with front matter: a '---' line"
    assert "never closed by '---'" in problem("---\nformat: 1\n")
    message = problem(FRONT.replace("title: The add gate\n", "") + STEP)
    assert message == "t.md:2: the front matter has no 'title'"


def test_text_that_is_not_utf8_names_its_line() -> None:
    data = (FRONT + STEP).encode().replace(b"Prose with", b"Pros\xe9 with")
    with pytest.raises(LessonError) as info:
        parse_lesson("t.md", data, "teacher", Limits())
    assert (
        str(info.value) == f"t.md:{line_of(FRONT + STEP, 'Prose with')}: the file is not UTF-8 text"
    )


def test_a_huge_tensor_circuit_is_refused_by_the_engine_limits() -> None:
    """A view's circuit runs under the same Limits as a request: over them, the setting named."""
    text = FRONT + STEP
    limits = Limits().but(max_gates=2)
    # (x + y) * z has two gates: at max_gates=1 it is refused, naming the setting
    assert lesson(text, limits).steps[0].view.output == -12.0
    message = problem(text, Limits().but(max_gates=1))
    assert message.startswith(f"t.md:{line_of(text, 'expression:')}: the view's circuit: ")
    assert "BPC_MAX_GATES" in message


# --------------------------------------------------------------------------- links


def test_circuit_links_read_as_the_page_reads_them() -> None:
    state = circuit_state("/#e=%28x+%2B+y%29+*+z&in=%7B%22x%22%3A-2%7D&s=3&e=ignored")
    # '+' is a space; of a repeated key the page's URLSearchParams.get reads the first
    assert state.expression == "(x + y) * z" and state.inputs == {"x": -2}
    assert state.fields["s"] == "3"
    page, fields = split_link("https://example.org/landscape?view=1d&embed=1&W=1,2;3,4")
    assert page == "landscape" and fields == {"view": "1d", "W": "1,2;3,4"}


@pytest.mark.parametrize(
    ("link", "reason"),
    [
        ("javascript:alert(1)", "not a javascript: link"),
        ("/landscape?W=1,2;3", "must be rows of numbers"),
        ("/#e=x&v=1,2", "three numbers"),
        ("/#e=x&g=inf", "finite number"),
        ("/#e=x&p=yes", "must be 1 or 0"),
        ("/#in=%7B%7D", "has no expression"),
        ("/#e=x&in=%5B1%5D", "must be a JSON object"),
        ("/#e=x&in=%7B%22x%22%3ANaN%7D", "is not JSON"),
        ("/#e=%FF", "not UTF-8"),
    ],
)
def test_bad_links_say_why(link: str, reason: str) -> None:
    with pytest.raises(LinkError, match=reason):
        circuit_state(link)


def test_inputs_are_written_as_json_stringify_writes_them() -> None:
    text = FRONT + STEP.replace("{x: -2, y: 5, z: -4}", "{x: -2.0, y: 0.1, z: 1.0e-7}").replace(
        "answer: -4", "answer: 1.0e-7"
    )
    link = lesson(text).steps[0].view.link
    # JSON.stringify({x: -2, y: 0.1, z: 1e-7}) === '{"x":-2,"y":0.1,"z":1e-7}'
    assert unquote_plus(link.split("in=")[1].split("&")[0]) == '{"x":-2,"y":0.1,"z":1e-7}'


# --------------------------------------------------------------------------- markdown


def test_markdown_escapes_everything_and_keeps_maths_as_text() -> None:
    html = render(
        [
            (1, "A <b>tag</b> & $a < b$ and **bold *nested* words** and `<i>`."),
            (2, ""),
            (3, "1. first"),
            (4, "   continued"),
            (5, "2. second"),
            (6, ""),
            (7, "$$"),
            (8, "\\frac{<x>}{2}"),
            (9, "$$"),
            (10, "```"),
            (11, "<script>"),
            (12, "```"),
            (13, "### Sub"),
            (14, "snake_case_name stays, _this_ is italic, \\*not\\*."),
        ]
    )
    assert html == (
        '<p>A &lt;b&gt;tag&lt;/b&gt; &amp; <span class="math">a &lt; b</span> and '
        "<strong>bold <em>nested</em> words</strong> and <code>&lt;i&gt;</code>.</p>\n"
        "<ol><li>first continued</li><li>second</li></ol>\n"
        '<div class="math">\\frac{&lt;x&gt;}{2}</div>\n'
        "<pre><code>&lt;script&gt;</code></pre>\n"
        "<h3>Sub</h3>\n"
        "<p>snake_case_name stays, <em>this</em> is italic, *not*.</p>"
    )


@pytest.mark.parametrize(
    ("url", "ok"),
    [
        ("/lessons/intro", True),
        ("https://cs231n.github.io/optimization-2/", True),
        ("#step-2", True),
        ("javascript:alert(1)", False),
        ("data:text/html,x", False),
        ("//evil.example", False),
        ("JAVASCRIPT:alert(1)", False),
    ],
)
def test_links_only_to_relative_or_http_addresses(url: str, ok: bool) -> None:
    if ok:
        assert inline(f"[see]({url})", 1).startswith(f'<a href="{url}"')
    else:
        with pytest.raises(MarkdownError, match="must be relative"):
            inline(f"[see]({url})", 7)


def test_a_quote_in_a_link_cannot_leave_the_attribute() -> None:
    assert inline('[a](/x"onmouseover="y)', 1) == ('<a href="/x&quot;onmouseover=&quot;y">a</a>')


def test_parse_lesson_reads_a_real_file(tmp_path: Path) -> None:
    path = tmp_path / "a.md"
    path.write_text(FRONT + STEP, encoding="utf-8")
    assert parse_lesson(path, path.read_bytes(), "teacher", Limits()).path == str(path)


# --------------------------------------------------------------------------- hostile files


@pytest.mark.parametrize(
    ("unit", "count"),
    [("**a ", 16_000), ("[a](", 15_000), ("[", 60_000), ("$a ", 20_000), ("**a", 20_000)],
)
def test_a_64_kb_paragraph_of_unclosed_marks_is_plain_escaped_text(unit: str, count: int) -> None:
    """Each of these took a lazy pattern to the paragraph's end from every opening (the first
    ran for 91 s); no span may run past its kind's next opening, so they finish at once."""
    html = render([(1, unit * count)])
    assert html.startswith("<p>") and html.endswith("</p>")
    assert "<a " not in html and "<span" not in html


def test_yaml_nested_past_32_levels_is_refused_before_it_is_parsed() -> None:
    deep = "[" * 5_000 + "1" + "]" * 5_000
    text = FRONT + STEP.replace("{x: -2, y: 5, z: -4}", "{x: " + deep + ", y: 5, z: -4}")
    assert problem(text) == (
        f"t.md:{line_of(text, 'inputs:')}: the view block is nested more than 32 levels deep (a "
        "tensor input needs at most a few)"
    )
    items = text.replace("inputs: {x: " + deep + ", y: 5, z: -4}", "g:\n  " + "- " * 40 + "1")
    assert problem(items) == (
        f"t.md:{line_of(items, '- - -')}: the view block is nested more than 32 levels deep (a "
        "tensor input needs at most a few)"
    )
    # 32 levels ({ and 31 [) are read, and refused by the engine's rank limit, not the nesting
    ok = "[" * 31 + "1" + "]" * 31
    assert "has more than 3 dimensions (setting BPC_MAX_TENSOR_RANK)" in problem(
        text.replace(deep, ok)
    )


def test_a_link_whose_inputs_nest_past_the_json_parsers_depth_is_refused() -> None:
    deep = "%5B" * 5_000 + "1" + "%5D" * 5_000
    with pytest.raises(LinkError, match="'in' \\(inputs\\) is nested too deeply"):
        circuit_state(f"/#e=x&in=%7B%22x%22%3A{deep}%7D")
