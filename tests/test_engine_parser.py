"""The expression language: what parses, how stages and forks wire up, and every error class."""

from __future__ import annotations

import pytest

from app.core.errors import LimitError, ProblemError
from app.engine import Limits, ParseLimits, evaluate_result, parse
from tests.engine_result import scalar_output


def error_of(expression: str, limits: ParseLimits | None = None) -> dict:
    with pytest.raises(ProblemError) as caught:
        parse(expression, limits)
    return caught.value.problems[0].as_detail()


@pytest.mark.parametrize(
    ("expression", "inputs", "expected"),
    [
        ("3", {}, 3.0),
        ("-2.5 * x", {"x": 2}, -5.0),
        ("1e-3 * x", {"x": 1000}, 1.0),
        ("+x", {"x": 4}, 4.0),
        ("-x ** 2", {"x": 3}, -9.0),  # ** binds tighter than unary minus, as in Python
        ("2 ** -1", {}, 0.5),
        ("2 ** 3 ** 2", {}, 512.0),  # right-associative
        ("x - y - z", {"x": 10, "y": 3, "z": 2}, 5.0),  # left-associative
        ("x / y / z", {"x": 12, "y": 3, "z": 2}, 2.0),
        ("max(x, y, z) - min(x, y)", {"x": 1, "y": 5, "z": 3}, 4.0),
        ("(x +\n y) * 2", {"x": 1, "y": 2}, 6.0),  # newlines inside brackets are joined
        ("a = x * 2; b = a + 1; b * 3", {"x": 1}, 9.0),
        ("# a comment\na = x  # trailing\nf = a * a\n", {"x": 3}, 9.0),
        ("x ** y", {"x": 2, "y": 3}, 8.0),
        (".5 * x", {"x": 2}, 1.0),
    ],
)
def test_expressions_compute_what_python_would(expression, inputs, expected) -> None:
    assert scalar_output(evaluate_result(expression, inputs)) == pytest.approx(expected, rel=1e-15)


def test_a_name_used_twice_is_one_forking_node() -> None:
    result = evaluate_result("x * x + x", {"x": 3.0})
    nodes = result.circuit.nodes
    inputs = [n for n in nodes if n.kind == "input"]
    assert len(inputs) == 1
    x = inputs[0].id
    assert sum(1 for n in nodes for arg in n.args if arg == x) == 3  # three edges leave x
    assert result.gradients()["x"] == 7.0  # 2x + 1
    sent = [
        contribution
        for s in result.steps
        for arg, contribution in zip(nodes[s.node].args, s.contributions, strict=True)
        if arg == x
    ]
    assert len(sent) == 3 and sum(sent) == 7.0


def test_input_node_finds_an_input_by_name() -> None:
    # bench/tensor.py reads gradients by input name through it
    circuit = parse("y * x + x")
    x, y = circuit.input_node("x"), circuit.input_node("y")
    assert (x.kind, x.name, y.kind, y.name) == ("input", "x", "input", "y")
    assert [n.id for n in circuit.nodes if n.kind == "input"] == [y.id, x.id]  # first use
    with pytest.raises(StopIteration):
        circuit.input_node("z")


def test_running_sum_at_a_fork_is_recorded_per_step() -> None:
    result = evaluate_result("x * x + x", {"x": 3.0})
    nodes = result.circuit.nodes
    x = next(n.id for n in nodes if n.name == "x")
    arrivals = [
        (s.contributions[port], s.accumulated[port])
        for s in result.steps
        for port, arg in enumerate(nodes[s.node].args)
        if arg == x
    ]
    assert arrivals == [(1.0, 1.0), (3.0, 4.0), (3.0, 7.0)]


def test_stages_label_their_wires_and_inputs_keep_first_use_order() -> None:
    result = evaluate_result(
        "dot = w0*x0 + w1*x1 + w2\nf = 1 / (1 + exp(-dot))",
        {"w0": 2, "x0": -1, "w1": -3, "x1": -2, "w2": -3},
    )
    assert list(result.circuit.input_names) == ["w0", "x0", "w1", "x1", "w2"]
    labels = {n.labels[0]: n for n in result.circuit.nodes if n.labels}
    assert result.values[labels["dot"].id] == 1.0
    assert labels["f"].id == result.circuit.output
    span = labels["dot"].span
    assert span is not None
    assert span.as_dict() == {"line": 1, "col": 7, "end_line": 1, "end_col": 25}


