"""The compact answer: decoded by an independent Python reader, it equals the verbose answer."""

from __future__ import annotations

import bisect
import importlib
import json
import math
import random
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient
from hypothesis import given, settings
from hypothesis import strategies as st

from app.core.errors import LimitError
from app.core.limits import Limits
from app.engine import GATES, ParseLimits, evaluate_result, parse, parse_limits
from app.engine.cache import ParseCache
from app.engine.encode import _RECIPES, VERBOSE_ROWS_KEPT_MAX_NODES, compact, dumps, encode, verbose
from app.engine.gates import Gate, no_uses, register
from app.engine.numbers import fmt
from app.presets import all_presets
from app.schemas.circuits import CompactEvaluateResponse
from tests.gate_table import unregister

# the module (app.engine re-exports its encode function under the same name)
encode_module = importlib.import_module("app.engine.encode")

# ---------------------------------------------------------------- a reader written from the spec
# (README "The compact answer"); it shares no code with app/engine/encode.py.


def _num(x: Any) -> Any:
    """A wire number to a float (or nested lists of floats)."""
    if isinstance(x, list):
        return [_num(v) for v in x]
    if isinstance(x, str):
        return {"Infinity": math.inf, "-Infinity": -math.inf, "NaN": math.nan}[x]
    return float(x)


def _wire(x: Any) -> Any:
    """A float (or nested lists) back to a wire number."""
    if isinstance(x, list):
        return [_wire(v) for v in x]
    if x != x:
        return "NaN"
    if math.isinf(x):
        return "Infinity" if x > 0 else "-Infinity"
    return x


def _zip(f: Any, a: Any, b: Any) -> Any:
    if isinstance(a, list):
        return [_zip(f, x, y) for x, y in zip(a, b, strict=True)]
    return f(a, b)


def _excerpt(source: str, start: int, end: int) -> str:
    text = source[start:end]
    if end - start > 40:
        text = source[start : start + 26] + " … " + source[end - 11 : end]
    return " ".join(text.split())


_TEMPLATE_SLOT = re.compile(r"\{((?:[uo]|[xlc]\d+)?)\}")


def expand(c: dict[str, Any], source: str | None = None) -> dict[str, Any]:
    """The verbose answer from the compact one; `source` is the request's expression, needed
    when the request asked for no echo of it (echo_expression false)."""
    assert c["version"] in (1, 2)  # 2: templates may name the step's numbers
    source = c["expression"] if source is None else source
    assert isinstance(source, str)
    strings, cols, st = c["strings"], c["nodes"], c["steps"]
    n = len(cols["kind"])
    kinds = {"i": "input", "c": "const", "g": "gate"}
    args, k = [], 0
    for i, count in enumerate(cols["argc"]):
        args.append([i - d for d in cols["args"][k : k + count]])  # sent as distances back
        k += count
    line_starts = [0] + [i + 1 for i, ch in enumerate(source) if ch == "\n"]

    def position(offset: int) -> tuple[int, int]:
        line = bisect.bisect_right(line_starts, offset)
        return line, offset - line_starts[line - 1] + 1

    spans: list[Any] = []
    texts = []
    start = 0
    for i in range(n):
        delta, length = cols["span"][2 * i : 2 * i + 2]
        if length < 0:
            spans.append(None)
            texts.append("")
            continue
        start += delta  # starts are sent as the distance from the previous node's start
        (line, col), (end_line, end_col) = position(start), position(start + length)
        spans.append({"line": line, "col": col, "end_line": end_line, "end_col": end_col})
        texts.append(_excerpt(source, start, start + length))
    labels = [
        [strings[s] for s in cols["labels"][str(i)]]
        if str(i) in cols["labels"]
        else ([strings[cols["label"][i]]] if cols["label"][i] >= 0 else [])
        for i in range(n)
    ]
    names = []
    for i in range(n):
        ref = cols["name"][i]
        if ref >= 0:
            names.append(strings[ref])
        else:
            names.append({-1: texts[i], -2: f"({texts[i]})", -3: (labels[i] or [""])[0]}[ref])
    values = cols["value"]
    shape = [cols["shape"].get(str(i), []) for i in range(n)]
    nodes = []
    for i in range(n):
        kind = kinds[cols["kind"][i]]
        op = None if cols["op"][i] < 0 else strings[cols["op"][i]]
        ref = cols["symbol"][i]
        symbol = c["gates"][op]["symbol"] if ref == -1 else strings[ref]
        nodes.append(
            {
                "id": f"n{i}",
                "kind": kind,
                "op": op,
                "symbol": symbol,
                "label": labels[i][0] if labels[i] else (symbol if kind == "input" else None),
                "labels": labels[i],
                "inputs": [f"n{a}" for a in args[i]],
                "value": values[i],
                "grad": cols["grad"][i],
                "shape": shape[i],
                "text": texts[i],
                "span": spans[i],
                "param": cols["param"].get(str(i)),
            }
        )
    edges, edge_of = [], {}
    for i in range(n):
        for port, a in enumerate(args[i]):
            edge_of[(i, port)] = len(edges)
            edges.append(
                {
                    "id": f"e{len(edges)}",
                    "source": f"n{a}",
                    "target": f"n{i}",
                    "port": port,
                    "value": values[a],
                    "grad": 0.0,
                    "shape": shape[a],
                }
            )
    steps, running = [], {}
    local_at = uses_at = ref_at = slot_at = 0
    templates = c["templates"]
    i = n
    for index, gap in enumerate(st["node"]):
        i -= gap  # steps are sent as the distance back from the previous step's node
        node = nodes[i]
        upstream = cols["grad"][i]
        sent = st["contribution"].get(str(index))
        inputs = []
        for port, a in enumerate(args[i]):
            local = st["local"][local_at]
            local_at += 1
            if sent is not None:
                contribution = sent[port]
            else:
                contribution = _wire(_zip(lambda u, g: u * g, _num(upstream), _num(local)))
            if a in running:
                running[a] = _zip(lambda p, q: p + q, running[a], _num(contribution))
            else:
                running[a] = _num(contribution)
            used = []
            for ref in st["uses"][ref_at : ref_at + st["usec"][uses_at]]:
                target = i if ref == -1 else args[i][ref] if ref >= 0 else -2 - ref
                used.append(f"n{target}")
            ref_at += st["usec"][uses_at]
            uses_at += 1
            edges[edge_of[(i, port)]]["grad"] = contribution
            inputs.append(
                {
                    "node": f"n{a}",
                    "port": port,
                    "edge": f"e{edge_of[(i, port)]}",
                    "local_grad": local,
                    "contribution": contribution,
                    "accumulated": _wire(running[a]),
                    "uses": used,
                }
            )
        # a template's {} is the next slot; {u}, {o}, {xJ}, {lJ}, {cJ} the step's own numbers
        pieces = _TEMPLATE_SLOT.split(templates[st["rule"][index]])
        wires = [names[a] for a in args[i]] + [names[i]]
        numbers = {"u": upstream, "o": values[i]}
        for port, row in enumerate(inputs):
            numbers[f"x{port}"] = values[args[i][port]]
            numbers[f"l{port}"] = row["local_grad"]
            numbers[f"c{port}"] = row["contribution"]
        rule = pieces[0]
        for at in range(1, len(pieces), 2):
            if pieces[at]:
                rule += fmt(_num(numbers[pieces[at]]))
            else:
                slot = st["slots"][slot_at]
                rule += strings[slot] if slot >= 0 else wires[-1 - slot]
                slot_at += 1
            rule += pieces[at + 1]
        kink = st["kink"].get(str(index))
        if kink is not None:
            kind, convention, interval, count = kink
            kink = {
                "kind": strings[kind],
                "convention": strings[convention],
                "interval": interval,
                "count": count,
                "text": strings[convention],
            }
        steps.append(
            {
                "index": index,
                "node": f"n{i}",
                "op": node["op"],
                "symbol": node["symbol"],
                "upstream": upstream,
                "inputs": inputs,
                "rule": rule,
                "formula": c["gates"][node["op"]]["formula"],
                "kink": kink,
            }
        )
    out = c["output"]
    return {
        "expression": source,
        "output": {"value": values[out], "shape": shape[out], "node": f"n{out}"},
        "inputs": c["inputs"],
        "nodes": nodes,
        "edges": edges,
        "forward": [f"n{i}" for i in range(n)],
        "backward": steps,
        "gradients": {
            nodes[i]["symbol"]: cols["grad"][i] for i in range(n) if nodes[i]["kind"] == "input"
        },
        "warnings": c["warnings"],
        "stats": c["stats"],
        "index_inputs": c["index_inputs"],
        "gradcheck": c["gradcheck"],
    }


