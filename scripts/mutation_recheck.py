"""Re-runs mutmut's survivors one at a time on a fresh import of the mutated source.

mutmut 3 switches mutants at call time inside processes forked after `app` was imported, so a
mutant in code that runs at import time (the gate table's factories such as `_explain_route`,
`_reduce`, `_at_zero`, called inside `register(...)`) is never active and always "survives".
This script writes each chosen survivor into a scratch copy of the project with `mutmut apply`
and runs the [tool.mutmut] test selection there with pytest -x, in a new process.

Usage (after scripts/mutation.sh): python3 scripts/mutation_recheck.py [MUTANT_GLOB ...]
RECHECK_TESTS="tests/a.py tests/b.py" runs those test files (or node ids) instead of the whole
selection: a quick check that new tests kill chosen survivors, from a clone whose `mutants` is a
symlink to the run's. Prints each mutant's verdict and the counts; writes them to
mutants/recheck.txt, or to the file RECHECK_OUT names.

    python3 scripts/mutation_recheck.py --verify [MUTANT_GLOB ...]

checks docs/mutation-judgements.tsv instead: each mutant judged "killed" is applied and the test
named beside it is run alone; the test must pass on the original code and fail on the mutant.
Exits 1 if any judged kill does not hold.
"""

from __future__ import annotations

import contextlib
import fnmatch
import json
import os
import shutil
import subprocess
import sys
import tempfile
import tomllib
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def survivors(globs: list[str]) -> list[str]:
    names = []
    for meta in sorted((ROOT / "mutants" / "app").rglob("*.py.meta")):
        for name, code in json.loads(meta.read_text())["exit_code_by_key"].items():
            if code == 0 and (not globs or any(fnmatch.fnmatch(name, g) for g in globs)):
                names.append(name)
    return names


def make_scratch(scratch: Path) -> Path:
    for part in ("app", "tests", "static", "templates", "pyproject.toml"):
        source = ROOT / part
        if source.is_dir():
            shutil.copytree(source, scratch / part)
        else:
            shutil.copy2(source, scratch / part)
    (scratch / "mutants").symlink_to(ROOT / "mutants")  # read by `mutmut apply` only
    return scratch


@contextlib.contextmanager
def mutant_applied(name: str, scratch: Path) -> Iterator[None]:
    module = name.split(".x")[0].replace(".", "/") + ".py"
    if not (ROOT / module).is_file():  # a package's own mutants: app.engine.x_evaluate
        module = module.removesuffix(".py") + "/__init__.py"
    subprocess.run(
        [sys.executable, "-m", "mutmut", "apply", name],
        cwd=scratch,
        check=True,
        capture_output=True,
    )
    try:
        yield
    finally:
        shutil.copy2(ROOT / module, scratch / module)  # back to the original


def verify(globs: list[str]) -> int:
    sys.path.insert(0, str(ROOT / "scripts"))
    from mutation_survivors import judgements

    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["mutmut"]
    kills = {
        name: test
        for name, (verdict, test) in judgements().items()
        if verdict == "killed" and (not globs or any(fnmatch.fnmatch(name, g) for g in globs))
    }
    failures = []
    held = 0
    with tempfile.TemporaryDirectory(prefix="mutation-verify-") as tmp:
        scratch = make_scratch(Path(tmp))

        def passes(test: str) -> bool:
            command = [
                "nice",
                "-n",
                "10",
                sys.executable,
                "-m",
                "pytest",
                *config["pytest_add_cli_args"],
                test,
            ]
            return subprocess.run(command, cwd=scratch, capture_output=True).returncode == 0

        clean = {test: passes(test) for test in sorted(set(kills.values()))}
        for test, ok in clean.items():
            if not ok:
                failures.append(f"fails without any mutant: {test}")
        for name, test in kills.items():
            if not clean[test]:
                continue
            with mutant_applied(name, scratch):
                if passes(test):
                    failures.append(f"not killed: {name} by {test}")
                else:
                    held += 1
            print(f"checked: {name}", flush=True)
    print("\n".join(failures))
    print(f"verify: {held} of {len(kills)} judged kills hold")
    return 1 if failures else 0


def main() -> int:
    if sys.argv[1:2] == ["--verify"]:
        return verify(sys.argv[2:])
    names = survivors(sys.argv[1:])
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["mutmut"]
    selection = os.environ.get("RECHECK_TESTS", "").split()
    selection = selection or config["pytest_add_cli_args_test_selection"]
    pytest_args = [*config["pytest_add_cli_args"], *selection]
    verdicts: dict[str, str] = {}
    with tempfile.TemporaryDirectory(prefix="mutation-recheck-") as tmp:
        scratch = make_scratch(Path(tmp))

        def tests_pass() -> bool:
            command = ["nice", "-n", "10", sys.executable, "-m", "pytest", *pytest_args]
            run = subprocess.run(command, cwd=scratch, capture_output=True)
            return run.returncode == 0

        if not tests_pass():  # a kill must mean the mutant, not a test that fails anyway
            print("the tests fail without any mutant; fix that first", file=sys.stderr)
            return 1
        for name in names:
            with mutant_applied(name, scratch):
                verdicts[name] = "survived" if tests_pass() else "killed"
            print(f"{verdicts[name]}: {name}", flush=True)
    killed = sum(v == "killed" for v in verdicts.values())
    summary = f"recheck: killed {killed} / {len(verdicts)} survivors on a fresh import"
    print(summary)
    lines = [f"{v}: {k}" for k, v in verdicts.items()]
    out = Path(os.environ.get("RECHECK_OUT") or ROOT / "mutants" / "recheck.txt")
    out.write_text("\n".join([*lines, summary]) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
