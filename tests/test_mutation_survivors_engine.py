"""Tests that kill mutmut survivors in app/engine: every expected value is worked out by hand."""

from __future__ import annotations

import math
from typing import Any

import pytest

from app.core.errors import LimitError, ProblemError
from app.core.limits import Limits
from app.engine import evaluate, evaluate_job, evaluate_result
from app.engine.builder import ParseLimits
from app.engine.cache import ParseCache, Parsed, shared_cache
from app.engine.cost import W_BASE_REUSED, W_RECORD, W_RECORD_REUSED, estimate
from app.engine.gates import Kink
from app.engine.parser import parse
from app.engine.result import EvaluateResult
from tests.engine_result import step_for


def kink_of(result: EvaluateResult, op: str) -> Kink:
    kink = step_for(result, op).kink
    assert kink is not None
    return kink


def test_a_tensor_kink_counts_the_elements_at_the_kink() -> None:
    # relu at [0, 0, 1]: the first two elements sit exactly at relu's kink, the third does not.
    kink = kink_of(evaluate_result("sum(relu(x))", {"x": [0.0, 0.0, 1.0]}), "relu")
    assert (kink.kind, kink.count) == ("relu0", 2)
    # max(a, b) with a = [1, 2, 3], b = [1, 2, 0]: elements 0 and 1 are ties, element 2 is not.
    result = evaluate_result("sum(max(a, b))", {"a": [1.0, 2.0, 3.0], "b": [1.0, 2.0, 0.0]})
    kink = kink_of(result, "max")
    assert (kink.kind, kink.count) == ("tie", 2)


@pytest.mark.parametrize(
    ("expression", "x", "grad"),
    [
        ("x ** 0.5", 4.0, 0.25),  # 0.5 * 4^-0.5 = 0.5 / 2
        ("x ** 1.5", 4.0, 3.0),  # 1.5 * 4^0.5 = 1.5 * 2
        ("x ** 1", 3.0, 1.0),  # 1 * 3^0
        ("x ** 3", 2.0, 12.0),  # 3 * 2^2
        ("x ** 0", 5.0, 0.0),  # 0 * 5^-1
    ],
)
def test_power_by_a_constant_scalar(expression: str, x: float, grad: float) -> None:
    assert evaluate_result(expression, {"x": x}).gradients() == {"x": grad}


def test_power_by_a_constant_on_a_tensor_keeps_the_local_gradient_elementwise() -> None:
    # d/dx x**0 = 0 and d/dx x**0.5 = 0.5/sqrt(x), one local gradient per element.
    result = evaluate_result("sum(x ** 0)", {"x": [1.0, 2.0]})
    assert step_for(result, "pow").local[0].tolist() == [0.0, 0.0]
    result = evaluate_result("sum(x ** 0.5)", {"x": [4.0, 0.25]})
    assert result.gradients()["x"].tolist() == [0.25, 1.0]  # 0.5/2 and 0.5/0.5
    assert list(result.gradients()) == ["x"]


def test_power_with_an_exponent_of_one() -> None:
    # d/dx x**y = y*x**(y-1) = 1*2**0 = 1; d/dy x**y = x**y * ln x = 2*ln 2.
    grads = evaluate_result("x ** y", {"x": 2.0, "y": 1.0}).gradients()
    assert grads["x"] == 1.0
    assert grads["y"] == pytest.approx(2 * math.log(2), rel=1e-15)


def rule_of(expression: str, inputs: dict[str, Any], op: str) -> str:
    result = evaluate_result(expression, inputs)
    return result.rule(step_for(result, op))


def test_relu_captions_for_a_positive_a_zero_and_a_tensor_input() -> None:
    # relu passes the upstream gradient only where its input is > 0; at exactly 0 it blocks
    # (PyTorch's relu'(0) = 0). With 2 * relu(x) the upstream gradient of relu is 2.
    assert rule_of("2 * relu(x)", {"x": 0.5}, "relu").startswith(
        "relu gate passes the gradient 2 through: its input 0.5 > 0"
    )
    assert rule_of("2 * relu(x)", {"x": 0.0}, "relu").startswith(
        "relu gate blocks the gradient: its input 0 ≤ 0, so x gets 0"
    )
    assert rule_of("sum(relu(x))", {"x": [0.0, 1.0]}, "relu").startswith(
        "relu gate routes the gradient through where the input was positive, 0 elsewhere"
    )


