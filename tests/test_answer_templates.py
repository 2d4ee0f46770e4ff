"""encode.compact_json and encode.verbose_json: a small scalar circuit's answer filled into a
template kept with the circuit is the same bytes as the answer encoded in full, whatever the
inputs do between two requests (cross a max's tie, reach a kink, overflow), and the templates
stay bounded."""

from __future__ import annotations

import importlib
import json
import math
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from app.core.errors import ProblemError
from app.core.limits import Limits
from app.engine import evaluate_bytes, evaluate_job, parse_limits
from app.engine.cache import shared_cache
from app.engine.encode import dumps
from app.presets import all_presets

templates_module = importlib.import_module("app.engine.answer_templates")
LIMITS = Limits()
SIGMOID = "1 / (1 + exp(-(w0*x0 + w1*x1 + w2)))"
COURSE = {"w0": 2.0, "x0": -1.0, "w1": -3.0, "x1": -2.0, "w2": -3.0}


def body(expression: str, inputs: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "expression": expression,
        "inputs": inputs,
        "format": "compact",
        "compact_version": 2,
        "echo_expression": False,
        **extra,
    }


def verbose_body(expression: str, inputs: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"expression": expression, "inputs": inputs, **extra}


def templates(expression: str, kind: str = templates_module._TEMPLATES) -> dict[Any, Any]:
    parsed = shared_cache().get(expression, parse_limits(LIMITS))
    return parsed.memo.get(kind, {})


def verbose_templates(expression: str) -> dict[Any, Any]:
    return templates(expression, templates_module._VERBOSE_TEMPLATES)


def same(request: dict[str, Any]) -> bytes:
    """The answer through evaluate_bytes (and its templates), checked against the answer
    encoded in full."""
    got = evaluate_bytes(request, LIMITS)
    assert got == dumps(evaluate_job(request, LIMITS))
    return got


def _counter(monkeypatch: pytest.MonkeyPatch, name: str) -> list[int]:
    count: list[int] = []
    fill = getattr(templates_module, name)

    def counted(*args: Any) -> bytes:
        count.append(1)
        return fill(*args)

    monkeypatch.setattr(templates_module, name, counted)
    return count


