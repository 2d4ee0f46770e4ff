"""POST /api/v1/circuits/evaluate: forward and gate-by-gate backward pass of one circuit."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from app.api.deps import SettingsDep, parse_limits
from app.engine import evaluate
from app.schemas.circuits import EvaluateRequest, EvaluateResponse

router = APIRouter(prefix="/api/v1/circuits", tags=["circuits"])


@router.post("/evaluate", response_model=EvaluateResponse, summary="Evaluate a circuit")
def evaluate_circuit(request: EvaluateRequest, settings: SettingsDep) -> JSONResponse:
    """Parses the expression (never evaluating the text), runs the forward pass, then the
    backward pass gate by gate, and returns every wire's value and gradient with each step's
    upstream gradient, local gradients, contributions and the rule in words."""
    # The engine's report is JSON-ready (non-finite numbers are already strings), so it is sent
    # as it is: re-validating it against EvaluateResponse cost about a third of a small
    # request's time. tests/test_api_circuits.py checks that answers match the schema.
    report = evaluate(
        request.expression,
        request.inputs,
        output_grad=request.output_grad,
        tie_break=request.tie_break,
        gradcheck_=request.gradcheck,
        h=request.h,
        limits=parse_limits(settings),
        max_rank=settings.max_tensor_rank,
        max_elements=settings.max_tensor_elements_per_input,
        gradcheck_max_evals=settings.gradcheck_max_evals,
        max_node_elements=settings.max_tensor_elements_per_node,
        max_request_elements=settings.max_tensor_elements_per_request,
        max_matmul_work=settings.max_tensor_matmul_work,
    )
    return JSONResponse(report)