# ---------------------------------------------------------------- cases


def _random_program(rng: random.Random, gates: int) -> str:
    lines = []
    for i in range(gates):
        op = rng.choice(["+", "*", "/", "-", "**2", "max", "min", "relu", "exp", "tanh", "sigmoid",
                         "abs", "log", "sqrt"])  # fmt: skip
        a = rng.choice(["x", "y", "z"] + [f"g{j}" for j in range(i)])
        b = rng.choice(["x", "y", "z", "2", "0", "0.1"] + [f"g{j}" for j in range(i)])
        if op in ("+", "*", "/", "-"):
            expression = f"{a} {op} {b}"
        elif op in ("max", "min"):
            expression = f"{op}({a}, {b}, {rng.choice(['x', 'y', 'z'])})"
        elif op == "**2":
            expression = f"{a}**2"
        else:
            expression = f"{op}({a})"
        lines.append(f"g{i} = {expression}")
    lines.append(f"g{gates - 1} * x + y")
    return "\n".join(lines)


def _cases() -> list[tuple[str, dict[str, Any]]]:
    cases = [(p["expression"], p["inputs"]) for p in all_presets()]
    rng = random.Random(1234)
    for _ in range(40):
        program = _random_program(rng, rng.randint(1, 30))
        # ties, zeros (kinks, log 0, 1/0) and ordinary values
        pool = [0.0, 0.0, 1.5, -2.0, 3.0, 1e-300, -0.1]
        inputs = {name: rng.choice(pool) for name in parse(program).input_names}
        cases.append((program, inputs))
    cases += [
        ("W @ x + b", {"W": [[1, 2], [3, 4]], "x": [1, -1], "b": 1.0}),
        ("sum(a * b, 0)", {"a": [[1, 2], [3, 4]], "b": [1, -1]}),
        ("mean(relu(a - b))", {"a": [[1, 2], [3, 0]], "b": [0.5, 2]}),
        ("log(x) + 1/y - exp(z)", {"x": 0.0, "y": 0.0, "z": 1000.0}),
        (
            "a = x * y  # a stage\nb = a + (x - y) * (x + y) * (x - 2.5)\nmax(a, b)",
            {"x": 2, "y": 2},
        ),
        # x ** y with a wire for exponent (pow_xy), negate, and 0 ** 0.5 = sqrt's kink
        ("x ** y + -(z * x) + z ** y", {"x": 2.0, "y": 0.5, "z": 0.0}),
    ]
    return cases


CASES = _cases()


def test_the_cases_reach_every_gate_with_a_scalar_version() -> None:
    # the compact encoder renders those gates' captions with placeholders for names and
    # numbers (gates.Step): each must be among the cases checked against the verbose caption
    used = {node.op for expression, _ in CASES for node in parse(expression).nodes}
    scalar = {name for name, gate in GATES.items() if gate.scalar_forward is not None}
    assert scalar <= used, sorted(scalar - used)


def _post(
    client: TestClient, expression: str, inputs: dict[str, Any], fmt: str | None, **extra: Any
) -> Any:
    body = {"expression": expression, "inputs": inputs, **extra}
    if fmt is not None:
        body["format"] = fmt
    response = client.post("/api/v1/circuits/evaluate", json=body)
    assert response.status_code == 200, response.text
    return response


def _strict(text: str) -> Any:
    """Parses strict JSON: a bare NaN or Infinity (not RFC 8259) fails the test."""

    def refuse(name: str) -> Any:
        raise AssertionError(f"non-strict JSON constant {name}")

    return json.loads(text, parse_constant=refuse)


@pytest.mark.parametrize("index", range(len(CASES)))
@pytest.mark.parametrize("tie_break", ["split", "first"])
def test_compact_decodes_to_the_verbose_answer(
    client: TestClient, index: int, tie_break: str
) -> None:
    expression, inputs = CASES[index]
    verbose = _strict(_post(client, expression, inputs, "verbose", tie_break=tie_break).text)
    compact = _strict(_post(client, expression, inputs, "compact", tie_break=tie_break).text)
    assert compact["format"] == "compact"
    # equal as JSON values: full precision, the same non-finite strings, the same captions
    assert expand(compact, expression) == verbose


def test_default_format_is_verbose(client: TestClient) -> None:
    answer = _post(client, "x * y", {"x": 3, "y": -4}, None).json()
    assert answer["nodes"][2]["grad"] == 1.0 and answer["gradients"] == {"x": -4.0, "y": 3.0}