@pytest.fixture
def fills(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts the compact answers filled into a template."""
    return _counter(monkeypatch, "_fill")


@pytest.fixture
def verbose_fills(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts the verbose answers filled into a template (one more when a template is made:
    it is filled once to check it gives the answer it was cut from)."""
    return _counter(monkeypatch, "_fill_verbose")


def test_the_sigmoid_neuron_is_filled_from_its_template_with_the_course_numbers(
    fills: list[int],
) -> None:
    expression = SIGMOID + " + 0 * w0"  # a text of this test's own: a cache entry of its own
    first = same(body(expression, COURSE))
    assert fills == [] and len(templates(expression)) == 1
    second = same(body(expression, COURSE))
    assert fills == [1] and second == first
    moved = same(body(expression, {**COURSE, "w0": 2.5}))
    assert fills == [1, 1] and moved != first
    # the course's numbers, at full precision, in the filled answer
    answer = json.loads(second)
    assert answer["nodes"]["value"][answer["output"]] == 0.7310585786300049  # the reference file's
    assert answer["output_grad"] == 1.0


def test_each_caption_branch_has_a_template_and_a_kink_has_none(fills: list[int]) -> None:
    expression = "max(x, y) * z + 0 * x"
    for inputs in ({"x": 3, "y": 1, "z": 2}, {"x": 1, "y": 3, "z": 2}):
        same(body(expression, inputs))
    assert len(templates(expression)) == 2 and fills == []
    same(body(expression, {"x": 5, "y": -1, "z": 0.5}))  # x wins again: the first template
    same(body(expression, {"x": -4, "y": 2, "z": -1}))  # y wins again: the second
    assert fills == [1, 1]
    same(body(expression, {"x": 2, "y": 2, "z": 2}))  # a tie is a kink: encoded in full
    assert fills == [1, 1] and len(templates(expression)) == 2
    # and so is every later kink, each with its own numbers (no template of kinked answers)
    same(body(expression, {"x": -1, "y": -1, "z": 3}))
    same(body(expression, {"x": 0.5, "y": 0.5, "z": -2}))
    assert fills == [1, 1] and len(templates(expression)) == 2


def test_a_non_finite_number_is_encoded_in_full(fills: list[int]) -> None:
    expression = "exp(x) * y + 0 * y"
    same(body(expression, {"x": 1, "y": 2}))
    overflow = same(body(expression, {"x": 1000, "y": 2}))  # exp overflows: strings, warnings
    assert b'"Infinity"' in overflow
    assert fills == []
    same(body(expression, {"x": -1, "y": 3}))
    assert fills == [1]


def test_at_most_four_templates_a_circuit() -> None:
    # three relus: eight branch combinations, of which four are kept
    expression = "relu(a) + relu(b) + relu(c) + 0 * a"
    for signs in range(8):
        inputs = {name: (1.5 if signs >> k & 1 else -1.5) for k, name in enumerate("abc")}
        same(body(expression, inputs))
        same(body(expression, {k: v * 2 for k, v in inputs.items()}))
    assert len(templates(expression)) == templates_module.COMPACT_TEMPLATES_PER_CIRCUIT == 4


def chain(nodes: int) -> str:
    """A circuit of exactly `nodes` nodes: one input, then gates (a + 1 is a constant and a gate)."""
    text = "x"
    count = 1
    while count + 2 <= nodes:
        text = f"({text}) * 1.5"
        count += 2
    if count < nodes:
        text = f"-({text})"
        count += 1
    return text


@pytest.mark.parametrize("nodes", [63, 64, 65])
def test_templates_are_kept_up_to_64_nodes(nodes: int) -> None:
    expression = chain(nodes)
    parsed = shared_cache().get(expression, parse_limits(LIMITS))
    assert len(parsed.circuit.nodes) == nodes
    for x in (0.5, 0.75, 1.25):
        same(body(expression, {"x": x}))
    kept = len(templates(expression))
    assert kept == (1 if nodes <= templates_module.COMPACT_TEMPLATE_MAX_NODES else 0)


def test_version_1_echo_and_gradcheck_are_encoded_in_full(fills: list[int]) -> None:
    expression = "x * y + 0 * x + 0 * y"
    inputs = {"x": 3, "y": -4}
    for extra in ({"compact_version": 1}, {"gradcheck": True}):
        for _ in range(2):
            same(body(expression, inputs, **extra))
    assert fills == []
    # echo is part of the template's key: both kinds kept, each filled
    for echo in (True, False, True, False):
        same(body(expression, inputs, echo_expression=echo))
    assert fills == [1, 1]


def test_a_mark_in_the_answer_text_means_no_template() -> None:
    hole = templates_module._hole
    marked = {
        "strings": [hole(2)],
        "output_grad": hole(0),
        "nodes": {"value": hole(1), "grad": hole(2)},
        "steps": {"local": hole(3)},
    }
    assert templates_module._cut(marked, 4) is None
    del marked["strings"]
    cut = templates_module._cut(marked, 4)
    assert cut is not None
    answer = {"output_grad": 1.0, "nodes": {"value": [1.0], "grad": [2.0]}, "steps": {"local": []}}
    assert templates_module._fill(cut, (1.0, [1.0], [2.0], [])) == dumps(answer)


@pytest.mark.parametrize("make", [body, verbose_body], ids=["compact", "verbose"])
@pytest.mark.parametrize("name", sorted(p["id"] for p in all_presets()))
def test_every_preset_twice_is_the_same_bytes(name: str, make: Any) -> None:
    preset = next(p for p in all_presets() if p["id"] == name)
    request = make(preset["expression"], preset.get("inputs", {}))
    for _ in range(2):
        same(request)
    nudged = {**request, "inputs": {k: _nudge(v) for k, v in request["inputs"].items()}}
    try:
        expected = dumps(evaluate_job(nudged, LIMITS))
    except ProblemError as error:  # an index out of range, say: the same refusal both ways
        with pytest.raises(ProblemError) as caught:
            evaluate_bytes(nudged, LIMITS)
        assert caught.value.problems == error.problems
    else:
        assert evaluate_bytes(nudged, LIMITS) == expected


def _nudge(value: Any) -> Any:
    """New numbers; an integer stays an integer (an index input must be one)."""
    if isinstance(value, list):
        return [_nudge(v) for v in value]
    return value * 1.25 + 0.125 if isinstance(value, float) else value * 2 + 1


FINITE = st.floats(-50, 50, allow_nan=False, allow_infinity=False)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(FINITE, FINITE, FINITE, FINITE), min_size=2, max_size=4))
def test_random_inputs_in_turn_give_the_full_encoding(rows: list[tuple[float, ...]]) -> None:
    # max and relu branch with the numbers; 0.0 ties and relu(0) kinks come up as drawn
    expression = "max(a, b) * relu(c - d) + abs(a) / (1 + exp(-d)) + 0 * a"
    for a, b, c, d in rows:
        answer = json.loads(same(body(expression, {"a": a, "b": b, "c": c, "d": d})))
        # this request's output, not a template's old one (the gates' own float rules may
        # differ from Python's here in the last bit)
        expected = max(a, b) * max(c - d, 0.0) + abs(a) / (1 + math.exp(-d)) + 0 * a
        got = answer["nodes"]["value"][answer["output"]]
        assert math.isclose(got, expected, rel_tol=1e-14, abs_tol=1e-300)