def test_forward_lists_every_node_in_topological_order() -> None:
    result = evaluate_result("a = x + y\nb = a * a\nb - x", {"x": 1, "y": 2})
    order = {node.id: i for i, node in enumerate(result.circuit.nodes)}  # the forward order
    for node in result.circuit.nodes:
        for source in node.args:
            assert order[source] < order[node.id]
    steps = [s.node for s in result.steps]
    assert steps == sorted(steps, key=lambda n: -order[n])


def test_a_stage_that_does_not_feed_the_output_is_dropped_with_a_warning() -> None:
    result = evaluate_result("unused = y * 2\nf = x + 1", {"x": 1})
    assert list(result.circuit.input_names) == ["x"]
    assert any("unused" in w["msg"] for w in result.warnings)


# Each construct the language refuses, where, and the whole message (the lexer's and the
# parser's wording, written out here).
PARSE_ERROR_CASES = [
    (
        "x.real",
        1,
        2,
        "attribute access '.real' is not allowed; the only attribute is .T (transpose)",
    ),
    (
        "lambda x: x",
        1,
        1,
        "'lambda': lambdas are not allowed: write the function as a gate expression",
    ),
    ("[x for x in y]", 1, 4, "'for': comprehensions and loops are not allowed"),
    ("'abc' + x", 1, 1, "''': strings are not allowed in a circuit"),
    ('x + "s"', 1, 5, "'\"': strings are not allowed in a circuit"),
    (
        "x if y else z",
        1,
        3,
        "'if': conditionals are not allowed: use max(...), min(...) or relu(...)",
    ),
    ("import os", 1, 1, "'import': imports are not allowed"),
    (
        "foo(x)",
        1,
        1,
        "unknown function 'foo'; the gates you can call are: abs, dot, exp, log, max, mean, min, "
        "relu, reshape, sigmoid, sqrt, sum, tanh, transpose",
    ),
    ("__import__(x)", 1, 1, "dunder names like '__import__' are not allowed"),
    ("exp = x\nexp", 1, 1, "cannot assign to 'exp': it is the name of a gate"),
    ("f = a * 2\na = x", 1, 5, "'a' is used before it is assigned on line 2"),
    ("a = a + 1", 1, 5, "'a' is used in its own definition"),
    ("a = x\na = y\na", 2, 1, "'a' is already assigned on line 1; give each stage its own name"),
    ("x ^ 2", 1, 3, "'^' is not a power operator here: use ** (x**2)"),
    (
        "(x := 3)",
        1,
        4,
        "':=': the walrus operator := is not allowed: write a stage on its own line, "
        "name = expression",
    ),
    ("x +", 1, 4, "the expression ends early: an operand is missing"),
    ("(x + y", 1, 1, "'(' is never closed"),
    ("x + y)", 1, 6, "unmatched ')'"),
    ("x y", 1, 3, "missing operator before 'y' (write * for multiplication)"),
    ("2(x)", 1, 2, "'(' after a value: only gate names can be called"),
    ("max(x)", 1, 1, "max() takes at least 2 arguments, got 1"),
    ("exp(x, y)", 1, 1, "exp() takes 1 argument, got 2"),
    ("exp()", 1, 5, "exp() needs 1 argument"),
    # sum's optional axis is a constant: an input in its place is a second argument
    ("sum(x, y)", 1, 1, "sum() takes 1 argument, got 2"),
    ("x, y", 1, 2, "a ',' outside a function call: tuples are not allowed"),
    # a '.' as the last token: no attribute follows it
    ("x.", 1, 2, "attribute access '.' is not allowed; the only attribute is .T (transpose)"),
    # a non-ASCII letter right after a name, on line 2: its column counts from that line
    (
        "a = 1\nx\u00e9",
        2,
        2,
        "unexpected character '\u00e9' (U+00E9 LATIN SMALL LETTER E WITH ACUTE): "
        "names and operators must be ASCII",
    ),
    # a stage with nothing after its '='
    ("a =\na", 1, 3, "'a =' needs an expression after '='"),
    # a ']' with no '[' open, after a value
    ("x ]", 1, 3, "unexpected ']'"),
    # inside parentheses that are no call: still a tuple
    ("(x, y)", 1, 3, "a ',' outside a function call: tuples are not allowed"),
    (
        "x + 1\ny",
        1,
        1,
        "only the last statement may be a bare expression; name this stage: name = expression",
    ),
    (
        "1 = x",
        1,
        3,
        "'=' may only follow a stage name at the start of a statement: name = expression",
    ),
    ("x % 2", 1, 3, "'%': the modulo operator % is not a gate"),
    ("x == y", 1, 3, "'==': comparisons are not gates"),
    ("x − y", 1, 3, "unexpected character '−' (U+2212 MINUS SIGN): use the ASCII minus sign -"),
    (
        "x × y",
        1,
        3,
        "unexpected character '×' (U+00D7 MULTIPLICATION SIGN): use * for multiplication",
    ),
    (
        "ｘ + 1",
        1,
        1,
        "unexpected character 'ｘ' (U+FF58 FULLWIDTH LATIN SMALL LETTER X): "
        "names and operators must be ASCII",
    ),
    ("1.2.3", 1, 4, "missing operator before '.3' (write * for multiplication)"),
    ("12abc", 1, 1, "malformed number '12a'"),
    ("12_", 1, 1, "malformed number '12_'"),  # an underscore is not a digit separator here
    ("exp", 1, 1, "'exp' is a gate: call it, as in exp(x)"),
    ("", 1, 1, "the expression is empty"),
    ("   # only a comment", 1, 1, "the expression is empty"),
    ("True * x", 1, 1, "'True': booleans are not numbers here: use 1 or 0"),
    ("{x}", 1, 1, "'{': dicts and sets are not allowed in a circuit"),
    # a non-ASCII letter right after an ASCII name, at its own column
    (
        "xé + 1",
        1,
        2,
        "unexpected character 'é' (U+00E9 LATIN SMALL LETTER E WITH ACUTE): "
        "names and operators must be ASCII",
    ),
    # ... checked before the name itself: 'import' would be refused at col 1
    (
        "importé",
        1,
        7,
        "unexpected character 'é' (U+00E9 LATIN SMALL LETTER E WITH ACUTE): "
        "names and operators must be ASCII",
    ),
    # a newline inside brackets joins the lines, but columns count from the new line
    ("(x +\n y) ^ 2", 2, 5, "'^' is not a power operator here: use ** (x**2)"),
]


