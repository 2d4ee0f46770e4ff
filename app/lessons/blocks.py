"""The fenced blocks of a lesson step: a view (a page's link, or its fields) and a question with its answer key."""

from __future__ import annotations

import re
from typing import Any

import yaml

from app.core.errors import ProblemError
from app.core.limits import Limits
from app.engine import evaluate_job
from app.lessons import links
from app.lessons.links import LinkError
from app.lessons.model import DEFAULT_TOLERANCE, MAX_TOLERANCE, LessonError, Question, View
from app.lessons.yamlblock import Block

QUESTION_ID = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")
COMMON_KEYS = ("id", "kind", "prompt", "explain")
KIND_KEYS = {
    "number": ("answer", "tolerance"),
    "choice": ("options", "answer"),
    "task": ("goal", "of", "by"),
}
_MAX_OPTIONS = 8


def read_view(block: Block, limits: Limits) -> View:
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


def read_question(block: Block) -> Question:
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


def check_task_view(name: str, question: Question, view: View) -> None:
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
