"""The pure circuit engine: parse text into a circuit, run forward and backward, report it."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import fields, replace
from typing import Any

from app.core.errors import LimitError, Problem, ProblemError
from app.core.limits import Limits, derived
from app.engine import tensor_gates  # noqa: F401  (registers @, sum, mean, [ ], ...)
from app.engine.answer_templates import compact_json, verbose_json
from app.engine.cache import ParseCache, shared_cache
from app.engine.circuit import Circuit, Node
from app.engine.cost import estimate
from app.engine.encode import encode, verbose
from app.engine.gates import GATES, TIE_BREAKS, gate_table
from app.engine.gcpause import gc_paused
from app.engine.gradcheck import gradcheck
from app.engine.inputs import bind_inputs
from app.engine.numbers import to_json
from app.engine.parser import ParseLimits, parse
from app.engine.passes import Trace, run
from app.engine.report import wire_names
from app.engine.result import EvaluateResult, collect
from app.engine.shapes import infer_shapes

__all__ = [
    "GATES",
    "Circuit",
    "Limits",
    "Node",
    "ParseLimits",
    "Trace",
    "evaluate",
    "evaluate_bytes",
    "evaluate_job",
    "evaluate_result",
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
    limits: Limits | None = None,
) -> dict[str, Any]:
    """The whole evaluate request, as the verbose JSON-ready dict (see evaluate_result)."""
    result = evaluate_result(expression, inputs, output_grad, tie_break, gradcheck_, h, limits)
    with gc_paused():
        return verbose(result)


def evaluate_result(
    expression: str,
    inputs: dict[str, Any],
    output_grad: float = 1.0,
    tie_break: str = "split",
    gradcheck_: bool = False,
    h: float = 1e-5,
    limits: Limits | None = None,
    cache: ParseCache | None = None,
    parts: Collection[str] | None = None,
    compact: bool = False,
) -> EvaluateResult:
    """The whole evaluate request, typed. Raises ProblemError on bad input and LimitError (413)
    when the circuit or its predicted cost is over `limits`, before running. With a `cache`,
    an expression parsed before is not parsed again. `parts`: the answer's fields that will be
    sent (None: all), so a small answer of a big circuit is charged as small. `compact`: the
    answer will be the compact one, whose columns a cached circuit keeps with its parse
    (encode.py), so a re-evaluation is charged for its numbers and captions only."""
    limits = limits or Limits()
    if tie_break not in TIE_BREAKS:
        raise ProblemError(
            Problem(f"tie_break must be one of {', '.join(TIE_BREAKS)}", loc=("body", "tie_break"))
        )
    with gc_paused():
        if cache is not None:
            parsed, hit = cache.lookup(expression, parse_limits(limits))
            circuit, texts, names, memo = parsed.circuit, parsed.texts, parsed.names, parsed.memo
        else:
            circuit = parse(expression, parse_limits(limits))
            texts, names = wire_names(circuit, expression)
            memo = None
            hit = False
        values = bind_inputs(
            circuit, inputs, limits.max_tensor_rank, limits.max_tensor_elements_per_input
        )
        cost_key = None
        # a compact answer of a circuit parsed before: no parse, and its columns are kept (or
        # built once, within the same prediction: W_RECORD_REUSED in cost.py)
        reused = compact and parts is None and hit
        if not all(type(v) is float for v in values.values()) or _has_tensor_gate(circuit, memo):
            shapes = infer_shapes(circuit, values, expression, names, texts, limits)
        else:
            shapes = [()] * len(circuit.nodes)
            # all scalars: the cost depends on the circuit alone, so a cached one keeps it
            cost_key = f"cost {gradcheck_} {None if parts is None else sorted(parts)} {reused}"
        if gradcheck_:
            _check_gradcheck_evals(circuit, values, limits)
        cost = memo.get(cost_key) if memo is not None and cost_key is not None else None
        if cost is None:
            cost = estimate(circuit, shapes, len(expression), gradcheck_, parts, reused)
            if memo is not None and cost_key is not None:
                memo[cost_key] = cost
        cost.check(limits, ("body", "expression"))
        trace = run(circuit, values, output_grad, tie_break, memo=memo)
        result = collect(circuit, trace, expression, texts, names, tie_break, output_grad, memo)
    if gradcheck_:
        check = gradcheck(circuit, values, trace, float(output_grad), h)
        for item in check["inputs"]:
            item["analytic"] = to_json(item["analytic"])
            item["numeric"] = to_json(item["numeric"])
        result = replace(result, gradcheck=check)
    return result


def evaluate_job(request: dict[str, Any], limits: Limits) -> dict[str, Any]:
    """evaluate() as a plain, picklable job: the request's fields as a dict (the API's
    EvaluateRequest.model_dump()), so it can run in a worker process. The answer is in the
    request's "format" (verbose or compact), with only its "parts" when given (verbose only);
    the expression's parse is cached per process."""
    # One pause for evaluating and encoding, which allocate a small object per number (see
    # gcpause.py). The typed result is a temporary, freed as encode returns and before the
    # collector is back on, so the collector never walks its thousands of objects.
    with gc_paused():
        return encode(*_typed_request(request, limits))


