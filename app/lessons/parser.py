"""Reads one lesson file (format 1: front matter, `## ` steps, fenced view and question blocks) into a Lesson, or names its line and what is wrong."""

from __future__ import annotations

import difflib
import re
from pathlib import Path
from typing import Any

import yaml

from app.core.errors import ProblemError
from app.core.limits import Limits
from app.engine import evaluate_job
from app.lessons import links
from app.lessons.links import LinkError
from app.lessons.markdown import MarkdownError, render
from app.lessons.model import (
    DEFAULT_TOLERANCE,
    FORMAT_VERSION,
    MAX_TOLERANCE,
    Lesson,
    LessonError,
    Origin,
    Question,
    Step,
    View,
)
from app.lessons.yamlblock import Block

LESSON_ID = re.compile(r"[a-z0-9][a-z0-9-]{0,63}")
QUESTION_ID = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")
FRONT_KEYS = ("format", "id", "title", "summary", "order", "source")
DEFAULT_ORDER = 1000  # a lesson without `order` comes after the built-ins (10, 20, ...)
COMMON_KEYS = ("id", "kind", "prompt", "explain")
KIND_KEYS = {
    "number": ("answer", "tolerance"),
    "choice": ("options", "answer"),
    "task": ("goal", "of", "by"),
}
BLOCKS = ("view", "question")
_MAX_TITLE = 200
_MAX_OPTIONS = 8

Lines = list[tuple[int, str]]


def parse_lesson(path: Path | str, data: bytes, origin: Origin, limits: Limits) -> Lesson:
    """The lesson in `data` (the file's bytes), checked against `limits`; raises LessonError."""
    name = str(path)
    if len(data) > limits.lesson_max_bytes:
        raise LessonError(
            name,
            1,
            f"the file is {len(data)} bytes, over the limit of {limits.lesson_max_bytes} "
            "(setting BPC_LESSON_MAX_BYTES)",
        )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise LessonError(name, line, "the file is not UTF-8 text") from None
    lines = list(enumerate(text.removeprefix("\ufeff").splitlines(), start=1))
    front, body = _front_matter(name, lines)
    lesson_id, title, summary, order, source, id_line = _read_front(front)
    intro, step_parts = _split_steps(name, body)
    if len(step_parts) > limits.lesson_max_steps:
        raise LessonError(
            name,
            step_parts[limits.lesson_max_steps][0][0],
            f"the lesson has {len(step_parts)} steps, over the limit of {limits.lesson_max_steps} "
            "(setting BPC_LESSON_MAX_STEPS)",
        )
    if not step_parts:
        raise LessonError(name, len(lines) or 1, "the lesson has no steps ('## Step title' lines)")
    intro_prose, intro_blocks = _take_blocks(name, intro)
    if intro_blocks:
        kind, first, _ = intro_blocks[0]
        raise LessonError(
            name, first - 1, f"a {kind} block belongs in a step: put it after a '## ' heading"
        )
    steps: list[Step] = []
    view: View | None = None
    for heading, content in step_parts:
        step = _read_step(name, heading, content, view, limits)
        view = step.view
        steps.append(step)
    return Lesson(
        id=lesson_id,
        title=title,
        summary=summary,
        order=order,
        source=source,
        intro_html=_html(name, intro_prose),
        steps=tuple(steps),
        origin=origin,
        path=name,
        id_line=id_line,
    )


def _front_matter(name: str, lines: Lines) -> tuple[Block, Lines]:
    if not lines or lines[0][1].strip() != "---":
        raise LessonError(name, 1, "a lesson file starts with front matter: a '---' line")
    for at, (_, text) in enumerate(lines[1:], start=1):
        if text.strip() == "---":
            yaml_text = "\n".join(t for _, t in lines[1:at])
            return Block(name, yaml_text, 2, "front matter"), lines[at + 1 :]
    raise LessonError(name, 1, "the front matter opened by '---' is never closed by '---'")


def _read_front(front: Block) -> tuple[str, str, str, int, str | None, int]:
    front.allow(FRONT_KEYS)
    front.require("format", "id", "title")
    version = front.entries["format"].value
    if version != FORMAT_VERSION or isinstance(version, bool):
        raise front.error(
            "format", f"format {version!r:.20} is not one this version reads (format: 1)"
        )
    lesson_id = front.entries["id"].value
    if not isinstance(lesson_id, str) or not LESSON_ID.fullmatch(lesson_id):
        raise front.error(
            "id",
            "'id' must be 1-64 lowercase letters, digits or '-', starting with a letter "
            f"or digit, got {lesson_id!r:.70}",
        )
    title = front.text("title", limit=_MAX_TITLE)
    summary = front.text("summary", required=False, limit=1_000) or ""
    order = front.integer("order") if "order" in front.entries else DEFAULT_ORDER
    source = front.text("source", required=False, limit=_MAX_TITLE)
    assert title is not None
    return lesson_id, title, summary, order, source, front.line("id")