@pytest.mark.parametrize(("expression", "line", "col", "message"), PARSE_ERROR_CASES)
def test_every_unsupported_construct_is_named_with_its_position(
    expression, line, col, message
) -> None:
    # the excerpt is the error's line (all short here), the caret under its column
    kind = "empty_expression" if message == "the expression is empty" else "parse_error"
    assert error_of(expression) == {
        "type": kind,
        "loc": ["body", "expression"],
        "msg": f"line {line}, col {col}: {message}",
        "line": line,
        "col": col,
        "excerpt": expression.split("\n")[line - 1],
        "caret": " " * (col - 1) + "^",
    }


def test_error_position_on_a_later_line() -> None:
    detail = error_of("a = x + 1\nb = a *\nb")
    assert (detail["line"], detail["col"]) == (2, 8)
    assert detail["excerpt"] == "b = a *"


@pytest.mark.parametrize(
    ("expression", "limits", "what", "got", "limit", "setting"),
    [
        # the 11th of 50 additions is one gate too many
        ("x" + " + x" * 50, ParseLimits(max_gates=10), "the number of gates", 11, 10, "max_gates"),
        # the 21st '(' or call is one level too deep
        (
            "(" * 30 + "x" + ")" * 30,
            ParseLimits(max_nesting_depth=20),
            "the nesting depth",
            21,
            20,
            "max_nesting_depth",
        ),
        (
            "exp(" * 30 + "x" + ")" * 30,
            ParseLimits(max_nesting_depth=20),
            "the nesting depth",
            21,
            20,
            "max_nesting_depth",
        ),
        (
            "x" * 101,
            ParseLimits(max_expression_chars=100),
            "the expression's length",
            101,
            100,
            "max_expression_chars",
        ),
        # v0 ... v11: the 11th name is one input too many
        (
            " + ".join(f"v{i}" for i in range(12)),
            ParseLimits(max_inputs=10),
            "the number of inputs",
            11,
            10,
            "max_inputs",
        ),
        # 80 digits against the default 64
        ("1" * 80, ParseLimits(), "a number literal's length", 80, 64, "max_literal_chars"),
        # 12 stages and the final expression: 13 statements
        (
            "\n".join(f"a{i} = x" for i in range(12)) + "\nx",
            ParseLimits(max_statements=10),
            "the number of statements",
            13,
            10,
            "max_statements",
        ),
    ],
)
def test_every_parse_limit_states_itself(expression, limits, what, got, limit, setting) -> None:
    with pytest.raises(LimitError) as caught:
        parse(expression, limits)
    assert caught.value.status == 413
    (problem,) = caught.value.problems
    assert problem.as_detail() == {
        "type": "limit_exceeded",
        "loc": ["body", "expression"],
        "msg": f"{what} is {got}, over the limit of {limit} (setting BPC_{setting.upper()})",
        "limit": limit,
        "got": got,
        "setting": setting,
    }