def test_full_precision_and_non_finite_strings(client: TestClient) -> None:
    # 0.1 + 0.2 is 0.30000000000000004 in float64: all 17 digits must survive the encoder;
    # log(0) is -Infinity, sent as a string (_strict refuses a bare -Infinity).
    text = _post(
        client, "(x + y) * log(z) + w", {"x": 0.1, "y": 0.2, "z": 0.0, "w": 1.0}, "compact"
    ).text
    compact = _strict(text)
    values = compact["nodes"]["value"]
    assert 0.30000000000000004 in values
    assert "-Infinity" in values
    grads = compact["nodes"]["grad"]
    # d/dz of (x + y) * log z at z = 0: (x + y) / z = +Infinity; d/d(log z) = x + y
    assert "Infinity" in grads and 0.30000000000000004 in grads


def test_captions_are_templates_filled_from_slots(client: TestClient) -> None:
    # cs231n's neuron: its four multiply steps share one template; slots carry the numbers
    neuron = "1 / (1 + exp(-(w0*x0 + w1*x1 + w2)))"
    inputs = {"w0": 2, "x0": -1, "w1": -3, "x1": -2, "w2": -3}
    compact = _post(client, neuron, inputs, "compact").json()
    templates = compact["templates"]
    multiply = [t for t in templates if t.startswith("multiply gate swaps")]
    assert len(multiply) == 1
    assert compact["steps"]["rule"].count(templates.index(multiply[0])) == 2
    # the w0 * x0 step: w0 receives x0 · upstream = -1 · 0.2 = -0.2 (0.1966 at 4 digits)
    rules = [s["rule"] for s in expand(compact, neuron)["backward"]]
    assert "w0 receives x0 · upstream = -1 · 0.1966 = -0.1966" in " ".join(rules)


def test_unknown_format_is_a_422_naming_the_field(client: TestClient) -> None:
    response = client.post(
        "/api/v1/circuits/evaluate", json={"expression": "x", "inputs": {"x": 1}, "format": "csv"}
    )
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "format"]


@pytest.mark.parametrize("version", [0, 3, "2", 2.5, True])
def test_a_compact_version_other_than_1_or_2_is_a_422_naming_the_field(
    client: TestClient, version: Any
) -> None:
    body = {"expression": "x", "inputs": {"x": 1}, "format": "compact", "compact_version": version}
    response = client.post("/api/v1/circuits/evaluate", json=body)
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "compact_version"]


def test_compact_version_with_the_verbose_format_is_a_422_saying_why(client: TestClient) -> None:
    body = {"expression": "x * y", "inputs": {"x": 1, "y": 2}, "compact_version": 2}
    response = client.post("/api/v1/circuits/evaluate", json=body)
    assert response.status_code == 422
    (problem,) = response.json()["detail"]
    assert problem["loc"] == ["body", "compact_version"]
    assert problem["msg"] == (
        'compact_version chooses the version of the compact answer: use it with "format": '
        '"compact", or leave it out'
    )


@pytest.mark.parametrize("version", [None, 1, 2])
def test_compact_version_1_is_the_default_and_2_names_the_numbers(
    client: TestClient, version: int | None
) -> None:
    body: dict[str, Any] = {
        "expression": "x * y",
        "inputs": {"x": 1.5, "y": -2},
        "format": "compact",
    }
    if version is not None:
        body["compact_version"] = version
    answer = client.post("/api/v1/circuits/evaluate", json=body).json()
    assert answer["version"] == (version or 1)
    template = answer["templates"][answer["steps"]["rule"][0]]
    # 1.5 · -2: x receives y · 1 = -2, y receives x · 1 = 1.5
    if version == 2:
        assert template == MUL_NAMED and answer["steps"]["slots"] == [-1, -2, -2, -1]
        assert answer["strings"] == ["x", "y", "mul"]
    else:
        assert template == MUL_SCALAR and answer["strings"] == ["x", "y", "mul", "-2", "1", "1.5"]
    assert expand(answer)["backward"][0]["rule"] == (
        "multiply gate swaps: x receives y · upstream = -2 · 1 = -2; y receives x · upstream = "
        "1.5 · 1 = 1.5"
    )


def test_the_encoders_default_to_version_1_and_refuse_others() -> None:
    result = evaluate_result("x * y", {"x": 1.5, "y": -2.0})
    assert encode(result, "compact")["version"] == compact(result)["version"] == 1
    assert encode(result, "compact", version=2) == compact(result, version=2)
    with pytest.raises(ValueError, match=r"compact answer version 3: there are \(1, 2\)"):
        compact(result, version=3)


def test_size_per_gate_of_a_1000_gate_circuit(client: TestClient) -> None:
    """Measured, and bounded loosely so that a regression to row-per-thing size fails."""
    # gate i reads gate i - 1, so all 1,000 feed the output; a multiply's other operand is an
    # input (|x| < 1) so that values stay finite
    rng = random.Random(7)
    names = [f"x{k}" for k in range(10)]
    lines = []
    for i in range(1000):
        op = rng.choice(["add", "mul", "max", "relu"])
        a = f"g{i - 1}" if i else "x0"
        b = rng.choice(names if op == "mul" else names + [f"g{j}" for j in range(i)])
        expression = {"add": f"{a} + {b}", "mul": f"{a} * {b}", "max": f"max({a}, {b})"}
        lines.append(f"g{i} = {expression.get(op, f'relu({a})')}")
    program = "\n".join(lines)
    inputs = {name: rng.uniform(-1, 1) for name in parse(program).input_names}
    compact = _post(client, program, inputs, "compact", echo_expression=False)  # as the page
    verbose = _post(client, program, inputs, "verbose")
    gates = compact.json()["stats"]["gates"]
    per_gate = len(compact.content) / gates
    assert per_gate < 0.25 * len(verbose.content) / gates
    print(f"compact {per_gate:.0f} B/gate, verbose {len(verbose.content) / gates:.0f} B/gate")
    assert gates == 1000
    assert per_gate <= 120, per_gate  # issue 11's goal; 111 when written


@pytest.mark.parametrize("index", [0, 3, len(CASES) - 4, len(CASES) - 1])
def test_compact_answer_matches_its_schema(client: TestClient, index: int) -> None:
    expression, inputs = CASES[index]
    answer = _post(client, expression, inputs, "compact", gradcheck=index == 0).json()
    CompactEvaluateResponse.model_validate(answer)


# ---------------------------------------------------------------- the parse cache


