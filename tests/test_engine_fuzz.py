"""Random text never crashes the engine: it evaluates, or it is a ProblemError with a position."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from app.core.errors import ProblemError
from app.engine import evaluate_result, parse
from app.engine.encode import compact, verbose

PIECES = [
    "x",
    "y",
    "W",
    "s",
    "0",
    "1",
    "2.5",
    "-",
    "+",
    "*",
    "/",
    "**",
    "@",
    "(",
    ")",
    "[",
    "]",
    ",",
    ":",
    ";",
    "=",
    ".T",
    "\n",
    " ",
    "max(",
    "exp(",
    "relu(",
    "sum(",
    "reshape(",
    "abs(",
    "log(",
    "sqrt(",
    "sigmoid(",
    "tanh(",
    "min(",
    "dot(",
    "transpose(",
    "mean(",
    "a = ",
    "#",
    "1e308",
    "0.0",
    "s[y]",
    "W[:, 0]",
    "-1",
    "^",
    "'",
    "é",
    "lambda",
    "__x",
]
VALUES = {
    "x": 1.5,
    "y": 1,
    "W": [[1.0, -2.0], [0.5, 3.0]],
    "s": [1.0, 2.0, 0.5],
    "a": 2.0,
}


def _run(text: str) -> None:
    try:
        circuit = parse(text)
        inputs = {name: VALUES.get(name, 0.5) for name in circuit.input_names}
        result = evaluate_result(text, inputs, gradcheck_=True)
    except ProblemError as error:
        for problem in error.problems:
            detail = problem.as_detail()
            assert detail["msg"]
            if detail["type"] in ("parse_error", "shape_error"):
                assert detail["line"] >= 1 and detail["col"] >= 1, detail
        return
    assert result.circuit.output in [node.id for node in result.circuit.nodes]
    # and neither encoder fails on whatever circuit the text made
    verbose(result)
    compact(result)


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(PIECES), min_size=1, max_size=14).map("".join))
def test_token_soup_evaluates_or_is_a_positioned_4xx(text: str) -> None:
    _run(text)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=40))
def test_arbitrary_unicode_evaluates_or_is_a_positioned_4xx(text: str) -> None:
    _run(text)
