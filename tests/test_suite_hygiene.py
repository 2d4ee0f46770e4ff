"""What the suite leaves behind: the session's class store folder goes when its process exits."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# Imports the suite's conftest as pytest would, prints the store it chose, and, with "fork",
# first lets a forked child exit (as a mutmut worker does) and reports whether the folder
# survived that.
PROGRAM = """
import os, sys
sys.path.insert(0, {root!r})
import tests.conftest
folder = os.path.dirname(os.environ["BPC_STORE"].removeprefix("sqlite:///"))
print(folder)
if sys.argv[1] == "fork":
    child = os.fork()
    if child == 0:
        sys.exit(0)  # runs the atexit handlers, as a normal exit does
    os.waitpid(child, 0)
    print(os.path.isdir(folder))
"""


def run(mode: str, **env: str) -> list[str]:
    environment = {k: v for k, v in os.environ.items() if k != "BPC_STORE"} | env
    out = subprocess.run(
        [sys.executable, "-c", PROGRAM.format(root=str(ROOT)), mode],
        env=environment,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return out.stdout.split()


def test_the_session_store_folder_is_removed_when_its_process_exits() -> None:
    folder, *_ = run("plain")
    assert Path(folder).name.startswith("bpc-test-store-")
    assert not Path(folder).exists()


def test_a_forked_child_leaves_the_folder_to_its_maker() -> None:
    folder, alive_after_child = run("fork")
    assert alive_after_child == "True"
    assert not Path(folder).exists()  # gone once the maker itself exited


def test_a_store_given_by_the_environment_is_left_alone(tmp_path: Path) -> None:
    given = f"sqlite:///{tmp_path}/mine.db"
    (folder, *_) = run("plain", BPC_STORE=given)
    assert folder == str(tmp_path)
    assert tmp_path.is_dir()
