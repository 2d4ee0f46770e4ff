"""Prints the run or test command from README.md, so CI runs exactly what the README says."""

from __future__ import annotations

import re
import sys
from pathlib import Path

README = Path(__file__).resolve().parent.parent / "README.md"
MARKERS = {"run": "<!-- run-command -->", "test": "<!-- test-command -->"}


def command(which: str) -> str:
    text = README.read_text(encoding="utf-8")
    marker = MARKERS[which]
    after = text.split(marker, 1)[1]
    match = re.search(r"```(?:sh|bash)?\n(.*?)\n```", after, re.S)
    if match is None:
        raise SystemExit(f"README.md has no code block after {marker}")
    return match.group(1).strip()


if __name__ == "__main__":
    print(command(sys.argv[1] if len(sys.argv) > 1 else "test"))