def test_parse_cache_hits_and_never_leaks_state_between_requests() -> None:
    # a stage that goes nowhere gives a warning; log(0) adds a non-finite one per request
    program = "unused = x * 2\nlog(x) * y"
    cache = ParseCache(2)
    first = verbose(evaluate_result(program, {"x": 0.0, "y": 1.0}, cache=cache))
    again = verbose(evaluate_result(program, {"x": 0.0, "y": 1.0}, cache=cache))
    other = verbose(evaluate_result(program, {"x": 2.0, "y": 3.0}, cache=cache))
    assert (cache.hits, cache.misses) == (2, 1)
    assert first == again == verbose(evaluate_result(program, {"x": 0.0, "y": 1.0}))
    # the stage; log 0 = -Infinity forward; dy = log 0 = -Infinity; d(log x) = 1/0 = Infinity
    assert [w.get("value") for w in first["warnings"]] == [
        None,
        "-Infinity",
        "-Infinity",
        "Infinity",
    ]
    assert len(other["warnings"]) == 1  # only the stage: no warning carried over
    assert other["output"]["value"] == math.log(2.0) * 3.0


@pytest.mark.parametrize("index", [0, 5, len(CASES) - 5, len(CASES) - 1])
def test_cached_circuit_encodes_the_same_compact_answer(index: int) -> None:
    # the second request reuses the structure columns kept with the cached circuit
    expression, inputs = CASES[index]
    other = {k: (v if isinstance(v, list) else v + 0.25) for k, v in inputs.items()}
    cache = ParseCache(4)
    for values in (inputs, other, inputs):
        cached = compact(evaluate_result(expression, values, cache=cache))
        assert cached == compact(evaluate_result(expression, values))
    assert cache.hits == 2


def test_a_cached_circuit_whose_gates_change_branch_gets_each_branchs_captions() -> None:
    # A cached circuit keeps each rendered caption's template; new inputs that send max, relu
    # and abs down another branch (or onto a kink) must get that branch's caption, as a fresh
    # parse does.
    expression = "max(x, y) * relu(x - y) + abs(y) + min(x, y, 1)"
    cache = ParseCache(2)
    sequence = [
        {"x": 2.0, "y": 1.0},
        {"x": 1.0, "y": 2.0},  # max and min route to the other input, relu is off
        {"x": 1.0, "y": 1.0},  # ties: max, min and relu at their kinks
        {"x": -1.0, "y": 0.0},  # abs at 0
        {"x": 2.0, "y": 1.0},
    ]
    answers = []
    for inputs in sequence:
        cached = compact(evaluate_result(expression, inputs, cache=cache))
        assert cached == compact(evaluate_result(expression, inputs))
        answers.append(cached)
    assert cache.hits == len(sequence) - 1
    templates = [
        [a["templates"][r] for r in a["steps"]["rule"]] for a in answers
    ]  # each step's template, by answer
    assert templates[0] != templates[1] != templates[2] != templates[3]
    assert templates[4] == templates[0]


@pytest.mark.parametrize("gates", [VERBOSE_ROWS_KEPT_MAX_NODES - 1, VERBOSE_ROWS_KEPT_MAX_NODES])
def test_verbose_rows_are_kept_with_small_cached_circuits_only(gates: int) -> None:
    # x + x + ... has gates + 1 nodes: at the limit (kept), one over (not kept, answers equal)
    expression = " + ".join(["x"] * (gates + 1))
    cache = ParseCache(2)
    first = verbose(evaluate_result(expression, {"x": 1.5}, cache=cache))
    again = verbose(evaluate_result(expression, {"x": 2.5}, cache=cache))
    assert again == verbose(evaluate_result(expression, {"x": 2.5}))
    assert first["output"]["value"] == 1.5 * (gates + 1)
    parsed = cache.get(expression, parse_limits(Limits()))
    nodes = len(parsed.circuit.nodes)
    assert nodes == gates + 1
    assert ("verbose_rows" in parsed.memo) is (nodes <= VERBOSE_ROWS_KEPT_MAX_NODES)


def test_parse_cache_is_a_bounded_lru_keyed_on_the_limits_too() -> None:
    cache = ParseCache(2)
    loose, tight = ParseLimits(), ParseLimits(max_gates=1)
    cache.get("x + y", loose)
    cache.get("x * y", loose)
    cache.get("x + y", loose)  # now the most recent
    cache.get("x - y", loose)  # evicts x * y
    assert (cache.hits, cache.misses) == (1, 3)
    cache.get("x + y", loose)
    assert cache.hits == 2
    cache.get("x * y", loose)
    assert cache.misses == 4
    # a node budget evicts the oldest too: x + y and x - y have 3 nodes each
    small = ParseCache(10, max_nodes=6)
    for text in ("x + y", "x - y", "x * y"):
        small.get(text, loose)
    assert (len(small._entries), small.nodes) == (2, 6)
    small.get("x + y", loose)
    assert small.misses == 4
    # the same text under tighter limits is parsed again, and refused
    with pytest.raises(LimitError):
        cache.get("x + y * z", tight)


# ---------------------------------------------------------------- captions from placeholders


def _through_json(answer: dict[str, Any]) -> Any:
    return _strict(dumps(answer).decode())


@pytest.mark.parametrize("tie_break", ["split", "first"])
@pytest.mark.parametrize("count", [2400, 4200])
def test_a_max_of_thousands_of_ties_decodes_to_its_caption(tie_break: str, count: int) -> None:
    # 2,400 tied inputs: the split caption writes more numbers than there are number
    # placeholders; 4,200: more wires than wire placeholders. Both fall back, and still decode.
    expression = f"max({', '.join(['x'] * count)}) * y"
    result = evaluate_result(expression, {"x": 2.0, "y": 3.0}, tie_break=tie_break)
    decoded = expand(_through_json(compact(result)), expression)
    assert decoded == _through_json(verbose(result))
    rule = decoded["backward"][1]["rule"]
    assert rule.startswith("max gate has a tie at 2 between x, x")
    share = "x gets 0.00125" if count == 2400 else "x gets 0.0007143"  # 3 / count
    assert (share in rule) == (tie_break == "split")


def test_fmt_is_plain_again_after_an_encoding() -> None:
    # the encoder's number placeholders must not leak into a later caption or label
    compact(evaluate_result("x * y + max(x, y)", {"x": 1.0, "y": 1.0}))
    assert fmt(0.19661193324148185) == "0.1966"
    verbose_rule = verbose(evaluate_result("x * y", {"x": 3.0, "y": -4.0}))["backward"][0]["rule"]
    assert verbose_rule == (
        "multiply gate swaps: x receives y · upstream = -4 · 1 = -4; y receives x · upstream = "
        "3 · 1 = 3"
    )


