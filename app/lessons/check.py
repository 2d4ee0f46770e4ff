"""Checks a student's answer against a lesson's key: a number within its tolerance, a choice by index, or a task by the circuit's new output."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from app.core.errors import Problem, ProblemError
from app.lessons import links
from app.lessons.links import LinkError
from app.lessons.model import Lesson, Question, View


class NotFoundError(ProblemError):
    """A step or question the lesson does not have (404)."""

    status = 404


@dataclass(frozen=True, slots=True)
class Verdict:
    correct: bool
    explain: str
    expected: float | int | None = None  # the key, shown with the rule after a wrong answer
    output: float | None = None  # task: the circuit's output at the student's inputs
    start: float | None = None  # task: its output at the step's own inputs

    def as_dict(self) -> dict[str, Any]:
        answer: dict[str, Any] = {
            "correct": self.correct,
            "explain": self.explain,
            "expected": self.expected,
        }
        if self.start is not None:
            answer["output"] = self.output
            answer["start"] = self.start
        return answer


def find_question(lesson: Lesson, step: int, question_id: str) -> tuple[Question, View]:
    """The question and its step's view; a 404 naming the step or question otherwise."""
    if not 0 <= step < len(lesson.steps):
        raise NotFoundError(
            Problem(
                f"lesson {lesson.id!r} has steps 0 to {len(lesson.steps) - 1} (0-based), "
                f"not {step}",
                type="not_found",
                loc=("body", "step"),
            )
        )
    found = lesson.steps[step]
    for question in found.questions:
        if question.id == question_id:
            return question, found.view
    ids = ", ".join(q.id for q in found.questions) or "none"
    raise NotFoundError(
        Problem(
            f"step {step} of lesson {lesson.id!r} has no question {question_id!r:.70} (its "
            f"questions: {ids})",
            type="not_found",
            loc=("body", "question"),
        )
    )


def within(got: float, answer: float, tolerance: float) -> bool:
    """|got - answer| <= tolerance * max(1, |answer|): relative for big answers, absolute near 0."""
    return abs(got - answer) <= tolerance * max(1.0, abs(answer))


def _bad_answer(msg: str) -> ProblemError:
    return ProblemError(Problem(msg, loc=("body", "answer")))


def check_answer(question: Question, answer: Any) -> Verdict:
    """A number or choice question's verdict on `answer`."""
    if question.kind == "task":
        raise _bad_answer("a task is checked from the live view: send its link, answer null")
    if isinstance(answer, bool) or not isinstance(answer, int | float):
        raise _bad_answer(f"a {question.kind} question's answer is a number, got {answer!r:.40}")
    try:
        finite = math.isfinite(answer)
    except OverflowError:  # an integer with hundreds of digits
        finite = False
    if not finite:
        raise _bad_answer("the answer must be a finite number")
    assert question.answer is not None
    if question.kind == "number":
        correct = within(float(answer), float(question.answer), question.tolerance)
    else:
        if answer != int(answer) or not 0 <= answer < len(question.options):
            raise _bad_answer(
                f"a choice's answer is the option's index, 0 to {len(question.options) - 1}, "
                f"got {answer}"
            )
        correct = int(answer) == question.answer
    return Verdict(correct, question.explain, None if correct else question.answer)


@dataclass(frozen=True, slots=True)
class Task:
    """A task's check before its circuit runs: what to evaluate, and from where it started."""

    question: Question
    expression: str
    inputs: dict[str, Any]
    start: float
    changed: bool  # the student changed the expression: the task asks for the inputs only


def task_of(question: Question, view: View, link: Any) -> Task:
    """Reads the live view's link of a task check (422 naming the link when it is not one)."""
    if question.kind != "task":
        raise ProblemError(Problem("only a task is checked from a link", loc=("body", "link")))
    if not isinstance(link, str) or not link.strip():
        raise ProblemError(
            Problem("a task is checked from the live view's link: send it", loc=("body", "link"))
        )
    try:
        state = links.circuit_state(link)
    except LinkError as exc:
        raise ProblemError(Problem(f"the link: {exc}", loc=("body", "link"))) from None
    assert view.expression is not None and isinstance(view.output, int | float)
    changed = state.expression.strip() != view.expression.strip()
    return Task(question, state.expression, state.inputs, float(view.output), changed)


def judge_task(task: Task, output: Any) -> Verdict:
    """The verdict once the student's circuit has run (`output`: its output value, or None
    when the expression was changed and nothing ran)."""
    question = task.question
    if task.changed:
        explain = (
            "The expression was changed: this task keeps the circuit and asks you to change "
            f"its inputs. {question.explain}"
        )
        return Verdict(False, explain, None, None, task.start)
    if isinstance(output, list):
        raise ProblemError(
            Problem("the circuit's output is a tensor; a task needs one number", loc=("body",))
        )
    value = float(output) if isinstance(output, int | float) else math.nan
    change = value - task.start if question.goal == "increase" else task.start - value
    if math.isfinite(change):
        correct = change >= question.by if question.by is not None else change > 0
    else:
        correct = False
    return Verdict(
        correct, question.explain, None, value if math.isfinite(value) else None, task.start
    )