# ---------------------------------------------------------------- verbose


def test_the_verbose_sigmoid_neuron_is_filled_with_the_course_numbers(
    verbose_fills: list[int],
) -> None:
    expression = SIGMOID + " + 0 * x1"
    first = same(verbose_body(expression, COURSE))
    # made and checked (filled once with the echo, once without)
    assert len(verbose_fills) == 2 and len(verbose_templates(expression)) == 1
    second = same(verbose_body(expression, COURSE))
    assert len(verbose_fills) == 3 and second == first
    answer = json.loads(same(verbose_body(expression, {**COURSE, "x0": -1.5})))
    assert len(verbose_fills) == 4
    assert answer["output"]["value"] != json.loads(first)["output"]["value"]
    course = json.loads(second)
    # the reference file's numbers for the course's neuron (its w0, x0), exactly
    assert course["output"]["value"] == 0.7310585786300049
    assert course["gradients"]["w0"] == -0.19661193324148188
    assert course["gradients"]["x0"] == 0.39322386648296376
    # a filled rule reads this request's numbers (the course's: 1 / 1.368 = 0.7311, and the
    # local gradient -1/1.368² = -0.5344), and the moved one its own
    [divide] = [step["rule"] for step in course["backward"] if step["op"] == "div"]
    assert "1 / 1.368 = 0.7311" in divide and "-0.5344 · 1 = -0.5344" in divide
    [moved] = [step["rule"] for step in answer["backward"] if step["op"] == "div"]
    assert "0.7311" not in moved


def test_a_verbose_template_fills_kinks_and_rules_as_they_come(verbose_fills: list[int]) -> None:
    expression = "max(x, y) * z + relu(x) + 0 * y"
    same(verbose_body(expression, {"x": 3, "y": 1, "z": 2}))  # the template is made here
    tie = json.loads(same(verbose_body(expression, {"x": 2, "y": 2, "z": 2})))
    kinks = [step["kink"] for step in tie["backward"] if step["kink"] is not None]
    assert [kink["kind"] for kink in kinks] == ["tie"]
    assert "Kink:" in next(step["rule"] for step in tie["backward"] if step["kink"])
    same(verbose_body(expression, {"x": 0, "y": -1, "z": 2}))  # relu(0): the other kink
    same(verbose_body(expression, {"x": -3, "y": 1, "z": 2}))  # y wins, relu is off
    assert len(verbose_fills) == 5 and len(verbose_templates(expression)) == 1