@pytest.mark.parametrize("index", range(0, len(CASES), 3))
def test_a_cache_hit_answer_is_the_fresh_answer_byte_for_byte(index: int) -> None:
    expression, inputs = CASES[index]
    # new float inputs (integers may be indices, which must stay in range)
    other = {k: (v * -1.5 + 0.5 if isinstance(v, float) else v) for k, v in inputs.items()}
    cache = ParseCache(4)
    for values in (inputs, other, inputs, other):
        cached = dumps(compact(evaluate_result(expression, values, cache=cache)))
        assert cached == dumps(compact(evaluate_result(expression, values)))
    assert cache.hits == 3


# ---------------------------------------------------------------- echo_expression


@pytest.mark.parametrize("index", [0, 7, len(CASES) - 1])
def test_without_the_echo_the_answer_is_the_same_less_the_expression(
    client: TestClient, index: int
) -> None:
    expression, inputs = CASES[index]
    echoed = _strict(_post(client, expression, inputs, "compact").text)
    bare = _strict(_post(client, expression, inputs, "compact", echo_expression=False).text)
    assert "expression" not in bare and echoed.pop("expression") == expression
    assert bare == echoed
    # the reader takes the expression from the request instead
    verbose = _strict(_post(client, expression, inputs, "verbose").text)
    assert expand(bare, expression) == verbose
    # the verbose answer leaves it out too, with or without parts
    plain = _strict(_post(client, expression, inputs, "verbose", echo_expression=False).text)
    assert plain == {k: v for k, v in verbose.items() if k != "expression"}
    few = _post(
        client, expression, inputs, None, parts=["expression", "gradients"], echo_expression=False
    ).json()
    assert few == {"gradients": verbose["gradients"]}


def test_echo_expression_must_be_a_boolean(client: TestClient) -> None:
    response = client.post(
        "/api/v1/circuits/evaluate",
        json={"expression": "x", "inputs": {"x": 1}, "echo_expression": "no"},
    )
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "echo_expression"]


@pytest.mark.parametrize(
    ("x", "text"),
    [
        # 4 significant digits; an exponent below 1e-4 or from 1e4 on, as printf's %g
        (9999.4, "9999"),
        (9999.5, "1e4"),  # rounds (half to even) up to 1.000e+04
        (-9999.5, "-1e4"),
        (1e-4, "0.0001"),
        (9.99995e-5, "0.0001"),  # rounds up to 1.000e-04
        (9.9e-5, "9.9e-5"),
        (0.19661193324148185, "0.1966"),
        (-2.5, "-2.5"),
        (-0.0, "0"),
        # the exponent without its sign or leading zeros, at both ends of the float64 range
        (1e30, "1e30"),
        (-1.5e-5, "-1.5e-5"),
        (12345.0, "1.234e4"),  # a tie: to the even digit
        (1.7976931348623157e308, "1.798e308"),
        (5e-324, "4.941e-324"),
        # non-finite numbers as the words the answers use
        (math.inf, "Infinity"),
        (-math.inf, "-Infinity"),
        (math.nan, "NaN"),
        # numpy's scalars and 0-d arrays as floats; an array as its shape
        (np.float64(-math.inf), "-Infinity"),
        (np.float64(2.5e-7), "2.5e-7"),
        (np.array(3.0), "3"),
        (np.zeros((2, 3)), "(2×3)"),
    ],
)
def test_fmt_at_the_edges_of_plain_notation(x: float, text: str) -> None:
    assert fmt(x) == text


# ---------------------------------------------------------------- exact columns, by hand


def _step_captions(answer: dict[str, Any]) -> list[tuple[str, list[int]]]:
    """Each step's template and its own slots (a template has one slot per "{}")."""
    out, at = [], 0
    slots = answer["steps"]["slots"]
    for rule in answer["steps"]["rule"]:
        template = answer["templates"][rule]
        count = template.count("{}")
        out.append((template, slots[at : at + count]))
        at += count
    assert at == len(slots)
    return out


ADD_SCALAR = (
    "add gate distributes the upstream gradient {} unchanged to both inputs: {} and {} each "
    "receive 1 · {} = {}"
)
MUL_SCALAR = (
    "multiply gate swaps: {} receives {} · upstream = {} · {} = {}; {} receives {} · upstream = "
    "{} · {} = {}"
)


# Version 2: a scalar circuit's templates name the step's numbers ({u} upstream, {o} output,
# {xJ} input J's value, {lJ} its local gradient, {cJ} its contribution); each {} is a slot.
ADD_NAMED = (
    "add gate distributes the upstream gradient {u} unchanged to both inputs: {} and {} each "
    "receive 1 · {u} = {u}"
)
MUL_NAMED = (
    "multiply gate swaps: {} receives {} · upstream = {x1} · {u} = {c0}; {} receives {} · "
    "upstream = {x0} · {u} = {c1}"
)


