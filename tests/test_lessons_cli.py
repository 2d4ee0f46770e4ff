"""`backprop-circuits lessons check DIR`, run as a real command on good and bad folders, and `check` with BPC_LESSONS_DIR."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

GOOD = """---
format: 1
id: {id}
title: A lesson
---

## Multiply swaps

```view
page: circuit
expression: x * y
inputs: {{x: 4, y: -3}}
```

```question
id: dfdx
kind: number
prompt: df/dx?
answer: -3
explain: d(xy)/dx = y = -3.
```
"""


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    root = Path(__file__).resolve().parent.parent
    return subprocess.run(
        [sys.executable, "-m", "app.cli", *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=root,
        env={**os.environ, **(env or {})},
    )


def test_a_good_folder_is_ok(tmp_path: Path) -> None:
    for name in ("one", "two"):
        (tmp_path / f"{name}.md").write_text(GOOD.format(id=name), encoding="utf-8")
    done = run("lessons", "check", str(tmp_path))
    assert (done.returncode, done.stdout, done.stderr) == (0, "2 lessons OK\n", "")


def test_a_bad_folder_prints_every_problem_as_file_line_reason(tmp_path: Path) -> None:
    (tmp_path / "good.md").write_text(GOOD.format(id="good"), encoding="utf-8")
    # line 19 of the file (count GOOD's lines): "answer: -3" becomes a typo'd key
    (tmp_path / "typo.md").write_text(
        GOOD.format(id="typo").replace("answer: -3", "answr: -3"), encoding="utf-8"
    )
    # line 3: an id a built-in lesson has
    (tmp_path / "clash.md").write_text(GOOD.format(id="intuitions-simple"), encoding="utf-8")
    done = run("lessons", "check", str(tmp_path))
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr.splitlines() == [
        f"{tmp_path / 'typo.md'}:19: unknown key 'answr' in the question block of a number "
        "question (its keys: id, kind, prompt, explain, answer, tolerance)",
        f"{tmp_path / 'clash.md'}:3: lesson id 'intuitions-simple' is a built-in lesson's (ids "
        "are unique over all lessons)",
    ]


def test_a_missing_folder_is_named(tmp_path: Path) -> None:
    done = run("lessons", "check", str(tmp_path / "nowhere"))
    assert done.returncode == 1
    assert done.stderr == f"{tmp_path / 'nowhere'}: the lessons folder does not exist\n"


def test_check_and_serve_stop_at_a_bad_lessons_folder(tmp_path: Path) -> None:
    (tmp_path / "bad.md").write_text(
        GOOD.format(id="bad").replace("x * y", "x ^ y"), encoding="utf-8"
    )
    for command in (["check"], ["serve", "--port", "0"]):
        done = run(*command, env={"BPC_LESSONS_DIR": str(tmp_path)})
        assert done.returncode == 1, command
        # the view block's expression line, 11, with the parser's own reason
        assert f"backprop-circuits: BPC_LESSONS_DIR: {tmp_path / 'bad.md'}:11: the view's " in (
            done.stderr
        )
        assert "use **" in done.stderr
