"""Liveness and readiness probes: async, so they never wait for a thread behind compute."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from app.schemas.health import ProbeAnswer

router = APIRouter(tags=["health"])


@router.get(
    "/healthz",
    operation_id="liveness",
    response_model=ProbeAnswer,
    response_model_exclude_none=True,
    summary="Liveness: the process answers",
)
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get(
    "/readyz",
    operation_id="readiness",
    summary="Readiness: the app can serve requests",
    responses={
        200: {"model": ProbeAnswer},
        503: {
            "model": ProbeAnswer,
            "description": "Not ready: starting, stopping, or job processes down",
        },
    },
)
async def readyz(request: Request) -> JSONResponse:
    """200 once the compute lanes are up; 503 with the reasons while the server starts or stops,
    or when its job processes cannot start (a load balancer then sends students elsewhere)."""
    compute = getattr(request.app.state, "compute", None)
    reasons = ["starting: the compute lanes are not up yet"] if compute is None else []
    if compute is not None:
        reasons = compute.readiness()
    if reasons:
        return JSONResponse({"status": "not ready", "reasons": reasons}, status_code=503)
    return JSONResponse({"status": "ready"})
