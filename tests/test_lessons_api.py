"""The lessons API: the list, one lesson without its answer keys, and checks of every kind, right, wrong and refused."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote_plus

import pytest
from fastapi.testclient import TestClient

from app.api.deps import current_settings
from app.core.config import Settings
from app.main import app

# A teacher's lesson, every kind of question; the keys are worked by hand in the comments.
TEACHER = """---
format: 1
id: class-neuron
title: Our own circuit
summary: From class.
order: 15
---

## The first circuit

```view
page: circuit
expression: (x + y) * z
inputs: {x: -2, y: 5, z: -4}
```

```question
id: dfdz
kind: number
prompt: df/dz?
answer: 3
tolerance: 0.01
explain: The multiply gate swaps, so df/dz = x + y = 3.
```

```question
id: near-zero
kind: number
prompt: A value near zero?
answer: 0
tolerance: 0.01
explain: The tolerance is absolute below 1.
```

```question
id: rule
kind: choice
prompt: What does the add gate do?
options: [swaps, distributes, routes]
answer: 1
explain: The add gate distributes its gradient to every input.
```

```question
id: up
kind: task
goal: increase
by: 4
prompt: Raise f by at least 4.
explain: Lower x or y (gradient -4) or raise z (gradient 3).
```
"""

START_LINK = "/#e=%28x+%2B+y%29+*+z&in=%7B%22x%22%3A-2%2C%22y%22%3A5%2C%22z%22%3A-4%7D"


def circuit_link(expression: str, inputs: dict[str, Any]) -> str:
    return f"/#e={quote_plus(expression)}&in={quote_plus(json.dumps(inputs))}"


@pytest.fixture(scope="module")
def api() -> Iterator[TestClient]:
    with TestClient(app) as client:
        yield client


@pytest.fixture
def teacher(tmp_path: Path) -> Iterator[Settings]:
    """The app's Settings with a lessons folder holding TEACHER, for this test's requests."""
    (tmp_path / "class.md").write_text(TEACHER, encoding="utf-8")
    settings = Settings(lessons_dir=str(tmp_path))
    app.dependency_overrides[current_settings] = lambda: settings
    yield settings
    app.dependency_overrides.pop(current_settings, None)


def check(api: TestClient, body: dict[str, Any], lesson: str = "class-neuron") -> Any:
    return api.post(f"/api/v1/lessons/{lesson}/check", json=body)


def test_the_list_holds_the_built_in_lessons_and_the_teachers_in_order(
    api: TestClient, teacher: Settings
) -> None:
    rows = api.get("/api/v1/lessons").json()["lessons"]
    assert [(r["order"], r["id"]) for r in rows] == sorted((r["order"], r["id"]) for r in rows)
    mine = [r for r in rows if r["origin"] == "teacher"]
    assert mine == [
        {
            "id": "class-neuron",
            "title": "Our own circuit",
            "summary": "From class.",
            "order": 15,
            "source": None,
            "steps": 1,
            "origin": "teacher",
        }
    ]
    assert {r["origin"] for r in rows} == {"builtin", "teacher"}


def test_without_a_folder_only_the_built_in_lessons_are_listed(api: TestClient) -> None:
    rows = api.get("/api/v1/lessons").json()["lessons"]
    assert rows and all(r["origin"] == "builtin" for r in rows)
    assert "class-neuron" not in {r["id"] for r in rows}


def test_a_lesson_is_sent_without_its_answer_keys(api: TestClient, teacher: Settings) -> None:
    answer = api.get("/api/v1/lessons/class-neuron").json()
    [step] = answer["steps"]
    assert step["view"] == {"page": "circuit", "link": START_LINK}
    assert [(q["id"], q["kind"], q["options"], q["goal"]) for q in step["questions"]] == [
        ("dfdz", "number", None, None),
        ("near-zero", "number", None, None),
        ("rule", "choice", ["swaps", "distributes", "routes"], None),
        ("up", "task", None, "increase"),
    ]
    text = json.dumps(answer)
    for secret in ("swaps, so", "absolute below", "distributes its", "Lower x", "tolerance"):
        assert secret not in text


@pytest.mark.parametrize(
    ("question", "answer", "correct"),
    [
        # |got - 3| <= 0.01 * max(1, 3) = 0.03
        ("dfdz", 3, True),
        ("dfdz", 3.029, True),
        ("dfdz", 2.971, True),
        ("dfdz", 3.031, False),
        ("dfdz", -3, False),
        # near 0 the tolerance is absolute: |got| <= 0.01 * max(1, 0) = 0.01
        ("near-zero", 0.0099, True),
        ("near-zero", -0.0101, False),
        ("rule", 1, True),
        ("rule", 0, False),
    ],
)
def test_number_and_choice_answers(
    api: TestClient, teacher: Settings, question: str, answer: float, correct: bool
) -> None:
    got = check(api, {"step": 0, "question": question, "answer": answer}).json()
    assert got["correct"] is correct
    expected = {"dfdz": 3, "near-zero": 0, "rule": 1}[question]
    # the right answer is shown only after a wrong one, with the rule either way
    assert got["expected"] == (None if correct else expected)
    assert got["explain"].startswith("The ")


@pytest.mark.parametrize(
    ("inputs", "correct", "output"),
    [
        # (x + y) * z: x = -3 gives (2)(-4) = -8, up by 4 from -12: enough (by: 4)
        ({"x": -3, "y": 5, "z": -4}, True, -8.0),
        # z = -2 gives (3)(-2) = -6, up by 6
        ({"x": -2, "y": 5, "z": -2}, True, -6.0),
        # x = -2.5 gives (2.5)(-4) = -10: up by only 2
        ({"x": -2.5, "y": 5, "z": -4}, False, -10.0),
        # x = -1 gives (4)(-4) = -16: down
        ({"x": -1, "y": 5, "z": -4}, False, -16.0),
    ],
)
def test_a_task_runs_the_live_views_circuit(
    api: TestClient, teacher: Settings, inputs: dict[str, float], correct: bool, output: float
) -> None:
    link = circuit_link("(x + y) * z", inputs)
    got = check(api, {"step": 0, "question": "up", "answer": None, "link": link}).json()
    assert (got["correct"], got["output"], got["start"], got["expected"]) == (
        correct,
        output,
        -12.0,
        None,
    )


def test_a_task_with_a_changed_expression_says_so(api: TestClient, teacher: Settings) -> None:
    link = circuit_link("(x + y) * z + 100", {"x": -2, "y": 5, "z": -4})
    got = check(api, {"step": 0, "question": "up", "link": link}).json()
    assert got["correct"] is False and got["output"] is None and got["start"] == -12.0
    assert got["explain"].startswith("The expression was changed")


def test_a_tasks_circuit_is_refused_as_the_evaluate_route_refuses_it(
    api: TestClient, tmp_path: Path
) -> None:
    """A 1,000-element x makes the circuit's predicted work far more than the scalar one's:
    with BPC_MAX_WORK between the two, the check answers the evaluate route's own 413."""
    (tmp_path / "class.md").write_text(TEACHER, encoding="utf-8")
    settings = Settings(lessons_dir=str(tmp_path), max_work=100_000)
    app.dependency_overrides[current_settings] = lambda: settings
    try:
        inputs = {"x": [1.0] * 1000, "y": 5, "z": -4}
        body = {"expression": "(x + y) * z", "inputs": inputs, "parts": ["output"]}
        direct = api.post("/api/v1/circuits/evaluate", json=body)
        link = circuit_link("(x + y) * z", inputs)
        got = check(api, {"step": 0, "question": "up", "link": link})
    finally:
        app.dependency_overrides.pop(current_settings, None)
    assert direct.status_code == got.status_code == 413
    [problem] = got.json()["detail"]
    [evaluate_problem] = direct.json()["detail"]
    assert problem["msg"] == f"the link's circuit: {evaluate_problem['msg']}"
    assert "(setting BPC_MAX_WORK)" in problem["msg"]
    assert problem["loc"][:2] == ["body", "link"]