def evaluate_bytes(request: dict[str, Any], limits: Limits) -> bytes:
    """evaluate_job's answer as its JSON bytes (encode.dumps), through
    answer_templates.compact_json or verbose_json, which fill a template kept with a small
    circuit when only the numbers change (a slider on a neuron)."""
    with gc_paused():
        return _answer_bytes(*_typed_request(request, limits))


def _answer_bytes(
    result: EvaluateResult,
    answer_format: str,
    parts: Collection[str] | None,
    echo: bool,
    version: int,
) -> bytes:
    if answer_format == "compact":
        return compact_json(result, echo, version)
    return verbose_json(result, parts, echo)


def _typed_request(
    request: dict[str, Any], limits: Limits
) -> tuple[EvaluateResult, str, Collection[str] | None, bool, int]:
    """The request's typed result, and how it is to be encoded: its format, parts, echo and
    compact version (encode's arguments)."""
    parts = request.get("parts")
    answer_format = request.get("format") or "verbose"
    if parts is not None and answer_format == "compact":
        raise ProblemError(
            Problem(
                "parts chooses fields of the verbose answer; the compact answer's columns refer "
                'to each other and are sent whole: use "format": "verbose" with parts, or '
                "leave parts out",
                loc=("body", "parts"),
            )
        )
    version = request.get("compact_version")
    if version is not None and answer_format != "compact":
        raise ProblemError(
            Problem(
                'compact_version chooses the version of the compact answer: use it with "format": '
                '"compact", or leave it out',
                loc=("body", "compact_version"),
            )
        )
    echo = request.get("echo_expression", True) is not False
    result = evaluate_result(
        request["expression"],
        request.get("inputs") or {},
        output_grad=request.get("output_grad", 1.0),
        tie_break=request.get("tie_break", "split"),
        gradcheck_=bool(request.get("gradcheck", False)),
        h=request.get("h", 1e-5),
        limits=limits,
        cache=shared_cache(),
        parts=parts,
        compact=answer_format == "compact",
    )
    return result, answer_format, parts, echo, version or 1


def parse_limits(limits: Limits) -> ParseLimits:
    """The parser's limits, read from the Limits fields of the same names (once per Limits
    object: every request asks)."""
    return derived(
        limits,
        "parse",
        lambda: ParseLimits(**{f.name: getattr(limits, f.name) for f in fields(ParseLimits)}),
    )


def _check_gradcheck_evals(circuit: Circuit, values: dict[str, Any], limits: Limits) -> None:
    """Gate evaluations of the gradient check (its cost in work is in cost.estimate)."""
    elements = sum(max(1, getattr(v, "size", 1)) for v in values.values())
    evals = 2 * elements * len(circuit.nodes)
    if evals > limits.gradcheck_max_evals:
        raise LimitError(
            "the gradient check's work (2 × input elements × nodes)",
            evals,
            limits.gradcheck_max_evals,
            "gradcheck_max_evals",
            loc=("body", "gradcheck"),
        )


def _has_tensor_gate(circuit: Circuit, memo: dict[str, Any] | None = None) -> bool:
    """Whether a scalar-valued circuit still needs the shape pass (a[0] on a scalar, say);
    kept in `memo` (a cached circuit's) and read from it after."""
    found = None if memo is None else memo.get(_TENSOR_GATE)
    if found is None:
        ops = {node.op for node in circuit.nodes}
        found = any(GATES[op].shape is not None for op in ops if op is not None)
        if memo is not None:
            memo[_TENSOR_GATE] = found
    return bool(found)


_TENSOR_GATE = "tensor gate"  # the memo's key
