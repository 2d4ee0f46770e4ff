"""The pure circuit engine: parse text into a circuit, run forward and backward, report it."""

from __future__ import annotations

from typing import Any

from app.core.errors import LimitError, Problem, ProblemError
from app.engine import tensor_gates  # noqa: F401  (registers @, sum, mean, [ ], ...)
from app.engine.circuit import Circuit, Node
from app.engine.gates import GATES, TIE_BREAKS, gate_table
from app.engine.gcpause import gc_paused
from app.engine.gradcheck import gradcheck
from app.engine.inputs import bind_inputs
from app.engine.numbers import to_json
from app.engine.parser import ParseLimits, parse
from app.engine.passes import Trace, run
from app.engine.report import build_report, wire_names
from app.engine.shapes import infer_shapes

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
    max_node_elements: int = 1_000_000,
    max_request_elements: int = 4_000_000,
    max_matmul_work: int = 200_000_000,
) -> dict[str, Any]:
    """The whole evaluate request, as a JSON-ready dict. Raises ProblemError on bad input."""
    if tie_break not in TIE_BREAKS:
        raise ProblemError(
            Problem(f"tie_break must be one of {', '.join(TIE_BREAKS)}", loc=("body", "tie_break"))
        )
    with gc_paused():
        circuit = parse(expression, limits)
        values = bind_inputs(circuit, inputs, max_rank, max_elements)
        if not all(type(v) is float for v in values.values()) or _has_tensor_gate(circuit):
            texts, names = wire_names(circuit, expression)
            infer_shapes(
                circuit,
                values,
                expression,
                names,
                texts,
                max_rank,
                max_node_elements,
                max_request_elements,
                max_matmul_work,
            )
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


def _has_tensor_gate(circuit: Circuit) -> bool:
    """Whether a scalar-valued circuit still needs the shape pass (a[0] on a scalar, say)."""
    ops = {node.op for node in circuit.nodes}
    return any(GATES[op].shape is not None for op in ops if op is not None)