@pytest.mark.parametrize(
    ("body", "status", "loc", "words"),
    [
        ({"step": 1, "question": "dfdz", "answer": 3}, 404, ["body", "step"], "steps 0 to 0"),
        ({"step": 0, "question": "dfdy", "answer": 3}, 404, ["body", "question"], "no question"),
        ({"step": 0, "question": "dfdz"}, 422, ["body", "answer"], "answer is a number"),
        ({"step": 0, "question": "rule", "answer": 3}, 422, ["body", "answer"], "0 to 2"),
        ({"step": 0, "question": "rule", "answer": 0.5}, 422, ["body", "answer"], "0 to 2"),
        ({"step": 0, "question": "up", "answer": 1}, 422, ["body", "answer"], "must be null"),
        ({"step": 0, "question": "up"}, 422, ["body", "link"], "send it"),
        ({"step": 0, "question": "up", "link": "/landscape"}, 422, ["body", "link"], "landscape"),
        (
            {"step": 0, "question": "up", "link": "/#e=%28x+%2B+y%29+*+z&in=%7B%22x%22%3A1%7D"},
            422,
            ["body", "link", "inputs"],
            "the link's circuit: missing values for inputs y, z",
        ),
        (
            {"step": 0, "question": "up", "link": "/#e=x&in=" + "%5B" * 5000 + "%5D" * 5000},
            422,
            ["body", "link"],
            "nested too deeply",
        ),
        ({"step": 0, "question": "dfdz", "answer": 9 * 10**400}, 422, ["body", "answer"], ""),
        ({"step": 0, "question": "rule", "answer": 9 * 10**400}, 422, ["body", "answer"], ""),
        ({"step": 0, "question": "rule", "answer": True}, 422, ["body", "answer"], ""),
        ({"step": "0", "question": "rule", "answer": 1}, 422, ["body", "step"], ""),
        ({"step": 0, "question": "rule", "answer": 1, "extra": 1}, 422, ["body", "extra"], ""),
    ],
)
def test_bad_checks_are_named_in_the_error_envelope(
    api: TestClient, teacher: Settings, body: dict, status: int, loc: list, words: str
) -> None:
    response = check(api, body)
    assert response.status_code == status, response.text
    answer = response.json()
    assert answer["status"] == status
    assert any(p["loc"][: len(loc)] == loc and words in p["msg"] for p in answer["detail"])


def test_an_unknown_lesson_is_a_404_naming_it(api: TestClient) -> None:
    for response in (
        api.get("/api/v1/lessons/no-such-lesson"),
        check(api, {"step": 0, "question": "q", "answer": 1}, lesson="no-such-lesson"),
    ):
        assert response.status_code == 404
        [problem] = response.json()["detail"]
        assert problem["loc"] == ["path", "lesson_id"] and "'no-such-lesson'" in problem["msg"]


def test_the_lesson_pages_are_served_and_an_unknown_id_is_a_404(
    api: TestClient, teacher: Settings
) -> None:
    for path in ("/lessons", "/lessons/intuitions-simple", "/lessons/class-neuron?step=1"):
        response = api.get(path)
        assert response.status_code == 200, path
        assert response.headers["content-type"].startswith("text/html")
    missing = api.get("/lessons/no-such-lesson")
    assert missing.status_code == 404 and missing.json()["detail"][0]["type"] == "not_found"