def test_max_of_scalars_on_the_numpy_path_names_its_winner() -> None:
    # sum(v) = 1 + 2 = 3 > w = 0, so max sends its upstream 1 to sum(v). The tensor input v
    # puts the whole circuit on the numpy path, where max's inputs are 0-d arrays, not floats;
    # the caption must still be the scalar one.
    assert rule_of("max(sum(v), w)", {"v": [1.0, 2.0], "w": 0.0}, "max") == (
        "max gate routes the gradient 1 to sum(v), the larger input; w gets 0"
    )


def test_max_captions_for_a_nan_input_and_a_tie_with_no_loser() -> None:
    # sqrt(-1) is NaN and max(NaN, 0) is NaN (numpy propagates it): no input equals the output.
    assert rule_of("max(sqrt(x), y)", {"x": -1.0, "y": 0.0}, "max") == (
        "max gate's output is NaN: no input won, so every input gets 0"
    )
    # z = w = 1 tie and nobody loses: each gets 1/2 of the upstream 1, and the sentence ends there.
    assert rule_of("max(z, w)", {"z": 1.0, "w": 1.0}, "max").startswith(
        "max gate has a tie at 1 between z and w: it splits the gradient 1: z gets 0.5, w gets 0.5. "
    )
    # A three-way tie lists all three names, the last after "and".
    assert rule_of("max(a, b, c)", {"a": 1.0, "b": 1.0, "c": 1.0}, "max").startswith(
        "max gate has a tie at 1 between a, b and c: "
    )


# Survivors of the whole-package run (session 10): the parser's nesting-depth error, the arity
# sentence, the parse cache's get, and the axis a broadcast error names.


def only_detail(error: pytest.ExceptionInfo[ProblemError]) -> dict[str, Any]:
    (problem,) = error.value.problems
    return problem.as_detail()


@pytest.mark.parametrize(
    ("at_n", "over"),
    [
        ("(((x)))", "((((x))))"),  # parentheses
        ("exp(exp(exp(x)))", "exp(exp(exp(exp(x))))"),  # calls
        ("exp((exp(x)))", "exp((exp((x))))"),  # both kinds count
    ],
)
def test_the_nesting_depth_error_at_n_plus_one_names_itself_its_limit_and_the_expression(
    at_n: str, over: str
) -> None:
    limits = ParseLimits(max_nesting_depth=3)
    # Depth 3 is accepted: the circuit's output is x, under as many exp gates as were written.
    circuit = parse(at_n, limits)
    assert [node.op for node in circuit.nodes] == [None] + ["exp"] * at_n.count("exp")
    assert circuit.output == len(circuit.nodes) - 1
    with pytest.raises(LimitError) as error:
        parse(over, limits)
    assert only_detail(error) == {
        "type": "limit_exceeded",
        "loc": ["body", "expression"],
        "msg": "the nesting depth is 4, over the limit of 3 (setting BPC_MAX_NESTING_DEPTH)",
        "limit": 3,
        "got": 4,
        "setting": "max_nesting_depth",
    }


@pytest.mark.parametrize(
    ("source", "needs"),
    [
        ("dot()", "dot() needs 2 arguments"),  # arity (2, 2)
        ("exp()", "exp() needs 1 argument"),  # arity (1, 1)
        ("max()", "max() needs at least 2 arguments"),  # arity (2, None)
    ],
)
def test_an_empty_call_says_how_many_arguments_the_gate_takes(source: str, needs: str) -> None:
    with pytest.raises(ProblemError) as error:
        parse(source)
    assert only_detail(error)["msg"] == f"line 1, col {len(source)}: {needs}"


def test_the_parse_cache_get_answers_the_parsed_circuit_hit_or_miss() -> None:
    cache = ParseCache(size=4)
    first = cache.get("x * y", ParseLimits())
    assert isinstance(first, Parsed)
    assert [node.op for node in first.circuit.nodes] == [None, None, "mul"]
    assert (cache.hits, cache.misses) == (0, 1)
    assert cache.get("x * y", ParseLimits()) is first
    assert (cache.hits, cache.misses) == (1, 1)


