"""Reads one lesson file (format 1: front matter, `## ` steps, fenced view and question blocks) into a Lesson, or names its line and what is wrong."""

from __future__ import annotations

import difflib
import re
from pathlib import Path

from app.core.limits import Limits
from app.lessons.blocks import check_task_view, read_question, read_view
from app.lessons.markdown import MarkdownError, render
from app.lessons.model import (
    FORMAT_VERSION,
    Lesson,
    LessonError,
    Origin,
    Question,
    Step,
    View,
)
from app.lessons.yamlblock import Block

LESSON_ID = re.compile(r"[a-z0-9][a-z0-9-]{0,63}")
FRONT_KEYS = ("format", "id", "title", "summary", "order", "source")
DEFAULT_ORDER = 1000  # a lesson without `order` comes after the built-ins (10, 20, ...)
BLOCKS = ("view", "question")
_MAX_TITLE = 200

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
            view = read_view(block, limits)
            continue
        if len(questions) == limits.lesson_max_questions:
            raise LessonError(
                name,
                first - 1,
                f"the step has more than {limits.lesson_max_questions} questions, over the "
                "limit (setting BPC_LESSON_MAX_QUESTIONS)",
            )
        question = read_question(block)
        if any(q.id == question.id for q in questions):
            raise block.error("id", f"question id {question.id!r} is used twice in this step")
        questions.append(question)
    view = view or before
    if view is None:
        raise LessonError(name, number, "the first step needs a ```view block (what it shows)")
    for question in questions:
        if question.kind == "task":
            check_task_view(name, question, view)
    return Step(title, _html(name, prose), view, tuple(questions), number)
