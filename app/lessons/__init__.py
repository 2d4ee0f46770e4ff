"""Lessons (issue 14): guided, checkable walks through the course notes, read from Markdown files (docs/lessons.md)."""

from __future__ import annotations

from app.lessons.check import (
    NotFoundError,
    Verdict,
    check_answer,
    find_question,
    judge_task,
    task_of,
)
from app.lessons.model import (
    FORMAT_VERSION,
    Lesson,
    LessonError,
    LessonsError,
    Question,
    Step,
    View,
)
from app.lessons.parser import parse_lesson
from app.lessons.registry import (
    BUILTIN_DIR,
    all_lessons,
    builtin_lessons,
    check_folder,
    configured_lessons,
    find_lesson,
    load_folder,
)

__all__ = [
    "BUILTIN_DIR",
    "FORMAT_VERSION",
    "Lesson",
    "LessonError",
    "LessonsError",
    "NotFoundError",
    "Question",
    "Step",
    "Verdict",
    "View",
    "all_lessons",
    "builtin_lessons",
    "check_answer",
    "check_folder",
    "configured_lessons",
    "find_lesson",
    "find_question",
    "judge_task",
    "load_folder",
    "parse_lesson",
    "task_of",
]
