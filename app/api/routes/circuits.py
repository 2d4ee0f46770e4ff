"""POST /api/v1/circuits/evaluate: forward and gate-by-gate backward pass of one circuit."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response

from app.api.circuit_job import evaluate_json
from app.api.deps import LimitsDep, SettingsDep
from app.api.heavy import run_bulk, run_evaluate, run_tiny
from app.api.lean_route import LeanRoute
from app.core.errors import LimitError
from app.schemas.circuits import (
    CompactEvaluateResponse,
    EvaluatePartsResponse,
    EvaluateRequest,
    EvaluateResponse,
)

router = APIRouter(prefix="/api/v1/circuits", tags=["circuits"], route_class=LeanRoute)
JSON = "application/json"


@router.post(
    "/evaluate",
    operation_id="evaluateCircuit",
    response_model=EvaluateResponse | CompactEvaluateResponse | EvaluatePartsResponse,
    summary="Evaluate a circuit",
)
async def evaluate_circuit(
    request: EvaluateRequest, limits: LimitsDep, settings: SettingsDep
) -> Response:
    """Parses the expression (never evaluating the text), runs the forward pass, then the
    backward pass gate by gate, and returns every wire's value and gradient with each step's
    upstream gradient, local gradients, contributions and the rule in words."""
    # The engine's report is JSON-ready (non-finite numbers are already strings), so it is sent
    # as it is: re-validating it against EvaluateResponse cost about a third of a small
    # request's time. tests/test_api_circuits.py checks that answers match the schema.
    # evaluate_job predicts the cost from the parsed circuit and its shapes and answers 413
    # before running anything over the budget.
    body = request.model_dump()
    # Never on Starlette's shared thread pool (pages and static files use it): tiny circuits
    # (a sigmoid neuron) on the event loop itself, small ones on this process's few evaluate
    # threads, where a process hop would cost more than the
    # work; large ones in a job process, which a deadline or a memory cap can stop. A long text
    # goes there at once (parsing it is work); otherwise the cost model decides, from a trial
    # with a small work budget that stops, with a 413 or a deferral, before any work is done.
    # Tiny means a short text, plain numbers for inputs (turning a tensor's lists into arrays
    # happens before the cost is known, and is work in proportion to the body) and, checked
    # before anything runs, little predicted work.
    if (
        len(request.expression) <= settings.evaluate_inline_max_size
        and settings.evaluate_inline_max_work > 0
        and all(not isinstance(v, list) for v in request.inputs.values())
    ):
        tiny = limits.with_work_at_most(settings.evaluate_inline_max_work)
        try:
            return Response(run_tiny(evaluate_json, body, tiny), media_type=JSON)
        except LimitError as exc:
            if _trial_work(exc) is None:
                raise
            # more than a tiny job: the evaluate threads below (the parse is cached by now)
    if len(request.expression) <= settings.evaluate_in_process_max_size:
        small = limits.with_work_at_most(settings.evaluate_in_process_max_work)
        try:
            return Response(await run_evaluate(evaluate_json, body, small), media_type=JSON)
        except LimitError as exc:
            work = _trial_work(exc)
            if work is None:
                raise
            if work > limits.max_work:
                # Over the real budget too: the same trial with it gives the 413 at once.
                return Response(await run_evaluate(evaluate_json, body, limits), media_type=JSON)
            seconds = work / limits.work_units_per_second
            answer = await run_bulk(evaluate_json, body, limits, predicted_s=seconds)
            return Response(answer, media_type=JSON)
    seconds = len(request.expression) / settings.evaluate_chars_per_second
    answer = await run_bulk(evaluate_json, body, limits, predicted_s=seconds)
    return Response(answer, media_type=JSON)


def _trial_work(exc: LimitError) -> int | None:
    """The predicted work a trial with a smaller work budget stopped at, or None when another
    limit refused the request (that refusal is the answer)."""
    work = [p.extra["got"] for p in exc.problems if p.extra.get("setting") == "max_work"]
    return int(work[0]) if work else None