def test_huge_float_literal_is_rejected_not_infinite() -> None:
    assert error_of("1e999 * x") == whole_error(
        1, 1, "the number 1e999 is too large for float64", "1e999 * x", "^"
    )


def test_100000_gate_sum_and_chain_run_without_recursion_error() -> None:
    big = Limits().but(
        max_expression_chars=10**7,
        max_gates=200_000,
        max_statements=200_000,
        max_work=10**12,
        max_answer_bytes=10**11,
        max_memory_bytes=10**12,
    )
    n = 100_000
    result = evaluate_result(" + ".join(["x"] * (n + 1)), {"x": 1.0}, limits=big)
    assert scalar_output(result) == n + 1
    assert result.gradients()["x"] == n + 1
    assert len(result.steps) == n
    chain = "\n".join(["a0 = x"] + [f"a{i} = a{i - 1} * 1.00001" for i in range(1, n)])
    result = evaluate_result(chain, {"x": 1.0}, limits=big)
    assert result.gradients()["x"] == pytest.approx(1.00001 ** (n - 1), rel=1e-9)
    negations = evaluate_result("-" * n + "x", {"x": 2.0}, limits=big)
    assert scalar_output(negations) == 2.0 and negations.gradients()["x"] == 1.0


def whole_error(line: int, col: int, msg: str, excerpt: str, caret: str) -> dict:
    """A parse error's whole detail, as the API sends it."""
    return {
        "type": "parse_error",
        "loc": ["body", "expression"],
        "msg": f"line {line}, col {col}: {msg}",
        "line": line,
        "col": col,
        "excerpt": excerpt,
        "caret": caret,
    }


@pytest.mark.parametrize(
    ("expression", "col", "msg"),
    [
        # U+2212, U+00D7 and U+00F7 by their Unicode names, each with the ASCII to type instead
        ("x − y", 3, "unexpected character '−' (U+2212 MINUS SIGN): use the ASCII minus sign -"),
        (
            "x × y",
            3,
            "unexpected character '×' (U+00D7 MULTIPLICATION SIGN): use * for multiplication",
        ),
        ("x ÷ y", 3, "unexpected character '÷' (U+00F7 DIVISION SIGN): use / for division"),
        (
            "ｘ + 1",
            1,
            "unexpected character 'ｘ' (U+FF58 FULLWIDTH LATIN SMALL LETTER X): "
            "names and operators must be ASCII",
        ),
    ],
)
def test_a_non_ascii_character_is_named_with_its_code_point_and_what_to_type(
    expression: str, col: int, msg: str
) -> None:
    # the excerpt is the line itself; the caret has col - 1 spaces before it
    assert error_of(expression) == whole_error(1, col, msg, expression, " " * (col - 1) + "^")


def test_a_control_character_has_no_name_and_is_shown_as_a_space() -> None:
    # U+0001 has no Unicode name, and it is ASCII: no hint; the excerpt shows a space for it so
    # the caret stays under its column
    detail = error_of("x \x01 y")
    assert detail == whole_error(
        1, 3, "unexpected character '\\x01' (U+0001 unnamed character)", "x   y", "  ^"
    )


@pytest.mark.parametrize(
    ("expression", "col", "msg"),
    [
        ("x + )", 5, "empty parentheses, or ')' where a value should be"),
        ("()", 2, "empty parentheses, or ')' where a value should be"),
        ("[1, 2]", 1, "list literals are not allowed: pass vectors and matrices as inputs"),
        (
            "foo(x)",
            1,
            "unknown function 'foo'; the gates you can call are: abs, dot, exp, log, max, "
            "mean, min, relu, reshape, sigmoid, sqrt, sum, tanh, transpose",
        ),
        # a call's '(' as the last token: a call with no argument, or an unknown name
        ("x + exp(", 9, "the expression ends early: an operand is missing"),
        (
            "foo(",
            1,
            "unknown function 'foo'; the gates you can call are: abs, dot, exp, log, max, "
            "mean, min, relu, reshape, sigmoid, sqrt, sum, tanh, transpose",
        ),
    ],
)
def test_a_missing_operand_or_an_unknown_call_is_said_whole(
    expression: str, col: int, msg: str
) -> None:
    assert error_of(expression) == whole_error(1, col, msg, expression, " " * (col - 1) + "^")


