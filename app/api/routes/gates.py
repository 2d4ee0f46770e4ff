"""GET /api/v1/gates: the gate table, so the docs and the UI come from one source."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from app.engine import gate_table
from app.schemas.circuits import GatesResponse

router = APIRouter(prefix="/api/v1", tags=["circuits"])


@router.get(
    "/gates", operation_id="listGates", response_model=GatesResponse, summary="The gate table"
)
def list_gates() -> dict[str, Any]:
    """Every gate's name, symbol, arity, derivative and the rule in the course's words."""
    return {"gates": gate_table()}
