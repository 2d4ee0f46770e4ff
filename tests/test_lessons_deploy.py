"""A teacher's lessons folder on the Docker image's start-up path: the real server with BPC_LESSONS_DIR serves the guide's example lesson, and a bad folder stops it with file:line: reason."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path
from urllib.parse import quote_plus

import httpx
import pytest

from app.core.limits import Limits
from app.core.presets_file import CONTAINER_UID
from app.lessons import load_folder
from tests.live_app import ROOT, free_port, running_app, uvicorn_command

GUIDE = ROOT / "docs" / "deploy.md"


def guide_example() -> str:
    """docs/deploy.md "Your own lessons": the complete example lesson file."""
    section = GUIDE.read_text(encoding="utf-8").split("### Your own lessons", 1)[1]
    return section.split("````markdown\n", 1)[1].split("````", 1)[0]


def lessons_folder(text: str, name: str = "week3.md") -> Path:
    """A folder the image's user (uid 10001) can read, as the guide tells teachers to make it."""
    folder = Path(tempfile.mkdtemp(prefix="bpc-lessons-"))
    folder.chmod(0o755)
    path = folder / name
    path.write_text(text, encoding="utf-8")
    path.chmod(0o644)
    return folder


def test_the_guides_example_lesson_is_served_by_the_real_server() -> None:
    folder = lessons_folder(guide_example())
    try:
        with (
            running_app({"BPC_LESSONS_DIR": str(folder)}) as base,
            httpx.Client(base_url=base, timeout=30) as client,
        ):
            rows = client.get("/api/v1/lessons").json()["lessons"]
            mine = [row for row in rows if row["id"] == "class-week3"]
            assert mine == [
                {
                    "id": "class-week3",
                    "title": "Week 3: the multiply gate swaps",
                    "summary": "Practice from Tuesday's lecture, with our own numbers.",
                    "order": 100,
                    "source": "Backprop, Intuitions",
                    "steps": 2,
                    "origin": "teacher",
                }
            ]
            assert rows[-1]["id"] == "class-week3"  # order 100: after the built-ins' 10 to 60
            assert client.get("/lessons/class-week3").status_code == 200
            check = "/api/v1/lessons/class-week3/check"
            # f = x y at x = 3, y = -2: df/dx = y = -2
            right = client.post(check, json={"step": 0, "question": "dfdx", "answer": -2})
            assert right.json()["correct"] is True
            wrong = client.post(check, json={"step": 0, "question": "dfdx", "answer": 3}).json()
            assert (wrong["correct"], wrong["expected"]) == (False, -2)
            # the task: y from -2 to -1 takes f from -6 to -3, up by 3 (at least 1 asked)
            inputs = quote_plus('{"x":3,"y":-1}')
            link = f"/#e=x+*+y&in={inputs}"
            task = client.post(check, json={"step": 1, "question": "up", "link": link}).json()
            assert (task["correct"], task["start"], task["output"]) == (True, -6.0, -3.0)
    finally:
        shutil.rmtree(folder)


def _start_fails(env: dict[str, str]) -> str:
    """Starts the server as the image does; it must exit 1 at once. Its stderr."""
    done = subprocess.run(
        uvicorn_command(free_port()),
        cwd=ROOT,
        env={**os.environ, "BPC_ACCESS_LOG": "false", **env},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1, done.stderr[-2000:]
    return done.stderr


def test_a_bad_lesson_stops_the_real_server_with_the_guides_message() -> None:
    """The guide shows the line a typo'd answer key gives: the server prints exactly that."""
    text = guide_example().replace("answer: -2", "answr: -2", 1)
    folder = lessons_folder(text)
    try:
        stderr = _start_fails({"BPC_LESSONS_DIR": str(folder)})
    finally:
        shutil.rmtree(folder)
    [quoted] = re.findall(
        r"backprop-circuits: BPC_LESSONS_DIR: /lessons/week3\.md:.*", GUIDE.read_text()
    )
    assert quoted.replace("/lessons/", f"{folder}/") in stderr.splitlines()


def test_an_empty_folder_stops_the_real_server(tmp_path: Path) -> None:
    """What Docker mounts when the host folder does not exist: an empty one, named."""
    stderr = _start_fails({"BPC_LESSONS_DIR": str(tmp_path)})
    assert f"BPC_LESSONS_DIR: {tmp_path}: no lesson files (*.md) in the lessons folder" in stderr


def _problems_as_container_user(folder: Path) -> list[str]:
    """load_folder's problems as uid 10001 (the image's user). Tests run as root, which reads
    any file whatever its mode, so a forked child drops to that uid first."""
    if os.geteuid() != 0:
        return load_folder(folder, "teacher", Limits())[1]
    read, write = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover (the child reports through the pipe)
        os.close(read)
        try:
            os.setgid(CONTAINER_UID)
            os.setuid(CONTAINER_UID)
            message = "\n".join(load_folder(folder, "teacher", Limits())[1])
        except BaseException as exc:  # noqa: BLE001 - reported, not raised
            message = f"unexpected {exc!r}"
        os.write(write, message.encode())
        os._exit(0)
    os.close(write)
    with os.fdopen(read, "rb") as pipe:
        message = pipe.read().decode()
    os.waitpid(child, 0)
    return message.splitlines()


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork to read as another user")
def test_a_file_the_server_cannot_read_says_how_to_fix_it() -> None:
    folder = lessons_folder(guide_example())
    try:
        path = folder / "week3.md"
        path.chmod(0o600)
        [problem] = _problems_as_container_user(folder)
        assert problem.startswith(f"{path}:1: cannot read it: permission denied for uid ")
        assert f"the container's is uid {CONTAINER_UID}" in problem and "chmod 644" in problem
        path.chmod(0o644)  # the fix the message gives
        assert _problems_as_container_user(folder) == []
    finally:
        shutil.rmtree(folder)
