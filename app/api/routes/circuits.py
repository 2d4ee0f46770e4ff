"""POST /api/v1/circuits/evaluate: forward and gate-by-gate backward pass of one circuit."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from app.api.deps import LimitsDep
from app.engine import evaluate_job
from app.schemas.circuits import EvaluateRequest, EvaluateResponse

router = APIRouter(prefix="/api/v1/circuits", tags=["circuits"])


@router.post("/evaluate", response_model=EvaluateResponse, summary="Evaluate a circuit")
def evaluate_circuit(request: EvaluateRequest, limits: LimitsDep) -> JSONResponse:
    """Parses the expression (never evaluating the text), runs the forward pass, then the
    backward pass gate by gate, and returns every wire's value and gradient with each step's
    upstream gradient, local gradients, contributions and the rule in words."""
    # The engine's report is JSON-ready (non-finite numbers are already strings), so it is sent
    # as it is: re-validating it against EvaluateResponse cost about a third of a small
    # request's time. tests/test_api_circuits.py checks that answers match the schema.
    # evaluate_job predicts the cost from the parsed circuit and its shapes and answers 413
    # before running anything over the budget.
    return JSONResponse(evaluate_job(request.model_dump(), limits))
