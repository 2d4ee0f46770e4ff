"""docs/lessons.md: its complete example loads, and the errors it quotes are the ones its three mistakes give."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from app.core.limits import Limits
from app.lessons import LessonError, parse_lesson

DOC = (Path(__file__).resolve().parent.parent / "docs" / "lessons.md").read_text(encoding="utf-8")
EXAMPLE = DOC.split("````markdown\n", 1)[1].split("````", 1)[0]
NAME = "lessons/add-and-multiply.md"


def test_the_complete_example_loads() -> None:
    lesson = parse_lesson(NAME, EXAMPLE.encode(), "teacher", Limits())
    assert (lesson.id, lesson.order, len(lesson.steps)) == ("add-and-multiply", 110, 3)
    # the second step keeps the first one's view; the third has a landscape view
    assert lesson.steps[1].view == lesson.steps[0].view
    assert lesson.steps[2].view.link == "/landscape?view=1d&dataset=cs231n-1d&loss=svm"
    # (x + y) * z at -2, 5, -4
    assert lesson.steps[0].view.output == -12.0
    assert [q.kind for q in lesson.steps[0].questions + lesson.steps[1].questions] == [
        "number",
        "choice",
        "task",
    ]


@pytest.mark.parametrize(
    ("mistake", "quoted"),
    [
        (("answer: 3", "answr: 3"), 0),
        (("expression: (x + y) * z", "expression: (x + y) ^ z"), 1),
        (('explain: "Move each input', "explain: Move each input"), 2),
    ],
)
def test_the_quoted_errors_are_what_the_mistakes_give(
    mistake: tuple[str, str], quoted: int
) -> None:
    lines = re.findall(rf"^{re.escape(NAME)}:\d+: .*$", DOC, re.M)
    assert len(lines) == 3
    text = EXAMPLE.replace(*mistake, 1)
    if mistake[0].startswith("explain"):
        text = text.replace('(gradient 3)."', "(gradient 3).")
    with pytest.raises(LessonError) as info:
        parse_lesson(NAME, text.encode(), "teacher", Limits())
    assert str(info.value) == lines[quoted]