def _split_steps(name: str, body: Lines) -> tuple[Lines, list[tuple[tuple[int, str], Lines]]]:
    """The introduction's lines, and each step's heading (line, title) with its lines."""
    intro: Lines = []
    steps: list[tuple[tuple[int, str], Lines]] = []
    fence: int | None = None
    for number, text in body:
        if text.lstrip().startswith("```"):
            fence = None if fence is not None else number
        elif fence is None and text.startswith("## "):
            title = text[3:].strip()
            if not title:
                raise LessonError(name, number, "a step's '## ' heading has no title")
            if len(title) > _MAX_TITLE:
                raise LessonError(name, number, f"the step title is over {_MAX_TITLE} characters")
            steps.append(((number, title), []))
            continue
        elif fence is None and re.match(r"#(?!#)\s", text):
            raise LessonError(
                name,
                number,
                "a '# ' heading: the lesson's title is in the front matter, and each step "
                "starts with '## '",
            )
        (steps[-1][1] if steps else intro).append((number, text))
    if fence is not None:
        raise LessonError(name, fence, "a block opened with ``` is never closed")
    return intro, steps


def _take_blocks(name: str, lines: Lines) -> tuple[Lines, list[tuple[str, int, str]]]:
    """The prose (view and question blocks left out, a blank line in their place) and the
    blocks as (kind, line of the block's first YAML line, YAML text)."""
    prose: Lines = []
    blocks: list[tuple[str, int, str]] = []
    at = 0
    while at < len(lines):
        number, text = lines[at]
        stripped = text.strip()
        if not stripped.startswith("```"):
            prose.append((number, text))
            at += 1
            continue
        kind = stripped[3:].strip()
        close = next(
            (i for i in range(at + 1, len(lines)) if lines[i][1].strip() == "```"), len(lines)
        )
        if kind in BLOCKS:
            yaml_text = "\n".join(t for _, t in lines[at + 1 : close])
            blocks.append((kind, number + 1, yaml_text))
            prose.append((number, ""))
        else:
            near = difflib.get_close_matches(kind, BLOCKS, n=1, cutoff=0.6)
            if near:
                raise LessonError(name, number, f"a ```{kind} block: did you mean ```{near[0]}?")
            prose.extend(lines[at : close + 1])
        at = close + 1
    return prose, blocks


def _html(name: str, prose: Lines) -> str:
    try:
        return render(prose)
    except MarkdownError as exc:
        raise LessonError(name, exc.line, exc.reason) from None


def _read_step(
    name: str, heading: tuple[int, str], content: Lines, before: View | None, limits: Limits
) -> Step:
    number, title = heading
    prose, blocks = _take_blocks(name, content)
    view: View | None = None
    questions: list[Question] = []
    for kind, first, yaml_text in blocks:
        block = Block(name, yaml_text, first, f"{kind} block")
        if kind == "view":
            if view is not None:
                raise LessonError(
                    name,
                    first - 1,
                    f"a second view in the step (the first is at line "
                    f"{view.line}): one view per step",
                )
            view = _read_view(block, limits)
            continue
        if len(questions) == limits.lesson_max_questions:
            raise LessonError(
                name,
                first - 1,
                f"the step has more than {limits.lesson_max_questions} questions, over the "
                "limit (setting BPC_LESSON_MAX_QUESTIONS)",
            )
        question = _read_question(block)
        if any(q.id == question.id for q in questions):
            raise block.error("id", f"question id {question.id!r} is used twice in this step")
        questions.append(question)
    view = view or before
    if view is None:
        raise LessonError(name, number, "the first step needs a ```view block (what it shows)")
    for question in questions:
        if question.kind == "task":
            _check_task_view(name, question, view)
    return Step(title, _html(name, prose), view, tuple(questions), number)


