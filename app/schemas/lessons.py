"""Request and response schemas of the lessons API: the list, one lesson as the player reads it, and a check."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt

FiniteNumber = Annotated[float, Field(strict=True, allow_inf_nan=False)]
Origin = Literal["builtin", "teacher"]
_ORIGIN = "Shipped with the app, or from the teacher's folder (BPC_LESSONS_DIR)."


class LessonSummary(BaseModel):
    """One lesson's row in the list."""

    id: str = Field(description="The lesson's id, as in /lessons/{id}.")
    title: str = Field(description="The lesson's title.")
    summary: str = Field(description="One sentence for the list (may be empty).")
    order: int = Field(description="Its place in the list (built-ins: 10, 20, ...; ties by id).")
    source: str | None = Field(description="The course note it follows, if any.")
    steps: int = Field(description="How many steps it has.")
    origin: Origin = Field(description=_ORIGIN)


class LessonsResponse(BaseModel):
    """Every lesson the server has."""

    lessons: list[LessonSummary] = Field(description="Every lesson, sorted by (order, id).")


class LessonView(BaseModel):
    """A step's live view: a state of one of the pages."""

    page: Literal["circuit", "landscape"] = Field(description="Which page shows it.")
    link: str = Field(
        description="The page's address with the step's state, as its address bar holds it "
        "(such as /#e=...&in=...); the player shows it in an iframe with embed=1."
    )


class LessonQuestion(BaseModel):
    """A question as the student sees it: no answer key, no explanation."""

    id: str = Field(description="Unique within its step; a check names it.")
    kind: Literal["number", "choice", "task"] = Field(
        description="number: type a value; choice: pick an option; task: change the live "
        "view, then check it."
    )
    prompt: str = Field(description="The question, as plain text.")
    options: list[str] | None = Field(None, description="choice: the options, by 0-based index.")
    goal: Literal["increase", "decrease"] | None = Field(
        None, description="task: which way the circuit's output must move."
    )


class LessonStep(BaseModel):
    """One step: its prose, its live view and its questions."""

    title: str = Field(description="The step's heading.")
    html: str = Field(
        description="The step's prose as HTML, rendered by the server from the file's Markdown: "
        'every character escaped, maths kept as TeX text in <span class="math"> and '
        '<div class="math">.'
    )
    view: LessonView = Field(description="The live view (its own, or the previous step's).")
    questions: list[LessonQuestion] = Field(
        description="Answer keys and explanations are not sent: a check answers them."
    )


class LessonResponse(BaseModel):
    """A lesson as the player reads it."""

    id: str = Field(description="The lesson's id.")
    title: str = Field(description="The lesson's title.")
    summary: str = Field(description="One sentence (may be empty).")
    source: str | None = Field(description="The course note it follows, if any.")
    origin: Origin = Field(description=_ORIGIN)
    intro_html: str = Field(description="The text before step 1, as HTML (may be empty).")
    steps: list[LessonStep] = Field(description="The steps, in order.")


class CheckRequest(BaseModel):
    """One answer to check."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"step": 0, "question": "dfdx", "answer": -3}]},
    )

    step: StrictInt = Field(ge=0, le=10_000, description="The step, 0-based.")
    question: str = Field(max_length=64, description="The question's id within the step.")
    answer: StrictInt | FiniteNumber | None = Field(
        None,
        description="number: the value; choice: the option's 0-based index; task: null.",
    )
    link: str | None = Field(
        None,
        max_length=100_000,
        description="task: the live view's link (/#e=...&in=...) whose output is checked; "
        "the other kinds ignore it.",
    )


class CheckResponse(BaseModel):
    """Right or wrong, and the rule that gives the right answer."""

    correct: bool = Field(description="Whether the answer is right.")
    explain: str = Field(description="The rule that gives the right answer, right or wrong.")
    expected: int | float | None = Field(
        description="After a wrong number or choice answer: the right one (null otherwise)."
    )
    output: float | None = Field(
        None,
        description="task: the circuit's output at the link's inputs (null when the expression "
        "was changed, so nothing ran).",
    )
    start: float | None = Field(None, description="task: its output at the step's own inputs.")
