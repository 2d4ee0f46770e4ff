#!/bin/sh
# Mutation testing of app/engine and app/landscape with mutmut ([tool.mutmut] in pyproject.toml).
#
# Usage: scripts/mutation.sh [MUTANT_GLOB ...]
#   scripts/mutation.sh                              every mutant of both packages
#   scripts/mutation.sh 'app.landscape.kinks.*'      one module (mutmut's mutant-name globs)
# JOBS=1 scripts/mutation.sh ...                     fewer worker processes (default 2)
#
# mutmut copies the project into ./mutants (gitignored) and, for each mutant, runs only the
# fast unit tests that call the mutated function. Results accumulate in ./mutants across runs;
# delete it to start over. Prints killed / total per package, then every surviving mutant's
# name (see one with `mutmut show NAME`).
set -eu
cd "$(dirname "$0")/.."

if ! python3 -c 'import mutmut' 2>/dev/null; then
    echo "mutmut is missing: python3 -m pip install -e '.[mutation]'" >&2
    exit 2
fi

# Every engine and landscape call in the test process itself: mutmut learns which tests reach a
# function by tracing calls in its own process, so work sent to a job process (a landscape
# slice, an optimizer path, a long circuit) would reach no test, and its mutants would be run
# against the few tests that call them directly. The selection passes with these (1,840 tests).
# Optimizer paths and comparisons always go to a job process (their memory is not modelled),
# so their jobs are also called directly by tests (tests/test_landscape_optimizers.py).
export BPC_LANDSCAPE_IN_PROCESS_MAX_S=1000000
export BPC_LANDSCAPE_IN_PROCESS_MAX_BYTES=1000000000000
export BPC_EVALUATE_IN_PROCESS_MAX_SIZE=1000000000
export BPC_EVALUATE_IN_PROCESS_MAX_WORK=1000000000000000
# Each test module's client starts the app, and with it two job processes (an import each):
# most mutants' tests never send them a job, so they start with the first one instead.
export BPC_JOB_PROCESSES_AT_START=false

# Bytecode caches on: a job process (each test client starts two) imports mutants/app, whose
# modules hold every mutant's text (13 MB): 4.1 s compiling from source each time, against
# 0.5 s for the same imports from the caches (measured on this machine, where the environment
# sets PYTHONDONTWRITEBYTECODE=1).
unset PYTHONDONTWRITEBYTECODE

start=$(date +%s)
# mutmut exits non-zero when mutants survive; the summary below is the result we want.
nice -n 10 python3 -m mutmut run --max-children "${JOBS:-2}" "$@" || true
echo "mutmut run took $(( $(date +%s) - start )) s"

python3 -m mutmut results --all true | python3 -c '
import collections, sys

counts = collections.defaultdict(collections.Counter)
survivors = []
for line in sys.stdin:
    name, _, status = line.strip().rpartition(": ")
    if not name.startswith("app."):
        continue
    package = ".".join(name.split(".")[:2])
    counts[package][status] += 1
    if status == "survived":
        survivors.append(name)
for package, c in sorted(counts.items()):
    tested = sum(c.values()) - c["not checked"] - c["check was interrupted by user"]
    killed = c["killed"] + c["timeout"]
    rate = f"{100 * killed / tested:.1f}%" if tested else "n/a"
    rest = ", ".join(f"{k} {v}" for k, v in sorted(c.items()) if k not in ("killed", "timeout") and v)
    print(f"{package}: killed {killed} / {tested} tested ({rate}); {rest}")
print(f"{len(survivors)} survivors:")
print("\n".join(survivors))
'