@pytest.mark.parametrize(
    ("x_shape", "y_shape", "axis_text"),
    [
        # x is 2×3, y is 4×3: counted from the right, axis 1 agrees (3 and 3), axis 2 has 2 and 4.
        ((2, 3), (4, 3), "axis 2 has 2 and 4, and neither is 1"),
        ((4, 3), (2, 3), "axis 2 has 4 and 2, and neither is 1"),
        # x is 2×3, y is 2×4: the last axis already clashes.
        ((2, 3), (2, 4), "axis 1 has 3 and 4, and neither is 1"),
        # 2×3 and 4×5 clash on both axes: the first from the right is named.
        ((2, 3), (4, 5), "axis 1 has 3 and 5, and neither is 1"),
    ],
)
def test_a_broadcast_error_names_the_first_axis_from_the_right_that_clashes(
    x_shape: tuple[int, int], y_shape: tuple[int, int], axis_text: str
) -> None:
    def zeros(shape: tuple[int, int]) -> list[list[float]]:
        return [[0.0] * shape[1] for _ in range(shape[0])]

    with pytest.raises(ProblemError) as error:
        evaluate_result("x + y", {"x": zeros(x_shape), "y": zeros(y_shape)})
    detail = only_detail(error)
    assert detail["msg"] == (
        f"line 1, col 1: x + y: shapes do not broadcast, x is ({x_shape[0]},{x_shape[1]}) and "
        f"y is ({y_shape[0]},{y_shape[1]}): counted from the right, {axis_text}"
    )
    assert detail["shapes"] == [list(x_shape), list(y_shape)]


# Survivors of the app/engine run (session 12): evaluate()'s defaults and limits, the gradient
# check's count of input elements, and the parse cache's clear.


def test_evaluate_defaults_to_upstream_1_and_no_gradient_check() -> None:
    # x * y at x = 2, y = 3 seeded with 1: dx = y = 3, dy = x = 2
    report = evaluate("x * y", {"x": 2.0, "y": 3.0})
    assert report["gradients"] == {"x": 3.0, "y": 2.0}
    assert report["gradcheck"] is None
    # asked for, the check nudges each input by the default h = 1e-5
    checked = evaluate("x * y", {"x": 2.0, "y": 3.0}, gradcheck_=True)
    assert checked["gradcheck"]["h"] == 1e-5


def test_evaluate_applies_the_limits_it_is_given() -> None:
    # x * y + x is two gates: over a limit of one
    with pytest.raises(LimitError) as error:
        evaluate("x * y + x", {"x": 2.0, "y": 3.0}, limits=Limits().but(max_gates=1))
    assert only_detail(error) == {
        "type": "limit_exceeded",
        "loc": ["body", "expression"],
        "msg": "the number of gates is 2, over the limit of 1 (setting BPC_MAX_GATES)",
        "limit": 1,
        "got": 2,
        "setting": "max_gates",
    }


def test_the_gradient_check_counts_every_element_of_a_tensor_input() -> None:
    # sum(x) with x of 3 elements: 2 nodes (x, sum), so 2 × 3 × 2 = 12 gate evaluations
    inputs = {"x": [1.0, 2.0, 3.0]}
    checked = evaluate_result(
        "sum(x)", inputs, gradcheck_=True, limits=Limits().but(gradcheck_max_evals=12)
    )
    assert checked.gradcheck is not None and checked.gradcheck["passed"] is True
    with pytest.raises(LimitError) as error:
        evaluate_result(
            "sum(x)", inputs, gradcheck_=True, limits=Limits().but(gradcheck_max_evals=11)
        )
    assert only_detail(error) == {
        "type": "limit_exceeded",
        "loc": ["body", "gradcheck"],
        "msg": "the gradient check's work (2 × input elements × nodes) is 12, over the limit of "
        "11 (setting BPC_GRADCHECK_MAX_EVALS)",
        "limit": 11,
        "got": 12,
        "setting": "gradcheck_max_evals",
    }