def _read_view(block: Block, limits: Limits) -> View:
    page = block.text("page", required="link" not in block.entries, limit=20)
    if "link" in block.entries:
        block.allow(("page", "link"), " (a view is a link, or the page and its fields)")
        link = block.text("link", limit=100_000)
        assert link is not None
        try:
            link_page, fields = links.split_link(link)
        except LinkError as exc:
            raise block.error("link", f"view link: {exc}") from None
        # written again as the page writes it: a host or ?embed=1 copied with it is left out
        link = links.build_link(link_page, fields)
        if page is not None and page != link_page:
            raise block.error("page", f"page is {page!r} but the link is the {link_page} page's")
        page = link_page
        where = "link"
    else:
        if page not in links.PAGES:
            raise block.error("page", f"page must be circuit or landscape, got {page!r:.40}")
        fields = {}
        for key, entry in block.entries.items():
            if key == "page":
                continue
            field = links.field_named(page, key)
            if field is None:
                known = (
                    ", ".join(f.name for f in links.CIRCUIT_FIELDS)
                    if page == "circuit"
                    else (", ".join(f.name for f in links.LANDSCAPE_FIELDS))
                )
                raise block.error(
                    key,
                    f"unknown key '{key}' in the view block: the {page} page has no such "
                    f"field (page, link, or: {known})",
                )
            if field.key in fields:
                raise block.error(key, f"'{key}' names the field '{field.key}' a second time")
            if field.kind == "json" and not isinstance(entry.value, dict):
                raise block.error(key, "'inputs' must be a mapping of input name to number")
            if field.kind == "string" and isinstance(entry.value, str):
                text = entry.value
            else:
                text = links.value_text(field, entry.value)
            try:
                links.check_text(field, text)
            except LinkError as exc:
                raise block.error(key, str(exc)) from None
            fields[field.key] = text
        link = links.build_link(page, fields)
        where = "expression"
    if page == "landscape":
        return View("landscape", link, block.first_line - 1)
    try:
        state = links.circuit_state(link)
    except LinkError as exc:
        raise block.error(where if where in block.entries else None, str(exc)) from None
    try:
        answer = evaluate_job(
            {"expression": state.expression, "inputs": state.inputs, "parts": ["output"]}, limits
        )
    except ProblemError as exc:
        reason = "; ".join(p.msg for p in exc.problems)
        raise block.error(where, f"the view's circuit: {reason}") from None
    output = answer["output"]["value"]
    return View("circuit", link, block.first_line - 1, state.expression, state.inputs, output)


def _read_question(block: Block) -> Question:
    block.require("id", "kind")
    kind = block.text("kind", limit=20)
    if kind not in KIND_KEYS:
        raise block.error("kind", f"kind must be number, choice or task, got {kind!r:.40}")
    block.allow((*COMMON_KEYS, *KIND_KEYS[kind]), f" of a {kind} question")
    question_id = block.entries["id"].value
    if not isinstance(question_id, str) or not QUESTION_ID.fullmatch(question_id):
        raise block.error(
            "id",
            "a question's id must be 1-64 lowercase letters, digits, '_' or '-', got "
            f"{question_id!r:.70}",
        )
    prompt = block.text("prompt", limit=2_000)
    explain = block.text("explain", limit=4_000)
    assert prompt is not None and explain is not None
    common: dict[str, Any] = {
        "id": question_id,
        "kind": kind,
        "prompt": prompt,
        "explain": explain,
        "line": block.first_line - 1,
    }
    if kind == "number":
        block.require("answer")
        tolerance = DEFAULT_TOLERANCE
        if "tolerance" in block.entries:
            tolerance = float(block.number("tolerance"))
            if not 0 < tolerance <= MAX_TOLERANCE:
                raise block.error(
                    "tolerance",
                    f"tolerance must be above 0 and at most {MAX_TOLERANCE} (it is "
                    f"relative: |got - answer| <= tolerance * max(1, |answer|)), got {tolerance}",
                )
        return Question(**common, answer=block.number("answer"), tolerance=tolerance)
    if kind == "choice":
        block.require("options", "answer")
        options = _options(block)
        answer = block.integer("answer")
        if not 0 <= answer < len(options):
            raise block.error(
                "answer", f"answer is the option's index from 0 to {len(options) - 1}, got {answer}"
            )
        return Question(**common, answer=answer, options=options)
    block.require("goal")
    goal = block.text("goal", limit=20)
    if goal not in ("increase", "decrease"):
        raise block.error("goal", f"goal must be increase or decrease, got {goal!r:.40}")
    of = block.text("of", required=False, limit=20) or "output"
    if of != "output":
        raise block.error("of", f"of must be output (the circuit's output), got {of!r:.40}")
    by = None
    if "by" in block.entries:
        by = float(block.number("by"))
        if by <= 0:
            raise block.error("by", f"by must be above 0 (the least change that counts), got {by}")
    return Question(**common, goal=goal, of="output", by=by)  # type: ignore[arg-type]


def _options(block: Block) -> tuple[str, ...]:
    entry = block.entries["options"]
    if not isinstance(entry.node, yaml.SequenceNode):
        raise block.error("options", "options must be a list ('- text' lines)")
    options = []
    for item in entry.node.value:
        if not isinstance(item, yaml.ScalarNode) or not str(item.value).strip():
            raise block.error("options", "each option must be a non-empty text")
        options.append(str(item.value).strip())  # as written: "0.50" stays "0.50"
    if not 2 <= len(options) <= _MAX_OPTIONS:
        raise block.error(
            "options", f"a choice has 2 to {_MAX_OPTIONS} options, got {len(options)}"
        )
    return tuple(options)


def _check_task_view(name: str, question: Question, view: View) -> None:
    if view.page != "circuit":
        raise LessonError(
            name,
            question.line,
            "a task checks the circuit's output: its step's view must be the circuit page",
        )
    if isinstance(view.output, list | str):
        raise LessonError(
            name,
            question.line,
            "a task checks the circuit's output, which must be one finite "
            f"number; the view's circuit gives {view.output!r:.60}",
        )
