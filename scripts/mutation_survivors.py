"""Writes every surviving mutant of the last mutmut run, with the line it changed and its
judgement, as Markdown.

Usage (after scripts/mutation.sh, from the project root, with mutmut installed):
    python3 scripts/mutation_survivors.py [GLOB ...] > docs/mutation-survivors.md
    python3 scripts/mutation_survivors.py --check [GLOB ...]

One process reads mutants/ for all of them (`mutmut show NAME` starts mutmut once per name,
about a second each). Survivors are grouped by function, in module order; each line is the
mutant's number, its changed source line(s) before -> after, and its judgement from
docs/mutation-judgements.tsv: killed by a test written after the run (the test's node id;
`scripts/mutation_recheck.py --verify` checks each), or equivalent (why no caller can tell).
`--check` prints the survivors that have no judgement and the judgements of mutants that are
not survivors (their function changed, or mutmut killed them since), and exits 1 if there are any.
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
JUDGEMENTS = ROOT / "docs" / "mutation-judgements.tsv"
VERDICTS = ("killed", "equivalent")


def judgements(path: Path = JUDGEMENTS) -> dict[str, tuple[str, str]]:
    """Mutant name -> (verdict, test node id or reason), from the tab-separated file."""
    found: dict[str, tuple[str, str]] = {}
    for number, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        name, verdict, detail = line.split("\t")
        if verdict not in VERDICTS or not detail.strip():
            raise SystemExit(f"{path}:{number}: want NAME<tab>killed|equivalent<tab>test or reason")
        if name in found:
            raise SystemExit(f"{path}:{number}: {name} is judged twice")
        found[name] = (verdict, detail.strip())
    return found


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


def check(globs: list[str]) -> int:
    names = {name for members in survivors(globs).values() for name in members}
    judged = judgements()
    unjudged = sorted(names - judged.keys())
    stale = sorted(
        name
        for name in judged.keys() - names
        if not globs or any(fnmatch.fnmatch(name, g) for g in globs)
    )
    for name in unjudged:
        print(f"not judged: {name}")
    for name in stale:
        print(f"judged but not a survivor: {name}")
    kinds = {
        verdict: sum(judged[n][0] == verdict for n in names & judged.keys()) for verdict in VERDICTS
    }
    print(
        f"{len(names)} survivors: {kinds['killed']} killed by later tests, "
        f"{kinds['equivalent']} equivalent, {len(unjudged)} not judged; {len(stale)} stale judgements"
    )
    return 1 if unjudged or stale else 0


def main() -> int:
    os.chdir(ROOT)  # mutmut reads mutants/ and pyproject.toml from here
    args = sys.argv[1:]
    if args[:1] == ["--check"]:
        return check(args[1:])
    found = survivors(args)
    judged = judgements()
    total = sum(len(names) for names in found.values())
    killed = sum(judged.get(n, ("",))[0] == "killed" for names in found.values() for n in names)
    equivalent = sum(
        judged.get(n, ("",))[0] == "equivalent" for names in found.values() for n in names
    )
    print(f"# Surviving mutants ({total})\n")
    print("Written by `scripts/mutation_survivors.py` from `mutants/` and")
    print('`docs/mutation-judgements.tsv` (CONTRIBUTING.md, "Mutation testing", says how each kind')
    print(f"is judged). Of these, {killed} are killed by tests written after the run, {equivalent}")
    print(f"are equivalent and {total - killed - equivalent} are not judged.\n")
    for path, names in found.items():
        by_function: dict[str, list[str]] = defaultdict(list)
        for name in names:
            by_function[name.rsplit("__mutmut_", 1)[0]].append(name)
        print(f"## {path.relative_to(ROOT / 'mutants')}\n")
        for function, members in by_function.items():
            print(f"- `{function.rsplit('.', 1)[-1]}` ({len(members)}):")
            for name in sorted(members, key=lambda n: int(n.rsplit("_", 1)[-1])):
                number = name.rsplit("_", 1)[-1]
                verdict, detail = judged.get(name, ("not judged", ""))
                if verdict == "killed":
                    verdict = f"killed by `{detail}`"
                elif verdict == "equivalent":
                    verdict = f"equivalent: {detail}"
                print(
                    f"  - {number}: {changed_lines(get_diff_for_mutant(name, path=path))}; {verdict}"
                )
        print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
