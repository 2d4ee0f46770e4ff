"""Writes every surviving mutant of the last mutmut run, with the line it changed, as Markdown.

Usage (after scripts/mutation.sh, from the project root, with mutmut installed):
    python3 scripts/mutation_survivors.py [GLOB ...] > docs/mutation-survivors.md

One process reads mutants/ for all of them (`mutmut show NAME` starts mutmut once per name,
about a second each). Survivors are grouped by function, in module order; each line is the
mutant's number, then its changed source line(s) before -> after.
"""

from __future__ import annotations

import fnmatch
import json
import os
import sys
from collections import defaultdict
from pathlib import Path

from mutmut.mutation.diff_apply import get_diff_for_mutant

ROOT = Path(__file__).resolve().parent.parent


def survivors(globs: list[str]) -> dict[Path, list[str]]:
    found: dict[Path, list[str]] = {}
    for meta in sorted((ROOT / "mutants" / "app").rglob("*.py.meta")):
        names = [
            name
            for name, code in json.loads(meta.read_text())["exit_code_by_key"].items()
            if code == 0 and (not globs or any(fnmatch.fnmatch(name, g) for g in globs))
        ]
        if names:
            found[meta.with_suffix("")] = names
    return found


def changed_lines(diff: str) -> str:
    before = [line[1:].strip() for line in diff.splitlines() if line.startswith("- ")]
    after = [line[1:].strip() for line in diff.splitlines() if line.startswith("+ ")]
    return f"`{' '.join(before)}` → `{' '.join(after)}`"


def main() -> int:
    os.chdir(ROOT)  # mutmut reads mutants/ and pyproject.toml from here
    found = survivors(sys.argv[1:])
    total = sum(len(names) for names in found.values())
    print(f"# Surviving mutants ({total})\n")
    print("Written by `scripts/mutation_survivors.py` from `mutants/` (CONTRIBUTING.md says")
    print("how each kind is judged).\n")
    for path, names in found.items():
        by_function: dict[str, list[str]] = defaultdict(list)
        for name in names:
            by_function[name.rsplit("__mutmut_", 1)[0]].append(name)
        print(f"## {path.relative_to(ROOT / 'mutants')}\n")
        for function, members in by_function.items():
            print(f"- `{function.rsplit('.', 1)[-1]}` ({len(members)}):")
            for name in sorted(members, key=lambda n: int(n.rsplit("_", 1)[-1])):
                number = name.rsplit("_", 1)[-1]
                print(f"  - {number}: {changed_lines(get_diff_for_mutant(name, path=path))}")
        print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