def test_a_cleared_parse_cache_counts_its_nodes_from_zero() -> None:
    # "x * y" is 3 nodes (x, y, the product): exactly max_nodes, so it stays cached
    cache = ParseCache(size=4, max_nodes=3)
    cache.get("x * y", ParseLimits())
    cache.clear()
    assert cache.nodes == 0
    cache.get("x * y", ParseLimits())  # parsed again: the cache forgot it
    assert (cache.hits, cache.misses, cache.nodes) == (0, 2, 3)
    cache.get("x * y", ParseLimits())
    assert (cache.hits, cache.misses, cache.nodes) == (1, 2, 3)


def test_evaluate_job_defaults_to_the_whole_verbose_answer_without_a_gradient_check() -> None:
    # x * y at x = 2, y = 3: dx = y = 3, dy = x = 2; the expression echoed, no check
    answer = evaluate_job({"expression": "x * y", "inputs": {"x": 2.0, "y": 3.0}}, Limits())
    assert answer["expression"] == "x * y"
    assert answer["gradients"] == {"x": 3.0, "y": 2.0}
    assert answer["gradcheck"] is None
    # asked for, the check nudges by the default h = 1e-5
    request = {"expression": "x * y", "inputs": {"x": 2.0, "y": 3.0}, "gradcheck": True}
    assert evaluate_job(request, Limits())["gradcheck"]["h"] == 1e-5


def test_evaluate_job_refuses_parts_of_the_compact_answer() -> None:
    request = {"expression": "x", "inputs": {"x": 1.0}, "parts": ["output"], "format": "compact"}
    with pytest.raises(ProblemError) as error:
        evaluate_job(request, Limits())
    assert only_detail(error) == {
        "type": "value_error",
        "loc": ["body", "parts"],
        "msg": "parts chooses fields of the verbose answer; the compact answer's columns refer "
        'to each other and are sent whole: use "format": "verbose" with parts, or leave parts '
        "out",
    }


def test_evaluate_job_charges_a_compact_re_evaluation_as_reused() -> None:
    # x + x + ... (21 terms): 21 nodes (x and 20 additions) and 40 edges. A compact answer of a
    # circuit the process parsed before costs W_RECORD_REUSED per node and edge and
    # W_BASE_REUSED once instead of W_RECORD per node and edge: 61 x 17,000 - 500,000 = 537,000
    # less work. A comment makes the text (the cache's key) this test's own.
    expression = "# evaluate_job's reused cost\n" + "x" + " + x" * 20
    circuit = parse(expression)
    assert (len(circuit.nodes), sum(len(n.args) for n in circuit.nodes)) == (21, 40)
    fresh = estimate(circuit, [()] * 21, len(expression), False)
    reused = estimate(circuit, [()] * 21, len(expression), False, None, True)
    assert fresh.work - reused.work == 61 * (W_RECORD - W_RECORD_REUSED) - W_BASE_REUSED
    limits = Limits().but(max_work=fresh.work - 1)
    request = {"expression": expression, "inputs": {"x": 0.5}, "format": "compact"}
    shared_cache().clear()  # a first request, even when this test runs again in one process
    with pytest.raises(LimitError) as error:  # the first request parses: charged in full
        evaluate_job(request, limits)
    assert only_detail(error)["got"] == fresh.work
    answer = evaluate_job(request, limits)  # the parse is cached: charged as reused
    assert answer["format"] == "compact"
    # a verbose answer is never charged as reused
    with pytest.raises(LimitError):
        evaluate_job({**request, "format": "verbose"}, limits)


def test_the_parse_cache_says_hit_or_miss_and_keeps_what_fits() -> None:
    cache = ParseCache(size=4, max_nodes=3)
    parsed, hit = cache.lookup("x", ParseLimits())  # 1 node
    assert hit is False
    assert cache.lookup("x", ParseLimits()) == (parsed, True)
    # a + b + c is 5 nodes, more than max_nodes: answered, not kept, and x stays
    assert cache.lookup("a + b + c", ParseLimits())[1] is False
    assert cache.nodes == 1
    assert cache.lookup("a + b + c", ParseLimits())[1] is False
    assert cache.lookup("x", ParseLimits())[1] is True
    assert (cache.hits, cache.misses) == (2, 3)


