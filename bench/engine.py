"""Times forward+backward of random add/mul/max/relu circuits in our engine against micrograd.

Run: python3 bench/engine.py   (needs the bench extra: pip install -e '.[bench]')
Both engines get the same circuits, built in the same run. Ours records the full backward
trace (every step's upstream, local gradients, contributions and running sums); micrograd
records nothing. micrograd has no max gate, so max(a, b) is written (a - b).relu() + b there.
"""

from __future__ import annotations

import random
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from micrograd.engine import Value  # noqa: E402

from app.engine import ParseLimits, evaluate, parse, run  # noqa: E402

OPS = ("add", "mul", "max", "relu")
N_INPUTS = 10
BIG = ParseLimits(max_expression_chars=10**8, max_gates=10**6, max_statements=10**6)


def random_circuit(gates: int, seed: int) -> list[tuple[str, int, int]]:
    """Gate i takes the previous gate (so every gate feeds the output) and one earlier node.

    A multiply's other operand is an input (|x| < 1), so values stay finite over 10,000 gates;
    add and max take any earlier node, so gates fork as well as inputs.
    """
    rng = random.Random(seed)
    spec = []
    for i in range(gates):
        op = rng.choice(OPS)
        previous = N_INPUTS + i - 1 if i else rng.randrange(N_INPUTS)
        other = rng.randrange(N_INPUTS) if op == "mul" else rng.randrange(N_INPUTS + i)
        spec.append((op, previous, other))
    return spec


def as_program(spec: list[tuple[str, int, int]]) -> str:
    def name(k: int) -> str:
        return f"x{k}" if k < N_INPUTS else f"g{k - N_INPUTS}"

    lines = []
    for i, (op, a, b) in enumerate(spec):
        expression = {
            "add": f"{name(a)} + {name(b)}",
            "mul": f"{name(a)} * {name(b)}",
            "max": f"max({name(a)}, {name(b)})",
            "relu": f"relu({name(a)})",
        }[op]
        lines.append(f"g{i} = {expression}")
    return "\n".join(lines)


def micrograd_forward_backward(spec: list[tuple[str, int, int]], inputs: list[float]) -> float:
    values: list[Value] = [Value(x) for x in inputs]
    for op, a, b in spec:
        va, vb = values[a], values[b]
        if op == "add":
            out = va + vb
        elif op == "mul":
            out = va * vb
        elif op == "max":
            out = (va - vb).relu() + vb
        else:
            out = va.relu()
        values.append(out)
    values[-1].backward()
    return values[0].grad


def best_of(repeats: int, fn: Callable[[], object]) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def deepest_chain(fn: Callable[[int], object], depths: list[int]) -> int:
    deepest = 0
    for depth in depths:
        try:
            fn(depth)
        except RecursionError:
            break
        deepest = depth
    return deepest


def micrograd_chain(depth: int) -> None:
    x = Value(0.5)
    out = x
    for _ in range(depth):
        out = out * 1.0001
    out.backward()


def our_chain(depth: int) -> None:
    program = "\n".join(["a0 = x"] + [f"a{i} = a{i - 1} * 1.0001" for i in range(1, depth + 1)])
    run(parse(program, BIG), {"x": 0.5})


def main() -> None:
    rng = random.Random(0)
    inputs = [rng.uniform(-1, 1) for _ in range(N_INPUTS)]
    named = {f"x{i}": v for i, v in enumerate(inputs)}
    print(
        f"{'gates':>6} {'ours fwd+bwd':>13} {'micrograd':>10} {'ratio':>6} {'parse':>8} {'+report':>8}"
    )
    for gates in (1_000, 10_000):
        spec = random_circuit(gates, seed=gates)
        program = as_program(spec)
        circuit = parse(program, BIG)
        trace = run(circuit, named)
        ours_grad = trace.grads[circuit.input_node("x0").id]
        theirs_grad = micrograd_forward_backward(spec, inputs)
        assert ours_grad == theirs_grad or abs(ours_grad - theirs_grad) <= 1e-9 * max(
            1, abs(ours_grad)
        ), (ours_grad, theirs_grad)
        repeats = 7 if gates <= 1_000 else 3
        ours = best_of(repeats, lambda c=circuit: run(c, named))
        theirs = best_of(repeats, lambda s=spec: micrograd_forward_backward(s, inputs))
        parsing = best_of(repeats, lambda p=program: parse(p, BIG))
        full = best_of(repeats, lambda p=program: evaluate(p, named, limits=BIG))
        print(
            f"{gates:>6} {ours * 1e3:>10.2f} ms {theirs * 1e3:>7.2f} ms {ours / theirs:>6.2f} "
            f"{parsing * 1e3:>5.1f} ms {full * 1e3:>5.1f} ms"
        )

    # End to end: one HTTP request (JSON in, parse, passes, report, JSON out) for 1,000 gates.
    from fastapi.testclient import TestClient

    from app.main import app

    spec = random_circuit(1_000, seed=1_000)
    payload = {"expression": as_program(spec), "inputs": named}
    with TestClient(app) as client:
        client.post("/api/v1/circuits/evaluate", json=payload)
        latencies = []
        for _ in range(15):
            start = time.perf_counter()
            response = client.post("/api/v1/circuits/evaluate", json=payload)
            latencies.append(time.perf_counter() - start)
            assert response.status_code == 200, response.text[:300]
    print(
        f"evaluate request, 1,000 gates: median {statistics.median(latencies) * 1e3:.1f} ms, "
        f"best {min(latencies) * 1e3:.1f} ms, response {len(response.content) / 1e6:.2f} MB"
    )

    depths = [100, 500, 900, 1_000, 2_000, 10_000, 100_000]
    print(
        f"deepest multiply chain: micrograd {deepest_chain(micrograd_chain, depths):,}, "
        f"ours {deepest_chain(our_chain, depths):,} (of {depths[-1]:,} tried; "
        f"recursion limit {sys.getrecursionlimit()})"
    )


if __name__ == "__main__":
    main()