def test_a_scalar_circuits_compact_answer_column_by_column() -> None:
    # n0 x, n1 y, n2 x * y (stages a and b), n3 the constant 2, n4 max(b, 2), n5 exp(x), n6 the
    # sum. x = 0, y = 3: a = 0, max(0, 2) = 2 (the constant wins), e^0 = 1, output 3.
    expression = "a = x * y\nb = a\nmax(b, 2) + exp(x)"
    answer = compact(evaluate_result(expression, {"x": 0.0, "y": 3.0}))
    # the structure's texts first, in node order (op, drawn symbol, name, label, labels), then
    # the numbers of the captions, in the order they are written
    strings = ["x", "y", "mul", "a", "b", "2", "max", "exp", "add", "1", "3", "0"]
    s = {text: k for k, text in enumerate(strings)}
    assert answer["strings"] == strings
    assert answer["expression"] == expression  # echoed by default
    assert answer["nodes"] == {
        "kind": "iigcggg",
        "op": [-1, -1, s["mul"], -1, s["max"], s["exp"], s["add"]],
        "argc": [0, 0, 2, 0, 2, 1, 2],
        # each argument as the distance back: n2 reads n0, n1; n4 n2, n3; n5 n0; n6 n4, n5
        "args": [2, 1, 2, 1, 5, 2, 1],
        # -1: the gate's own symbol; inputs and constants draw their name or number
        "symbol": [s["x"], s["y"], -1, s["2"], -1, -1, -1],
        # -3 the first label, -1 the text itself, -2 the text in parentheses
        "name": [-1, -1, -3, -1, -1, -1, -2],
        # (start - previous start, length): line 3 starts at offset 16; x at 4, y at 8,
        # "x * y" at 4, the 2 at 16 + 7, "max(b, 2)" at 16, "exp(x)" at 16 + 12, the sum at 16
        "span": [4, 1, 4, 1, -4, 5, 19, 1, -7, 9, 12, 6, -12, 18],
        "label": [-1, -1, s["a"], -1, -1, -1, -1],
        "labels": {"2": [s["a"], s["b"]]},
        "param": {},
        "value": [0.0, 3.0, 0.0, 2.0, 2.0, 1.0, 3.0],
        # x: e^0 · 1 from exp plus y · 0 from the multiply (max sent its gradient to the 2)
        "grad": [1.0, 0.0, 0.0, 1.0, 1.0, 1.0, 1.0],
        "shape": {},
    }
    # steps n6, n5, n4, n2 (the constant has none): node gaps back from 7
    assert {k: v for k, v in answer["steps"].items() if k not in ("rule", "slots")} == {
        "node": [1, 1, 1, 2],
        # add 1, 1; exp e^0 = 1; max 0 (lost), 1 (won); multiply y = 3, x = 0
        "local": [1.0, 1.0, 1.0, 0.0, 1.0, 3.0, 0.0],
        # exp reads its output (-1); max each input (its port) and its output; the multiply
        # the other input
        "usec": [0, 0, 1, 2, 2, 1, 1],
        "uses": [-1, 0, -1, 1, -1, 1, 0],
        "contribution": {},
        "kink": {},
    }
    assert _step_captions(answer) == [
        (ADD_SCALAR, [s["1"], -1, -2, s["1"], s["1"]]),
        (
            "exp gate multiplies by its own output e^x: {} receives {} · {} = {}",
            [-1] + [s["1"]] * 3,
        ),
        ("max gate routes the gradient {} to {}, the larger input; {} gets 0", [s["1"], -2, -1]),
        # upstream 0: x receives y · 0 = 3 · 0 = 0, y receives x · 0 = 0 · 0 = 0
        (MUL_SCALAR, [-1, -2, s["3"], s["0"], s["0"], -2, -1, s["0"], s["0"], s["0"]]),
    ]
    # version 2: the templates name the step's numbers, so no caption adds a string
    named = compact(evaluate_result(expression, {"x": 0.0, "y": 3.0}), version=2)
    assert named["version"] == 2 and named["strings"] == strings[:9]
    assert {
        k: v for k, v in named.items() if k not in ("version", "strings", "templates", "steps")
    } == {k: v for k, v in answer.items() if k not in ("version", "strings", "templates", "steps")}
    assert _step_captions(named) == [
        (ADD_NAMED, [-1, -2]),
        ("exp gate multiplies by its own output e^x: {} receives {l0} · {u} = {c0}", [-1]),
        ("max gate routes the gradient {u} to {}, the larger input; {} gets 0", [-2, -1]),
        # x receives y · upstream, y receives x · upstream
        (MUL_NAMED, [-1, -2, -2, -1]),
    ]
    # filled in as the verbose captions write them (upstream 0: 3 · 0 = 0, 0 · 0 = 0); b is
    # the stage of x * y, whose first label (a) names it
    assert (
        [step["rule"] for step in expand(named)["backward"]]
        == [step["rule"] for step in expand(answer)["backward"]]
        == [
            "add gate distributes the upstream gradient 1 unchanged to both inputs: max(b, 2) and "
            "exp(x) each receive 1 · 1 = 1",
            "exp gate multiplies by its own output e^x: x receives 1 · 1 = 1",
            "max gate routes the gradient 1 to 2, the larger input; a gets 0",
            "multiply gate swaps: x receives y · upstream = 3 · 0 = 0; y receives x · upstream = "
            "0 · 0 = 0",
        ]
    )
    assert answer["stats"] == {"gates": 4, "nodes": 7, "fast_path": True}
    assert answer["gates"] == {
        op: {"symbol": GATES[op].symbol, "formula": GATES[op].derivative}
        for op in ("add", "exp", "max", "mul")
    }
    assert (answer["output"], answer["output_grad"], answer["inputs"]) == (6, 1.0, ["x", "y"])


SUM_TENSOR = (
    "sum gate distributes like add: every element of {} receives the upstream gradient: d{} = "
    "d(sum{}) copied () -> ({},)"
)


@pytest.mark.parametrize(
    ("expression", "inputs", "strings", "captions", "contribution"),
    [
        # a word is a wire only where it stands alone: not the s of sum, distributes or ds
        (
            "sum(s)",
            {"s": [1.0, 2.0]},
            ["s", "sum", "2"],
            [
                (
                    "sum gate distributes like add: every element of {} receives the upstream "
                    "gradient: ds = d(sum({})) copied () -> ({},)",
                    [-1, -1, 2],
                )
            ],
            {"0": [[1.0, 1.0]]},
        ),
        # a name inside a word that starts the caption (add) is not a wire either
        (
            "dd + b",
            {"dd": [1.0], "b": [2.0]},
            ["dd", "b", "add", "1"],
            [
                (
                    "add gate distributes the upstream gradient ({}) unchanged to both inputs: "
                    "{} and {} each receive {} · ({}) = ({})",
                    [3, -1, -2, 3, 3, 3],
                )
            ],
            {},
        ),
        # s is not the s of s_t; the multiply is elementwise (equal shapes), so its
        # contributions are upstream × local and not sent; the sum's are
        (
            "sum(s * s_t)",
            {"s": [1.0, 2.0], "s_t": [3.0, -1.0]},
            ["s", "s_t", "mul", "sum", "2"],
            [
                (SUM_TENSOR, [-1, -1, -1, 4]),
                (
                    "multiply gate swaps: {} receives {} · upstream = ({}) · ({}) = ({}); {} "
                    "receives {} · upstream = ({}) · ({}) = ({})",
                    [-1, -2, 4, 4, 4, -2, -1, 4, 4, 4],
                ),
            ],
            {"0": [[1.0, 1.0]]},
        ),
        # a constant's name is a number: a number slot, not a wire; the 2 was broadcast, so
        # the multiply sends its contributions: x gets 2 · ones, the 2 gets sum(x) = 3
        (
            "sum(x * 2)",
            {"x": [1.0, 2.0]},
            ["x", "2", "mul", "sum", "3", "0"],
            [
                (SUM_TENSOR, [-1, -1, -1, 1]),
                (
                    "multiply gate swaps: {} receives {} · upstream = {} · ({}) = ({}); {} "
                    "receives {} · upstream = ({}) · ({}) = {}; broadcasting: {} () was "
                    "broadcast to ({},), so its gradient is summed over axis {} back to ()",
                    [-1, 1, 1, 1, 1, 1, -1, 1, 1, 4, 1, 1, 5],
                ),
            ],
            {"0": [[1.0, 1.0]], "1": [[2.0, 2.0], 3.0]},
        ),
    ],
    ids=["sum-s", "dd-plus-b", "s-times-s_t", "x-times-2"],
)
def test_tensor_captions_are_split_into_templates_at_their_wires_names(
    expression: str,
    inputs: dict[str, Any],
    strings: list[str],
    captions: list[tuple[str, list[int]]],
    contribution: dict[str, Any],
) -> None:
    answer = _through_json(compact(evaluate_result(expression, inputs)))
    assert answer["strings"] == strings
    assert _step_captions(answer) == captions
    assert answer["steps"]["contribution"] == contribution


