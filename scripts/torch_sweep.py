"""Sweeps every gate against PyTorch over grids and random floats, and prints each disagreement
that tests/test_torch_differential.py's replay() reports (the same rules and allowances).

The property test draws 300 circuits a run, so a rare disagreement shows up only once in many
runs of the suite (scripts/repeat_tests.sh found three that way). This sweep finds such a class
in seconds: single gates over (1) a grid of special floats and upstream gradients, (2) random
floats with exponents spread from subnormal to overflow, and (3) moderate x in [-50, 50].
Inputs include infinities and NaN: the property test's inputs are finite, but inside a circuit a
gate is fed whatever its arguments give (exp(1000) is inf, log(-1) is NaN, -(0) is -0), and two
classes (the ends of x ** ±0.5) hid there until the repeat loops found them.

    python3 scripts/torch_sweep.py              # all three, seed 0; exits 1 on a disagreement
    python3 scripts/torch_sweep.py --seed 3 --random 300000

Needs PyTorch (the test extra installs it).
"""

from __future__ import annotations

import argparse
import collections
import itertools
import math
import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.test_torch_differential import SPECIAL, replay  # noqa: E402

UNARY = [
    "exp(x)", "log(x)", "sqrt(x)", "abs(x)", "relu(x)", "sigmoid(x)", "tanh(x)", "-(x)",
    "(x) ** 0", "(x) ** 2", "(x) ** 0.5", "(x) ** 3", "(x) ** -1",
    # every other constant exponent the property test can write: a leaf or its negation
    "(x) ** (1)", "(x) ** (1e-320)", "(x) ** (-(0))", "(x) ** (-(0.5))", "(x) ** (-(2))",
    "(x) ** (-(1e-320))",
]  # fmt: skip
BINARY = [
    "(x) + (y)", "(x) - (y)", "(x) * (y)", "(x) / (y)", "(x) ** (y)",
    "max(x, y)", "min(x, y)", "max(x, y, z)", "min(x, y, z)",
]  # fmt: skip
# Powers of two at the edges of the exponent range, where flushes and overflows begin.
EDGES = [
    2.0**512, -(2.0**512), 2.0**-512, 2.0**-537, 2.0**-1022, -(2.0**-1022), 2.0**-1023,
    2.0**1023, 1e154, 1e-154, 1e-160, 3.0, -0.5, 0.1, 1e-5, 1e5, 1e-308, 4.0, -4.0,
]  # fmt: skip
UPSTREAMS = [
    1.0, -1.0, 4.0, 0.25, 1e-300, 1e-310, 5e-324, 1e300, 2.0**-600, 2.0**600,
    math.inf, -math.inf, 0.0, -0.0, 1e-323,
]  # fmt: skip

# What a gate may be fed inside a circuit although no input is ever one of them.
NONFINITE = [math.inf, -math.inf, math.nan]

Found = dict[str, list[str]]


def grid(found: Found) -> int:
    values = sorted(set(SPECIAL + EDGES), key=lambda v: (math.copysign(1, v), abs(v))) + NONFINITE
    cases = 0
    for expression in UNARY:
        for x, upstream in itertools.product(values, UPSTREAMS):
            cases += 1
            found[expression] += replay(expression, {"x": x, "y": 0.0, "z": 0.0}, upstream)
    for expression in BINARY:
        for x, y, upstream in itertools.product(values, values, UPSTREAMS[:8]):
            cases += 1
            found[expression] += replay(expression, {"x": x, "y": y, "z": x}, upstream)
    return cases


def wide(rng: random.Random) -> float:
    """A float of either sign with its exponent uniform from below the subnormals to overflow
    (which gives the largest float)."""
    mantissa = 1.0 + rng.random() if rng.random() < 0.5 else 1.0
    try:
        value = math.ldexp(mantissa, rng.randint(-1080, 1024))
    except OverflowError:
        value = sys.float_info.max
    return -value if rng.random() < 0.5 else value


def spread(rng: random.Random) -> float:
    """A special value, a non-finite one, a small simple one, or a wide one."""
    pick = rng.random()
    if pick < 0.05:
        return rng.choice(NONFINITE)
    if pick < 0.3:
        return rng.choice(SPECIAL)
    if pick < 0.4:
        return rng.choice([0.0, -0.0, 1.0, -1.0, 2.0, 0.5, 3.0])
    return wide(rng)


def randomly(found: Found, rng: random.Random, count: int) -> int:
    for _ in range(count):
        expression = rng.choice(UNARY + BINARY)
        values = {name: spread(rng) for name in ("x", "y", "z")}
        if rng.random() < 0.2:
            values["y"] = values["x"]  # ties for max and min
        special = [math.inf, -math.inf, 0.0, -0.0, 1.0, -1.0, 5e-324, 1e-323]
        upstream = rng.choice(special) if rng.random() < 0.2 else spread(rng)
        found[expression] += replay(expression, values, upstream)
    return count


def moderate(found: Found, rng: random.Random, per_gate: int) -> int:
    for expression in UNARY + BINARY:
        for _ in range(per_gate):
            values = {name: rng.uniform(-50.0, 50.0) for name in ("x", "y", "z")}
            upstream = rng.choice([1.0, -1.0, rng.uniform(-10.0, 10.0)])
            found[expression] += replay(expression, values, upstream)
    return per_gate * len(UNARY + BINARY)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--random", type=int, default=150_000, help="random single gates")
    parser.add_argument("--moderate", type=int, default=5_000, help="moderate x per gate")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    found: Found = collections.defaultdict(list)
    counts = {
        "grid": grid(found),
        "random": randomly(found, rng, args.random),
        "moderate": moderate(found, rng, args.moderate),
    }
    print(", ".join(f"{name} {n:,} circuits" for name, n in counts.items()))
    return report(found)


def report(found: Found) -> int:
    """Prints up to five disagreements per expression and the total; the exit code: 1 if any."""
    for expression, problems in found.items():
        if problems:
            print(f"{expression}: {len(problems)} disagreements, e.g.")
            for problem in problems[:5]:
                print(f"    {problem}")
    total = sum(len(p) for p in found.values())
    print(f"{total} disagreements")
    return 1 if total else 0


if __name__ == "__main__":
    sys.exit(main())