@pytest.fixture
def rendered(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The ops of the steps whose rule is rendered in full (EvaluateResult.rule)."""
    from app.engine.result import EvaluateResult

    ops: list[str] = []
    rule = EvaluateResult.rule

    def counted(self: EvaluateResult, step: Any, view: Any = None) -> str:
        ops.append(str(self.circuit.nodes[step.node].op))
        return rule(self, step, view)

    monkeypatch.setattr(EvaluateResult, "rule", counted)
    return ops


def test_the_sigmoid_neurons_rules_are_kept_cut_and_filled_with_its_numbers(
    verbose_fills: list[int], rendered: list[str]
) -> None:
    expression = SIGMOID + " + 0 * x1"  # a text of this test's own
    same(verbose_body(expression, COURSE))
    [template] = verbose_templates(expression).values()
    # every rule has a recipe: none is one hole, and its numbers are holes filled with fmt, each
    # pool number once (the upstream 0.1966 of the last three steps: one pool number each)
    assert template.whole == () and all(kept is not None for kept in template.rules)
    assert len(template.captions) == len(set(template.captions)) > 0
    rendered.clear()
    moved = json.loads(same(verbose_body(expression, {**COURSE, "w2": -2.0})))
    assert len(verbose_fills) == 2
    # filled without rendering a rule (same() renders them all once more, in full, to compare)
    assert len(rendered) == len(moved["backward"])
    # w·x + b = 2·-1 + -3·-2 + -2 = 2: σ(2) = 0.8808, its gradient 0.8808·0.1192 = 0.105
    [w1_x1] = [step["rule"] for step in moved["backward"] if "swaps: w1" in step["rule"]]
    assert w1_x1 == (
        "multiply gate swaps: w1 receives x1 · upstream = -2 · 0.105 = -0.21; "
        "x1 receives w1 · upstream = -3 · 0.105 = -0.315"
    )


def test_a_kept_rule_whose_step_says_other_words_is_rendered_in_its_place(
    verbose_fills: list[int], rendered: list[str]
) -> None:
    expression = "relu(x) * max(x, y) + relu(y) + 0 * z"
    same(verbose_body(expression, {"x": 3, "y": 1, "z": 2}))  # x wins, both relus on
    [template] = verbose_templates(expression).values()
    assert template.whole == ()
    fills = []
    # the tie-break is in every caption's key (encode.rule_recipe): another renders every rule
    every = ["add", "add", "mul", "max", "relu", "relu", "mul"]
    for inputs, tie_break, words_change in [
        ({"x": 2, "y": 1.5, "z": 0}, "split", []),  # the same words
        ({"x": 1, "y": 3, "z": 0}, "split", ["max"]),  # y wins
        ({"x": 2, "y": -1, "z": 0}, "split", ["relu"]),  # relu(y) is off
        ({"x": -1, "y": -2, "z": 0}, "split", ["relu", "relu"]),  # the first step and the last
        ({"x": 2, "y": 2, "z": 0}, "split", ["max"]),  # a tie: its kink's words
        ({"x": 2, "y": 2, "z": 0}, "first", every),  # the other tie-break
        ({"x": 0, "y": 1, "z": 0}, "split", ["relu", "max"]),  # relu(0) and y wins
        ({"x": 3, "y": 1, "z": 0}, "first", every),
        ({"x": 3, "y": 1, "z": 0}, "split", []),  # the template's words again
    ]:
        rendered.clear()
        answer = json.loads(
            evaluate_bytes(verbose_body(expression, inputs, tie_break=tie_break), LIMITS)
        )
        assert sorted(rendered) == sorted(words_change), inputs
        fills.append(answer)
        same(verbose_body(expression, inputs, tie_break=tie_break))
    assert len(verbose_fills) == 2 + 2 * 9  # made and checked twice (the echo, none), two each
    assert "Kink:" in next(step["rule"] for step in fills[4]["backward"] if step["op"] == "max")


def test_a_rule_plan_that_does_not_give_the_rule_is_not_kept(
    monkeypatch: pytest.MonkeyPatch, rendered: list[str]
) -> None:
    encode = importlib.import_module("app.engine.encode")

    def wrong(result: Any, step: Any) -> Any:
        recipe = encode.rule_recipe(result, step)
        if recipe is None or result.circuit.nodes[step.node].op != "mul":
            return recipe
        template, calls, order = recipe
        return ("a gate said: " + template, calls, order)

    monkeypatch.setattr(templates_module, "rule_recipe", wrong)
    # the max's step comes before the muls' in the steps (the backward order)
    expression = "a * b + e * a + max(c, d) + 1"
    inputs = {"a": 1, "b": 2, "c": 3, "d": 0, "e": 5}
    same(verbose_body(expression, inputs))  # c wins
    [template] = verbose_templates(expression).values()
    mul_steps = tuple(s for s, kept in enumerate(template.rules) if kept is None)
    [max_step] = [s for s, kept in enumerate(template.rules) if kept and kept[0][2] is not None]
    assert (
        template.whole == mul_steps and len(mul_steps) == 2 and max_step < min(mul_steps)
    )  # the max: its words name the input that won
    rendered.clear()
    evaluate_bytes(verbose_body(expression, {**inputs, "a": 4, "c": 6}), LIMITS)
    assert rendered == ["mul", "mul"]  # the whole rules, and the max still says c won
    rendered.clear()
    evaluate_bytes(verbose_body(expression, {**inputs, "c": 0, "d": 6}), LIMITS)
    assert sorted(rendered) == ["max", "mul", "mul"]  # d wins: the max's other words too
    for moved in ({**inputs, "a": 4, "c": 6}, {**inputs, "c": 0, "d": 6}):
        same(verbose_body(expression, moved))


def test_a_kink_in_a_template_of_plain_words_is_rendered_with_its_words(
    verbose_fills: list[int], rendered: list[str]
) -> None:
    # abs and sqrt choose no words but for a kink: the template's rules say the tie-break alone
    expression = "abs(x) * y + sqrt(y) + 0 * z"
    same(verbose_body(expression, {"x": 2, "y": 4, "z": 0}))
    [template] = verbose_templates(expression).values()
    assert template.plain_words == "split"
    rendered.clear()
    at_kink = json.loads(same(verbose_body(expression, {"x": 0, "y": 4, "z": 0})))
    [abs_rule] = [step["rule"] for step in at_kink["backward"] if step["op"] == "abs"]
    assert "Kink:" in abs_rule and rendered.count("abs") == 2  # the fill's and same()'s
    assert len(verbose_fills) == 2 + 1
    # a template made at the kink says its words: the answer past it says the plain ones
    made_at_kink = "abs(x) * y + sqrt(y) + 1 * z"
    same(verbose_body(made_at_kink, {"x": 0, "y": 4, "z": 0}))
    [template] = verbose_templates(made_at_kink).values()
    assert template.plain_words is None
    past = json.loads(same(verbose_body(made_at_kink, {"x": -2, "y": 4, "z": 0})))
    [abs_rule] = [step["rule"] for step in past["backward"] if step["op"] == "abs"]
    assert "Kink:" not in abs_rule


def test_a_template_of_one_hole_is_filled_too() -> None:
    pick = templates_module._picker((2,))
    assert pick([b"a", b"b", b"c"]) == (b"c",)
    assert templates_module._picker((2, 0))([b"a", b"b", b"c"]) == (b"c", b"a")


@given(st.floats(allow_nan=True, allow_infinity=True))
@example(9999.5)  # %.4g writes 1e+04 there: fmt's exponent form, not the plain one
@example(9999.499999999998)
@example(1e-4)
@example(0.0)
def test_fmt_bytes_is_fmt(x: float) -> None:
    from app.engine.numbers import fmt, fmt_bytes

    assert fmt_bytes(x) == fmt(x).encode()
    assert fmt_bytes(-x) == fmt(-x).encode()


def test_the_verbose_template_is_of_the_whole_answer_with_or_without_the_echo(
    verbose_fills: list[int],
) -> None:
    expression = "x * y + 0 * x + 0 * y + 0"
    inputs = {"x": 3, "y": -4}
    # chosen fields are a small answer, encoded in full: no template
    for parts in (["output", "gradients"], ["edges"]):
        same(verbose_body(expression, inputs, parts=parts))
    chosen = same(verbose_body(expression, inputs, parts=["expression", "output"]))
    assert list(json.loads(chosen)) == ["expression", "output"]
    unechoed = verbose_body(
        expression, inputs, parts=["expression", "output"], echo_expression=False
    )
    assert list(json.loads(same(unechoed))) == ["output"]
    assert verbose_templates(expression) == {} and verbose_fills == []
    # the first request without the echo makes the template of the whole answer (filled twice
    # to check it, with the echo and without), and either kind of request is filled from it
    answer = json.loads(same(verbose_body(expression, inputs, echo_expression=False)))
    assert len(verbose_fills) == 2
    [(key, template)] = verbose_templates(expression).items()
    assert template.unechoed is not None and template.unechoed.startswith(b'{"output":')
    assert key == tuple(int(step["node"][1:]) for step in answer["backward"])  # steps' order
    for echo in (True, False, True):
        same(verbose_body(expression, {"x": 1.5, "y": 2.5}, echo_expression=echo))
    assert len(verbose_fills) == 5
    assert len(verbose_templates(expression)) == templates_module.VERBOSE_TEMPLATES_PER_CIRCUIT == 1


def test_a_non_finite_verbose_answer_is_encoded_in_full(verbose_fills: list[int]) -> None:
    expression = "exp(x) * y + 0 * y + 0"
    for x in (1000, 1000, -1):
        same(verbose_body(expression, {"x": x, "y": 2}))
    assert len(verbose_fills) == 2  # made at x = -1 (and checked); never for the overflow


@pytest.mark.parametrize("verbose", [True, False])
def test_an_infinite_gradient_of_a_finite_value_is_encoded_in_full(verbose: bool) -> None:
    # sqrt at 0: the value is 0, its gradient +Infinity (a singular point of the reference)
    expression = "sqrt(x) * y + 0 * y + 0 * x"
    make = verbose_body if verbose else body
    same(make(expression, {"x": 4, "y": 2}))  # a template is made here
    answer = json.loads(same(make(expression, {"x": 0, "y": 2})))
    grads = answer["gradients"] if verbose else answer["nodes"]["grad"]
    assert "Infinity" in (list(grads.values()) if verbose else grads)


def test_a_verbose_gradient_check_is_encoded_in_full(verbose_fills: list[int]) -> None:
    expression = "x * y + 0 * x + 0 * y + 3"
    for x in (1.5, -2.5, 1.5):
        answer = json.loads(same(verbose_body(expression, {"x": x, "y": 2}, gradcheck=True)))
        assert answer["gradcheck"]["inputs"][0]["analytic"] == 2.0
    assert verbose_fills == [] and verbose_templates(expression) == {}
    same(verbose_body(expression, {"x": 1, "y": 2}))  # without: a template, and no gradcheck
    without = json.loads(same(verbose_body(expression, {"x": 2, "y": 3})))
    assert without["gradcheck"] is None


@pytest.mark.parametrize("nodes", [63, 64, 65])
def test_verbose_templates_are_kept_up_to_64_nodes(nodes: int) -> None:
    expression = chain(nodes)
    for x in (0.5, 0.75, 1.25):
        same(verbose_body(expression, {"x": x}))
    kept = len(verbose_templates(expression))
    assert kept == (1 if nodes <= templates_module.VERBOSE_ROWS_KEPT_MAX_NODES else 0)


def test_a_verbose_template_is_not_filled_from_another_circuit() -> None:
    expression = "a * b + 0 * a + 1"
    same(verbose_body(expression, {"a": 1, "b": 2}))
    [template] = verbose_templates(expression).values()
    other = verbose_body("a * b", {"a": 1, "b": 2})
    from app.engine import evaluate_result

    result = evaluate_result(other["expression"], other["inputs"], limits=LIMITS)
    with pytest.raises(
        ValueError, match="^a verbose template filled from another circuit's steps$"
    ):
        templates_module._fill_verbose(template, result)


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.tuples(FINITE, FINITE, FINITE, FINITE), min_size=2, max_size=4),
    st.sampled_from(["split", "first"]),
)
def test_random_verbose_inputs_in_turn_give_the_full_encoding(
    rows: list[tuple[float, ...]], tie_break: str
) -> None:
    expression = "max(a, b) * relu(c - d) + abs(a) / (1 + exp(-d)) + 0 * b"
    for a, b, c, d in rows:
        inputs = {"a": a, "b": b, "c": c, "d": d}
        answer = json.loads(same(verbose_body(expression, inputs, tie_break=tie_break)))
        expected = max(a, b) * max(c - d, 0.0) + abs(a) / (1 + math.exp(-d)) + 0 * b
        assert math.isclose(answer["output"]["value"], expected, rel_tol=1e-14, abs_tol=1e-300)


def test_the_encoders_defaults_are_the_full_answers_with_the_echo() -> None:
    from app.engine import evaluate_result
    from app.engine.answer_templates import compact_json, verbose_json
    from app.engine.encode import compact, verbose

    expression = "x * y + 0 * x + 0 * y + 2"
    for _ in range(3):  # made, then filled
        result = evaluate_result(
            expression, {"x": 1.5, "y": -2.0}, limits=LIMITS, cache=shared_cache()
        )
        assert verbose_json(result) == dumps(verbose(result))
        assert b'"expression"' in verbose_json(result)
        assert compact_json(result) == dumps(compact(result))