@pytest.mark.parametrize("brace", ["{", "}"])
def test_a_caption_with_a_brace_in_its_words_is_sent_whole(brace: str) -> None:
    # a comment inside the parentheses is part of the wire's text; x is marked first, so the
    # multiply's other wire "(x # { + 1)" is no longer whole and its brace stays in the words:
    # "{}" would read as a slot, so the caption is one literal string
    expression = f"sum(x * (x # {brace}\n+ 1))"
    answer = compact(evaluate_result(expression, {"x": [1.0, 2.0]}))
    other = f"(x # {brace} + 1)"
    caption = (
        f"multiply gate swaps: x receives {other} · upstream = (2) · (2) = (2); {other} receives "
        "x · upstream = (2) · (2) = (2)"
    )
    strings = answer["strings"]
    assert _step_captions(answer)[1] == ("{}", [strings.index(caption)])


def test_a_caption_with_a_private_use_character_of_its_own_is_sent_whole() -> None:
    # U+E000 is the encoder's first wire mark; a comment may hold it, and the sum's input's
    # text holds the comment
    expression = "sum(x * # \ue000\n x)"
    answer = compact(evaluate_result(expression, {"x": [1.0, 2.0]}))
    caption = (
        "sum gate distributes like add: every element of (x * # \ue000 x) receives the upstream "
        "gradient: d(x * # \ue000 x) = d(sum(x * # \ue000 x)) copied () -> (2,)"
    )
    assert _step_captions(answer)[0] == ("{}", [answer["strings"].index(caption)])


def _tie_program(count: int) -> str:
    # a stage made before the max, so its multiply's step comes after the max's
    return f"a = y * 2\nm = max({', '.join(['x'] * count)})\nm + a"


@pytest.mark.parametrize("count", [4095, 4096])
def test_a_max_with_as_many_wires_as_marks_is_searched_and_the_next_step_is_rendered(
    count: int,
) -> None:
    # 4,096 wire marks (U+E000 to U+EFFF): a step with 4,096 inputs has 4,097 wires, one too
    # many, so its caption is searched for its names (every x is the first wire's); with 4,095
    # inputs each x is its own wire. Under "first", x = 2 ties everywhere and the first gets
    # the whole upstream 1; the other count - 1 get 0.
    answer = compact(evaluate_result(_tie_program(count), {"x": 2.0, "y": 3.0}, tie_break="first"))
    strings = answer["strings"]
    s = {text: strings.index(text) for text in ("1", "2", "3", "0") if text in strings}
    add, max_step, mul = _step_captions(answer)
    assert add == (ADD_SCALAR, [s["1"], -1, -2, s["1"], s["1"]])
    # the multiply after it: y receives 2 · 1 = 2, the 2 receives 3 · 1 = 3
    assert mul == (MUL_SCALAR, [-1, -2, s["2"], s["1"], s["2"], -2, -1, s["3"], s["1"], s["3"]])
    head = "max gate has a tie at {} between " + ", ".join(["{}"] * (count - 1)) + " and {}"
    losers = ", ".join(["{}"] * (count - 2)) + " and {} get"
    kink = (
        ". Kink: ties send the whole gradient to the first tied input; any non-negative split "
        "that sums to"
    )
    if count == 4096:  # searched: the numbers 0 and 1 of the words are slots too
        template = (
            f"{head}: it sends the whole gradient {{}} to {{}}, the first tied input; {losers} "
            f"{{}}{kink} {{}} is a valid subgradient"
        )
        slots = [s["2"], *[-1] * count, s["1"], -1, *[-1] * (count - 1), s["0"], s["1"]]
    else:  # rendered: wire j is -1 - j
        template = (
            f"{head}: it sends the whole gradient {{}} to {{}}, the first tied input; {losers} "
            f"0{kink} 1 is a valid subgradient"
        )
        wires = [-1 - j for j in range(count)]
        slots = [s["2"], *wires, s["1"], -1, *wires[1:]]
    assert max_step == (template, slots)


def test_a_caption_with_more_numbers_than_marks_is_sent_whole_and_the_next_is_rendered() -> None:
    # split among 2,400 ties, the max's caption writes 2 + 2,400 numbers, more than the 2,303
    # number marks (U+F000 to U+F8FE): it is sent whole. Each x gets 1 / 2400 = 0.0004167.
    count = 2400
    answer = compact(evaluate_result(_tie_program(count), {"x": 2.0, "y": 3.0}, tie_break="split"))
    strings = answer["strings"]
    s = {text: strings.index(text) for text in ("1", "2", "3")}
    caption = (
        "max gate has a tie at 2 between "
        + ", ".join(["x"] * (count - 1))
        + " and x: it splits the gradient 1: "
        + ", ".join(["x gets 0.0004167"] * count)
        + ". Kink: ties split the gradient evenly between the tied inputs (PyTorch's "
        "convention); any non-negative split that sums to 1 is a valid subgradient"
    )
    assert _step_captions(answer) == [
        (ADD_SCALAR, [s["1"], -1, -2, s["1"], s["1"]]),
        ("{}", [strings.index(caption)]),
        (MUL_SCALAR, [-1, -2, s["2"], s["1"], s["2"], -2, -1, s["3"], s["1"], s["3"]]),
    ]


# Every gate with a scalar version, each reading the same few inputs: drawn from a small pool,
# so ties, zeros, signs and non-finite numbers meet in one circuit (log of a negative number
# and exp of 1000 send NaN and infinity into max, min and relu).
EVERY_SCALAR_GATE = (
    "a + b - c * d / a + max(a, b) + min(b, c, d) + max(a, a) + relu(a) + relu(b) + abs(c) + "
    "sqrt(d) + exp(b) + log(c) + sigmoid(a) + tanh(d) + a ** 2 + b ** 0.5 + c ** 0 + "
    "a ** b + -d + max(log(c), d) + min(exp(b), a, exp(b)) + relu(log(c)) + max(log(c), log(c))"
)
ALL_OPS_OF_EVERY_SCALAR_GATE = [
    "add",
    "sub",
    "mul",
    "div",
    "max",
    "min",
    "relu",
    "abs",
    "sqrt",
    "exp",
    "log",
    "sigmoid",
    "tanh",
    "pow",
    "pow_xy",
    "neg",
]
# inputs are finite; 0 (log, a divide), 1000 (exp), negatives (log, sqrt) and 1e308 (a
# product) make the circuit's own infinities and NaNs
POOL = [0.0, -0.0, 1.0, -1.0, 2.0, 0.5, -3.25, 1e-5, 123456.0, 1000.0, 1e308, -1e308]


