"""The pure circuit engine: parse text into a circuit, run forward and backward, report it."""

from __future__ import annotations

from typing import Any

from app.core.errors import LimitError, Problem, ProblemError
from app.engine.circuit import Circuit, Node
from app.engine.gates import GATES, TIE_BREAKS, gate_table
from app.engine.gradcheck import gradcheck
from app.engine.inputs import bind_inputs
from app.engine.numbers import to_json
from app.engine.parser import ParseLimits, parse
from app.engine.passes import Trace, run
from app.engine.report import build_report

__all__ = [
    "GATES",
    "Circuit",
    "Node",
    "ParseLimits",
    "Trace",
    "evaluate",
    "gate_table",
    "parse",
    "run",
]


def evaluate(
    expression: str,
    inputs: dict[str, Any],
    output_grad: float = 1.0,
    tie_break: str = "split",
    gradcheck_: bool = False,
    h: float = 1e-5,
    limits: ParseLimits | None = None,
    max_rank: int = 3,
    max_elements: int = 100_000,
    gradcheck_max_evals: int = 2_000_000,
) -> dict[str, Any]:
    """The whole evaluate request, as a JSON-ready dict. Raises ProblemError on bad input."""
    if tie_break not in TIE_BREAKS:
        raise ProblemError(
            Problem(f"tie_break must be one of {', '.join(TIE_BREAKS)}", loc=("body", "tie_break"))
        )
    circuit = parse(expression, limits)
    values = bind_inputs(circuit, inputs, max_rank, max_elements)
    trace = run(circuit, values, output_grad, tie_break)
    report = build_report(circuit, trace, expression, tie_break)
    if gradcheck_:
        elements = sum(max(1, getattr(v, "size", 1)) for v in values.values())
        work = 2 * elements * len(circuit.nodes)
        if work > gradcheck_max_evals:
            raise LimitError(
                "the gradient check's work (2 × input elements × nodes)",
                work,
                gradcheck_max_evals,
                "gradcheck_max_evals",
                loc=("body", "gradcheck"),
            )
        check = gradcheck(circuit, values, trace, float(output_grad), h)
        for item in check["inputs"]:
            item["analytic"] = to_json(item["analytic"])
            item["numeric"] = to_json(item["numeric"])
        report["gradcheck"] = check
    else:
        report["gradcheck"] = None
    return report
