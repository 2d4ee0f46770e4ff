"""Each lesson limit at N (accepted) and N + 1 (refused, naming its BPC_ setting and the line), and the same limits read from the environment at start-up."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.core.config import get_settings
from app.core.limits import Limits
from app.lessons import LessonError, LessonsError, load_folder, parse_lesson

FRONT = "---\nformat: 1\nid: {id}\ntitle: T\n---\n"
VIEW = "```view\npage: circuit\nexpression: x * y\ninputs: {x: 4, y: -3}\n```\n"
QUESTION = "```question\nid: q{n}\nkind: number\nprompt: p\nanswer: -3\nexplain: e\n```\n"


def lesson_text(steps: int = 1, questions: int = 0, lesson_id: str = "a") -> str:
    parts = [FRONT.format(id=lesson_id)]
    for step in range(steps):
        parts.append(f"\n## Step {step + 1}\n\n")
        if step == 0:
            parts.append(VIEW)
            parts.extend("\n" + QUESTION.format(n=n) for n in range(questions))
    return "".join(parts)


def line_of(text: str, needle: str) -> int:
    return text[: text.index(needle)].count("\n") + 1


def test_lesson_max_steps() -> None:
    limits = Limits().but(lesson_max_steps=3)
    assert len(parse_lesson("t.md", lesson_text(steps=3).encode(), "teacher", limits).steps) == 3
    text = lesson_text(steps=4)
    with pytest.raises(LessonError) as info:
        parse_lesson("t.md", text.encode(), "teacher", limits)
    assert str(info.value) == (
        f"t.md:{line_of(text, '## Step 4')}: the lesson has 4 steps, over the limit of 3 "
        "(setting BPC_LESSON_MAX_STEPS)"
    )


def test_lesson_max_questions() -> None:
    limits = Limits().but(lesson_max_questions=2)
    lesson = parse_lesson("t.md", lesson_text(questions=2).encode(), "teacher", limits)
    assert [q.id for q in lesson.steps[0].questions] == ["q0", "q1"]
    text = lesson_text(questions=3)
    with pytest.raises(LessonError) as info:
        parse_lesson("t.md", text.encode(), "teacher", limits)
    assert str(info.value) == (
        f"t.md:{line_of(text, '```question' + chr(10) + 'id: q2')}: the step has more than 2 "
        "questions, over the limit (setting BPC_LESSON_MAX_QUESTIONS)"
    )


def test_lesson_max_bytes(tmp_path: Path) -> None:
    text = lesson_text()
    size = len(text.encode())
    limits = Limits().but(lesson_max_bytes=size)
    (tmp_path / "a.md").write_text(text, encoding="utf-8")
    lessons, problems = load_folder(tmp_path, "teacher", limits)
    assert problems == [] and len(lessons) == 1
    # one byte more: refused from its size alone, before it is read
    (tmp_path / "a.md").write_text(text + "\n", encoding="utf-8")
    lessons, problems = load_folder(tmp_path, "teacher", limits)
    assert lessons == []
    assert problems == [
        f"{tmp_path / 'a.md'}:1: the file is {size + 1} bytes, over the limit of {size} "
        "(setting BPC_LESSON_MAX_BYTES)"
    ]
    with pytest.raises(LessonError, match="BPC_LESSON_MAX_BYTES"):
        parse_lesson("t.md", (text + "\n").encode(), "teacher", limits)


def test_lessons_max_count(tmp_path: Path) -> None:
    limits = Limits().but(lessons_max_count=2)
    for name in ("a", "b"):
        (tmp_path / f"{name}.md").write_text(lesson_text(lesson_id=name), encoding="utf-8")
    (tmp_path / "notes.txt").write_text("not a lesson")  # only *.md files count
    lessons, problems = load_folder(tmp_path, "teacher", limits)
    assert problems == [] and [lesson.id for lesson in lessons] == ["a", "b"]
    (tmp_path / "c.md").write_text(lesson_text(lesson_id="c"), encoding="utf-8")
    lessons, problems = load_folder(tmp_path, "teacher", limits)
    assert lessons == []
    assert problems == [
        f"{tmp_path}: 3 lesson files, over the limit of 2 (setting BPC_LESSONS_MAX_COUNT)"
    ]


@pytest.mark.parametrize(
    ("variable", "value", "text", "words"),
    [
        ("BPC_LESSON_MAX_STEPS", "1", lesson_text(steps=2), "BPC_LESSON_MAX_STEPS"),
        ("BPC_LESSON_MAX_QUESTIONS", "1", lesson_text(questions=2), "BPC_LESSON_MAX_QUESTIONS"),
        ("BPC_LESSON_MAX_BYTES", "100", lesson_text(), "BPC_LESSON_MAX_BYTES"),
    ],
)
def test_the_limits_come_from_the_environment_at_start_up(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    variable: str,
    value: str,
    text: str,
    words: str,
) -> None:
    import app.main  # noqa: F401  (the module-level app is built with the default settings)
    from app.main import create_app

    (tmp_path / "a.md").write_text(text, encoding="utf-8")
    monkeypatch.setenv("BPC_LESSONS_DIR", str(tmp_path))
    get_settings.cache_clear()
    try:
        create_app()  # the folder is good under the default limits
        monkeypatch.setenv(variable, value)
        get_settings.cache_clear()
        with pytest.raises(LessonsError) as info:
            create_app()
        [problem] = info.value.problems
        assert problem.startswith(f"{tmp_path / 'a.md'}:") and words in problem
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()