def test_a_long_line_is_excerpted_40_characters_either_side_of_the_error() -> None:
    # 12 "x + " (48 characters), then "x ^ 2" puts '^' at index 50, col 51; 12 " + x" follow:
    # 101 characters. The excerpt starts at col 51 - 40 = index 11 and ends before index
    # 51 + 40 = 91; the caret has 51 - 1 - 11 = 39 spaces before it.
    line = "x + " * 12 + "x ^ 2" + " + x" * 12
    assert len(line) == 101 and line[50] == "^"
    detail = error_of("a = 1\n" + line)
    msg = "'^' is not a power operator here: use ** (x**2)"
    assert detail == whole_error(2, 51, msg, line[11:91], " " * 39 + "^")
    assert len(detail["excerpt"]) == 80


def spans(source: str) -> list[tuple[str | None, dict | None]]:
    """Each node's kind or op, with its source span."""
    return [
        (node.op or node.kind, node.span.as_dict() if node.span else None)
        for node in parse(source).nodes
    ]


def span(line: int, col: int, end_line: int, end_col: int) -> dict:
    return {"line": line, "col": col, "end_line": end_line, "end_col": end_col}


def test_constants_and_unary_signs_keep_their_source_spans() -> None:
    # "2 * +x": 2 is cols 1-2 (end exclusive), "+x" cols 5-7 (x alone 6-7), the product 1-7
    assert spans("2 * +x") == [
        ("const", span(1, 1, 1, 2)),
        ("input", span(1, 6, 1, 7)),
        ("mul", span(1, 1, 1, 7)),
    ]
    # "+x * 2": the product starts at the '+'
    assert spans("+x * 2") == [
        ("input", span(1, 2, 1, 3)),
        ("const", span(1, 6, 1, 7)),
        ("mul", span(1, 1, 1, 7)),
    ]
    # on line 2, "y * -25": the literal -25 is one constant from its '-' (col 5) to col 8
    circuit = parse("a = 1\ny * -25")
    assert [(n.kind, n.const) for n in circuit.nodes] == [
        ("input", None),
        ("const", -25.0),
        ("gate", None),
    ]
    assert [n.span.as_dict() if n.span else None for n in circuit.nodes] == [
        span(2, 1, 2, 2),
        span(2, 5, 2, 8),
        span(2, 1, 2, 8),
    ]


def test_stages_that_do_not_feed_the_output_are_dropped_and_the_rest_renumbered() -> None:
    # made in order: x 0, 2 1, a = x*2 2, y 3, 1 4, b = y+1 5, 3 6, c = a*3 7. The output c
    # reads a and 3, a reads x and 2: b, its y and its 1 go, and 3 and c move down to 3 and 4.
    circuit = parse("a = x * 2\nb = y + 1\nc = a * 3\nc")
    assert [(n.id, n.kind, n.op, n.args) for n in circuit.nodes] == [
        (0, "input", None, ()),
        (1, "const", None, ()),
        (2, "gate", "mul", (0, 1)),
        (3, "const", None, ()),
        (4, "gate", "mul", (2, 3)),
    ]
    assert (circuit.output, circuit.input_names) == (4, ["x"])
    assert circuit.warnings == [
        {"node": None, "msg": "stage 'b' (line 2) does not feed the output and is left out"},
        {"node": None, "msg": "input 'y' only feeds stages that are left out"},
    ]
    # a constant stage an index reads by value is used: no warning
    assert parse("k = 1\nv[k]").warnings == []
    # nothing dropped: no warning either
    assert parse("a = x * 2\na + 1").warnings == []


def test_a_constant_alone_in_sum_is_its_input_not_its_axis() -> None:
    # sum(3): the 3 is what is summed (a gate needs its one input before any axis), so the
    # sum of the scalar 3 is 3; sum(x, 0) takes 0 as the axis
    circuit = parse("sum(3)")
    assert [(n.kind, n.op, n.const) for n in circuit.nodes] == [
        ("const", None, 3.0),
        ("gate", "sum", ()),
    ]
    assert scalar_output(evaluate_result("sum(3) * x", {"x": 2.0})) == 6.0
    circuit = parse("sum(x, 0)")
    assert [(n.kind, n.op, n.const) for n in circuit.nodes] == [
        ("input", None, None),
        ("gate", "sum", (0.0,)),
    ]


def test_a_newline_inside_nested_brackets_is_joined_until_the_last_one_closes() -> None:
    # one ')' of two closed: still inside the outer '(', so the newline joins x + y
    circuit = parse("((x)\n+ y)")
    assert [node.op for node in circuit.nodes] == [None, None, "add"]
    assert circuit.input_names == ["x", "y"]
