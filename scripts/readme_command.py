"""Prints the run or test command from README.md, so CI runs exactly what the README says."""

from __future__ import annotations

import re
import sys
from pathlib import Path

README = Path(__file__).resolve().parent.parent / "README.md"
MARKERS = {"run": "<!-- run-command -->", "test": "<!-- test-command -->"}
# The command is the fenced block right after its marker (blank lines between are allowed).
_BLOCK = re.compile(r"\s*```(?:sh|bash)?\n(.*?)\n```", re.S)


def command(which: str, readme: Path = README) -> str:
    """The one-line command in the code block that follows the README's marker for `which`."""
    text = readme.read_text(encoding="utf-8")
    marker = MARKERS[which]
    if text.count(marker) != 1:
        raise SystemExit(f"{readme.name} must hold {marker} exactly once")
    match = _BLOCK.match(text, text.index(marker) + len(marker))
    if match is None:
        raise SystemExit(f"{readme.name} has no code block right after {marker}")
    return match.group(1).strip()


if __name__ == "__main__":
    which = sys.argv[1] if len(sys.argv) > 1 else "test"
    if which not in MARKERS:
        raise SystemExit(f"usage: readme_command.py [{' | '.join(MARKERS)}]")
    print(command(which))