def test_a_parse_cache_of_one_entry_keeps_the_last_circuit() -> None:
    cache = ParseCache(size=1)
    cache.get("x", ParseLimits())
    assert cache.lookup("x", ParseLimits())[1] is True
    cache.get("y", ParseLimits())  # evicts x
    assert cache.lookup("y", ParseLimits())[1] is True
    assert cache.lookup("x", ParseLimits())[1] is False


def test_evaluate_result_refuses_an_unknown_tie_break_by_name() -> None:
    # the API's schema refuses it first; a Python caller gets the engine's own 422
    with pytest.raises(ProblemError) as error:
        evaluate_result("max(x, y)", {"x": 1.0, "y": 1.0}, tie_break="last")
    assert only_detail(error) == {
        "type": "value_error",
        "loc": ["body", "tie_break"],
        "msg": "tie_break must be one of split, first",
    }


def test_evaluate_result_charges_as_reused_only_a_compact_answer_of_a_cached_parse() -> None:
    # the circuit of the test above: 21 nodes and 40 edges, cheaper by 537,000 when reused
    expression = "# evaluate_result's reused cost\n" + "x" + " + x" * 20
    circuit = parse(expression)
    fresh = estimate(circuit, [()] * 21, len(expression), False)
    reused = estimate(circuit, [()] * 21, len(expression), False, None, True)
    limits = Limits().but(max_work=fresh.work - 1)
    assert reused.work < fresh.work - 1
    inputs = {"x": 0.5}
    # compact, without a cache: parsed afresh, charged in full
    with pytest.raises(LimitError) as error:
        evaluate_result(expression, inputs, limits=limits, compact=True)
    assert only_detail(error) == {
        "type": "limit_exceeded",
        "loc": ["body", "expression"],
        "msg": f"the predicted work (element operations) is {fresh.work}, over the limit of "
        f"{fresh.work - 1} (setting BPC_MAX_WORK)",
        "limit": fresh.work - 1,
        "got": fresh.work,
        "setting": "max_work",
    }
    cache = ParseCache(size=4)
    with pytest.raises(LimitError) as error:  # a miss: the parse is kept, charged in full
        evaluate_result(expression, inputs, limits=limits, cache=cache, compact=True)
    assert only_detail(error)["got"] == fresh.work
    # a hit, but the answer is verbose by default: charged in full
    with pytest.raises(LimitError) as error:
        evaluate_result(expression, inputs, limits=limits, cache=cache)
    assert only_detail(error)["got"] == fresh.work
    # a hit for a compact answer: charged as reused, under the limit
    result = evaluate_result(expression, inputs, limits=limits, cache=cache, compact=True)
    assert result.values[result.circuit.output] == 21 * 0.5
    assert result.gradients() == {"x": 21.0}  # 21 terms of x


@pytest.mark.parametrize(
    ("at_n", "over"),
    [
        ("((x)) + ((y))", "((x)) + (((y)))"),  # parentheses
        ("exp(exp(x)) + exp(exp(y))", "exp(exp(x)) + exp(exp(exp(y)))"),  # calls
    ],
)
def test_each_closing_parenthesis_takes_one_level_off_the_nesting_depth(
    at_n: str, over: str
) -> None:
    # two nests of depth 2 one after the other are depth 2, not 4; a third level is over
    limits = ParseLimits(max_nesting_depth=2)
    circuit = parse(at_n, limits)
    assert [node.op for node in circuit.nodes] == (
        [None]
        + ["exp"] * (at_n.count("exp") // 2)
        + [None]
        + ["exp"] * (at_n.count("exp") // 2)
        + ["add"]
    )
    with pytest.raises(LimitError) as error:
        parse(over, limits)
    assert only_detail(error) == {
        "type": "limit_exceeded",
        "loc": ["body", "expression"],
        "msg": "the nesting depth is 3, over the limit of 2 (setting BPC_MAX_NESTING_DEPTH)",
        "limit": 2,
        "got": 3,
        "setting": "max_nesting_depth",
    }
