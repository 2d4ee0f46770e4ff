"""Sweeps every gate through the scalar fast path and the tensor path and prints each place
where the two do not agree bit for bit (value, every gradient, warnings), as
tests/test_numeric_truth.py requires.

That property test draws 400 circuits a run, mostly at special values, so a last-bit
difference between two numpy or libm routines shows up only now and then (math.exp against
numpy's exp, numpy's 0-d pow against its array pow). This sweep draws single gates over
special values, moderate x and floats across the whole exponent range. Inputs must be finite, so
a gate is fed inf, -inf, NaN or -0 the way a circuit feeds it: through exp(1000), -(exp(1000)),
log(-1) or -(0) in place of its input.

    python3 scripts/paths_sweep.py                 # seed 0, 100,000 circuits; exits 1 on any
    python3 scripts/paths_sweep.py --seed 2 --count 300000
"""

from __future__ import annotations

import argparse
import collections
import random
import re
import sys
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.engine import evaluate_result  # noqa: E402
from scripts.torch_sweep import BINARY, SPECIAL, UNARY, report, wide  # noqa: E402
from tests.test_numeric_truth import bits, first, output  # noqa: E402

EXPRESSIONS = UNARY + BINARY  # the PyTorch sweep's gates and constant exponents


# A sub-expression and the input value that make it give inf, -inf, NaN or -0.
PRODUCERS = [("exp({})", 1000.0), ("-(exp({}))", 1000.0), ("log({})", -1.0), ("-({})", 0.0)]


def draw(rng: random.Random) -> float:
    pick = rng.random()
    if pick < 0.25:
        return rng.choice(SPECIAL)
    if pick < 0.6:
        return rng.uniform(-50.0, 50.0)
    return wide(rng)


def disagreements(expression: str, inputs: dict[str, float], output_grad: float) -> list[str]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        scalar = evaluate_result(expression, inputs, output_grad=output_grad)
        tensor = evaluate_result(
            expression, {k: [v] for k, v in inputs.items()}, output_grad=output_grad
        )
    found = []
    if bits(output(scalar)) != bits(first(output(tensor))):
        found.append(f"value {output(scalar)!r} vs {first(output(tensor))!r}")
    mine, theirs = scalar.gradients(), tensor.gradients()
    for name in inputs:
        if bits(mine[name]) != bits(first(theirs[name])):
            found.append(f"d{name} {mine[name]!r} vs {first(theirs[name])!r}")
    if scalar.warnings != tensor.warnings:
        found.append("warnings differ")
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--count", type=int, default=100_000)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    found: dict[str, list[str]] = collections.defaultdict(list)
    for _ in range(args.count):
        expression = rng.choice(EXPRESSIONS)
        names = [n for n in ("x", "y", "z") if f"{n})" in expression or f"{n}," in expression]
        inputs = {name: draw(rng) for name in names}
        for name in names:
            if rng.random() < 0.15:
                producer, inputs[name] = rng.choice(PRODUCERS)
                expression = re.sub(rf"\b{name}\b", producer.format(name), expression)
        output_grad = rng.choice([1.0, -1.0, draw(rng)])
        for problem in disagreements(expression, inputs, output_grad):
            found[expression].append(f"{inputs} upstream {output_grad!r}: {problem}")
    print(f"{args.count:,} circuits")
    return report(found)


if __name__ == "__main__":
    sys.exit(main())
