"""GET /api/v1/lessons, GET /api/v1/lessons/{id} and POST /api/v1/lessons/{id}/check: the lessons and their answer checks."""

from __future__ import annotations

from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Path
from pydantic import ValidationError

from app.api.deps import LimitsDep, SettingsDep
from app.api.routes.circuits import evaluate_circuit
from app.core.config import Settings
from app.core.errors import Problem, ProblemError
from app.lessons import (
    Lesson,
    NotFoundError,
    check_answer,
    configured_lessons,
    find_lesson,
    find_question,
    judge_task,
    task_of,
)
from app.schemas.circuits import EvaluateRequest
from app.schemas.lessons import CheckRequest, CheckResponse, LessonResponse, LessonsResponse

router = APIRouter(prefix="/api/v1", tags=["lessons"])


def _not_found(description: str) -> dict[str, Any]:
    """A 404 in the error envelope, documented (app/api/error_docs.py adds the others)."""
    schema = {"$ref": "#/components/schemas/ErrorResponse"}
    return {"description": description, "content": {"application/json": {"schema": schema}}}


LessonId = Annotated[
    str, Path(max_length=64, description="The lesson's id.", examples=["intuitions-simple"])
]


def _lesson(settings: Settings, lesson_id: str) -> Lesson:
    lesson = find_lesson(configured_lessons(settings), lesson_id)
    if lesson is None:
        raise NotFoundError(
            Problem(
                f"no lesson {lesson_id!r:.70} (GET /api/v1/lessons lists them)",
                type="not_found",
                loc=("path", "lesson_id"),
            )
        )
    return lesson


@router.get(
    "/lessons",
    operation_id="listLessons",
    response_model=LessonsResponse,
    summary="Every lesson",
)
async def list_lessons(settings: SettingsDep) -> dict[str, Any]:
    """The built-in lessons and the teacher's (BPC_LESSONS_DIR), sorted by (order, id)."""
    return {"lessons": [lesson.listing() for lesson in configured_lessons(settings)]}


@router.get(
    "/lessons/{lesson_id}",
    operation_id="getLesson",
    response_model=LessonResponse,
    summary="One lesson",
    responses={404: _not_found("No lesson has this id.")},
)
async def get_lesson(lesson_id: LessonId, settings: SettingsDep) -> dict[str, Any]:
    """A lesson as the player shows it: each step's prose as escaped HTML, its live view's link
    and its questions, without the answer keys (POST .../check answers them)."""
    return _lesson(settings, lesson_id).public()


@router.post(
    "/lessons/{lesson_id}/check",
    operation_id="checkLessonAnswer",
    response_model=CheckResponse,
    summary="Check an answer",
    responses={404: _not_found("No such lesson, step or question.")},
)
async def check_lesson_answer(
    lesson_id: LessonId,
    request: CheckRequest,
    settings: SettingsDep,
    limits: LimitsDep,
) -> dict[str, Any]:
    """Checks one answer against the lesson's key and says which rule gives the right one. A
    number is right within its tolerance (|got - answer| <= tolerance * max(1, |answer|)), a
    choice by its index; a task runs the circuit of the live view's link, as POST
    /api/v1/circuits/evaluate would (the same limits), and compares its output with the
    step's own."""
    lesson = _lesson(settings, lesson_id)
    question, view = find_question(lesson, request.step, request.question)
    if question.kind != "task":
        return check_answer(question, request.answer).as_dict()
    if request.answer is not None:
        raise ProblemError(
            Problem(
                "a task is checked from the live view's link: answer must be null",
                loc=("body", "answer"),
            )
        )
    task = task_of(question, view, request.link)
    if task.changed:
        return judge_task(task, None).as_dict()
    try:
        body = EvaluateRequest.model_validate(
            {"expression": task.expression, "inputs": task.inputs, "parts": ["output"]}
        )
        # the evaluate route itself: its lanes, its limits and its refusals (413, 429, 503)
        answer = await evaluate_circuit(body, limits, settings)
    except ValidationError as exc:
        raise ProblemError(
            Problem(f"the link's circuit: {exc.errors()[0]['msg']}", loc=("body", "link"))
        ) from None
    except ProblemError as exc:
        # about the link the student sent, not a body field of this request
        for problem in exc.problems:
            problem.loc = ("body", "link", *problem.loc[1:])
            problem.msg = f"the link's circuit: {problem.msg}"
        raise
    return judge_task(task, orjson.loads(answer.body)["output"]["value"]).as_dict()
