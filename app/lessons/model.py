"""A loaded lesson as plain frozen values, and the error that names a lesson file's line."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

FORMAT_VERSION = 1
# A number question's answer is right when |got - answer| <= tolerance * max(1, |answer|)
# (as the presets file's `expected`): the default asks for the digits a float64 prints, so a
# lesson that accepts 0.73 for sigmoid(1) writes "tolerance: 0.01".
DEFAULT_TOLERANCE = 1e-9
MAX_TOLERANCE = 0.5

Origin = Literal["builtin", "teacher"]
Kind = Literal["number", "choice", "task"]


class LessonError(ValueError):
    """One problem in a lesson file, as `file:line: reason` (line 1-based, in the file)."""

    def __init__(self, path: Path | str, line: int, reason: str) -> None:
        super().__init__(f"{path}:{line}: {reason}")
        self.path = str(path)
        self.line = line
        self.reason = reason


class LessonsError(ValueError):
    """Lessons that cannot be used: every problem found, one `file:line: reason` a line."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


@dataclass(frozen=True, slots=True)
class View:
    """A live view: the page and its link (what its address bar holds after the host). A
    circuit view also keeps its expression, inputs and output, for the tasks that check it."""

    page: Literal["circuit", "landscape"]
    link: str
    line: int
    expression: str | None = None
    inputs: dict[str, Any] | None = None
    output: Any = None  # the circuit's output at the view's inputs (a number or nested lists)


@dataclass(frozen=True, slots=True)
class Question:
    id: str
    kind: Kind
    prompt: str
    explain: str  # the rule that gives the right answer: shown after a check, right or wrong
    line: int
    answer: float | int | None = None  # number: the value; choice: the option's index
    tolerance: float = DEFAULT_TOLERANCE
    options: tuple[str, ...] = ()
    goal: Literal["increase", "decrease"] | None = None
    of: Literal["output"] | None = None
    by: float | None = None  # task: the least change that counts (None: any change)


@dataclass(frozen=True, slots=True)
class Step:
    title: str
    html: str
    view: View  # its own, or the one before it
    questions: tuple[Question, ...]
    line: int


@dataclass(frozen=True, slots=True)
class Lesson:
    id: str
    title: str
    summary: str
    order: int
    source: str | None
    intro_html: str
    steps: tuple[Step, ...]
    origin: Origin
    path: str
    id_line: int = 1

    def listing(self) -> dict[str, Any]:
        """The lesson's row in GET /api/v1/lessons."""
        return {
            "id": self.id,
            "title": self.title,
            "summary": self.summary,
            "order": self.order,
            "source": self.source,
            "steps": len(self.steps),
            "origin": self.origin,
        }

    def public(self) -> dict[str, Any]:
        """The lesson as the player reads it: no answer key and no `explain` (a check sends it)."""
        return {
            "id": self.id,
            "title": self.title,
            "summary": self.summary,
            "source": self.source,
            "origin": self.origin,
            "intro_html": self.intro_html,
            "steps": [
                {
                    "title": step.title,
                    "html": step.html,
                    "view": {"page": step.view.page, "link": step.view.link},
                    "questions": [_public_question(q) for q in step.questions],
                }
                for step in self.steps
            ],
        }


def _public_question(question: Question) -> dict[str, Any]:
    shown: dict[str, Any] = {"id": question.id, "kind": question.kind, "prompt": question.prompt}
    if question.kind == "choice":
        shown["options"] = list(question.options)
    if question.kind == "task":
        shown["goal"] = question.goal
    return shown
