#!/usr/bin/env bash
# Runs the fast suite (all but tests/browser) N times, then the browser suite M times, in a fresh
# virtualenv, stopping at the first failure: a flaky test shows up here rather than in CI.
#
#   scripts/repeat_tests.sh [N] [M]        # defaults: N=30, M=10
#   REPEAT_TESTS_VENV=/tmp/venv scripts/repeat_tests.sh 1 1   # reuse (or create) that venv
#
# Each run's output goes to test-artifacts/repeat/<suite>-<i>.log; the last lines of a failing
# run are printed. Ends with "<passed> passed, <failed> failed" per suite and in total.
set -euo pipefail
cd "$(dirname "$0")/.."

fast_runs=${1:-30}
browser_runs=${2:-10}
logs=test-artifacts/repeat
mkdir -p "$logs"

if [ -n "${REPEAT_TESTS_VENV:-}" ]; then
  venv=$REPEAT_TESTS_VENV
else
  scratch=$(mktemp -d)
  trap 'rm -rf "$scratch"' EXIT
  venv=$scratch/venv
fi
if [ ! -x "$venv/bin/python" ]; then
  echo "creating a virtualenv in $venv"
  python3 -m venv "$venv"
fi
echo "installing .[test] into $venv"
"$venv/bin/python" -m pip install -q --disable-pip-version-check -e '.[test]'

declare -A passed=([fast]=0 [browser]=0)
declare -A failed=([fast]=0 [browser]=0)

summary() {
  for suite in fast browser; do
    echo "$suite suite: ${passed[$suite]} passed, ${failed[$suite]} failed"
  done
  echo "total: $((passed[fast] + passed[browser])) passed, $((failed[fast] + failed[browser])) failed"
}

# run <suite> <times> <pytest arguments...>
run() {
  local suite=$1 times=$2
  shift 2
  for ((i = 1; i <= times; i++)); do
    while [ -e "$logs/PAUSE" ]; do sleep 5; done
    local log="$logs/$suite-$i.log" start=$SECONDS status=0
    "$venv/bin/python" -m pytest -p no:cacheprovider -q "$@" >"$log" 2>&1 || status=$?
    if [ "$status" -eq 0 ]; then
      passed[$suite]=$((passed[$suite] + 1))
      echo "$suite run $i/$times: passed in $((SECONDS - start)) s ($(tail -n 1 "$log"))"
    else
      failed[$suite]=$((failed[$suite] + 1))
      echo "$suite run $i/$times: FAILED (pytest exit code $status), log: $log"
      tail -n 40 "$log"
      summary
      exit 1
    fi
  done
}

run fast "$fast_runs" --ignore=tests/browser
run browser "$browser_runs" tests/browser
summary