@settings(max_examples=150, deadline=None, derandomize=True)
@given(
    values=st.lists(
        st.one_of(st.sampled_from(POOL), st.floats(allow_nan=False, allow_infinity=False)),
        min_size=4,
        max_size=4,
    ),
    tie_break=st.sampled_from(["split", "first"]),
    version=st.sampled_from([1, 2]),
)
def test_caption_recipes_say_what_each_steps_own_numbers_say(
    values: list[float], tie_break: str, version: int
) -> None:
    # A recipe (encode._RECIPES) is rendered for one step and filled for every later step with
    # the same gate and branch, in this answer and the next: each step's caption must still be
    # the one the verbose answer writes for its own numbers.
    # every gate of the fast path has its recipes kept (a gate without caption_branch would
    # render each step, and so not be tested here)
    fast_gates = [name for name, gate in GATES.items() if gate.scalar_forward]
    assert all(GATES[name].caption_branch is not None for name in fast_gates)
    assert {name for name in fast_gates} <= set(ALL_OPS_OF_EVERY_SCALAR_GATE)
    inputs = dict(zip("abcd", values, strict=True))
    result = evaluate_result(EVERY_SCALAR_GATE, inputs, tie_break=tie_break)
    assert result.fast
    rules = [step["rule"] for step in expand(compact(result, version=version))["backward"]]
    assert rules == [step["rule"] for step in verbose(result)["backward"]]


def _readme_reader() -> str:
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("### The compact answer") :]
    return section[section.index("```python\n") + len("```python\n") : section.index("```\n")]


@pytest.mark.parametrize(
    ("expression", "inputs"),
    [
        ("2 * (x*y + max(z, w))", {"x": 3, "y": -4, "z": 2, "w": -1}),  # the README's own
        ("log(x) * exp(y) + x ** 2 + sqrt(y - x)", {"x": 0, "y": 800}),  # -inf, inf, NaN
        ("max(a, b, a) + relu(a - b) + abs(b - a)", {"a": 1.5, "b": 1.5}),  # ties and kinks
    ],
)
def test_the_readme_reader_prints_the_verbose_captions(
    client: TestClient, expression: str, inputs: dict[str, float], capsys: Any
) -> None:
    # The README's Python reader, run as written against this app: only the address changes
    # (httpx.post is the test client's) and the request is this case's.
    code = _readme_reader()
    assert "import httpx\n" in code
    code = code.replace("import httpx\n", "")
    readme_request = '"expression": "2 * (x*y + max(z, w))"'
    assert readme_request in code
    code = code.replace(readme_request, f'"expression": {expression!r}').replace(
        '"inputs": {"x": 3, "y": -4, "z": 2, "w": -1}', f'"inputs": {inputs!r}'
    )

    class Httpx:
        post = staticmethod(client.post)

    exec(compile(code, "README.md", "exec"), {"httpx": Httpx, "__name__": "readme"})
    printed = capsys.readouterr().out.splitlines()
    body = {"expression": expression, "inputs": inputs}
    answer = client.post("/api/v1/circuits/evaluate", json=body).json()
    rules = [step["rule"] for step in answer["backward"]]
    assert printed == rules and len(rules) >= 3


def _half_gate(s: Any) -> str:
    return f"half gate: {s.names[0]} receives 0.5 · {fmt(s.upstream)} = {fmt(s.contributions[0])}"


@pytest.fixture
def half_gate() -> Any:
    """A scalar gate without caption_branch in GATES for one test: its steps are rendered."""
    gate = register(
        Gate(
            "half_test",
            "½",
            (1, 1),
            lambda x: 0.5 * x,
            "d/dx x/2 = 1/2",
            "half gate: the input receives half the upstream gradient",
            _half_gate,
            local=lambda xs, out, p, t: [0.5 * np.ones_like(out)],
            scalar_forward=lambda a: 0.5 * a,
            scalar_local=lambda xs, out, p, t: [0.5],
            uses=no_uses,
        )
    )
    yield gate
    unregister("half_test")


@pytest.mark.parametrize("version", [1, 2])
def test_a_gate_without_caption_branch_has_each_step_rendered(half_gate: Any, version: int) -> None:
    result = evaluate_result("half_test(x) * half_test(y) + half_test(x)", {"x": 3.0, "y": -1.0})
    assert result.fast
    answer = compact(result, version=version)
    assert [s["rule"] for s in expand(answer)["backward"]] == [
        s["rule"] for s in verbose(result)["backward"]
    ]
    halves = [r for r in (s["rule"] for s in verbose(result)["backward"]) if r.startswith("half")]
    # x: 0.5 · y/2 = -0.25 and 0.5 · 1 = 0.5; y: 0.5 · x/2 = 0.75
    assert sorted(halves) == [
        "half gate: x receives 0.5 · -0.5 = -0.25",
        "half gate: x receives 0.5 · 1 = 0.5",
        "half gate: y receives 0.5 · 1.5 = 0.75",
    ]
    assert not [key for key in _RECIPES if key[0] == "half_test"]  # rendered, never kept


def test_the_kept_recipes_are_bounded_by_count_and_by_inputs(monkeypatch: Any) -> None:
    # at most _RECIPES_MAX recipes, and only for gates of at most _RECIPE_MAX_ARGS inputs;
    # every caption is still right past either bound
    monkeypatch.setattr(encode_module, "_RECIPES_MAX", 3)
    result = evaluate_result(
        EVERY_SCALAR_GATE, dict(zip("abcd", [2.0, 0.5, -1.0, 3.0], strict=True))
    )
    rules = [s["rule"] for s in expand(compact(result, version=2))["backward"]]
    assert rules == [s["rule"] for s in verbose(result)["backward"]]
    assert len(_RECIPES) == 3
    monkeypatch.setattr(encode_module, "_RECIPES_MAX", 4096)
    for count, kept in ((16, True), (17, False)):
        _RECIPES.clear()
        names = [f"x{i}" for i in range(count)]
        result = evaluate_result(
            f"max({', '.join(names)})", {n: float(i) for i, n in enumerate(names)}
        )
        compact(result, version=2)
        assert [key[1] for key in _RECIPES] == ([count] if kept else [])
