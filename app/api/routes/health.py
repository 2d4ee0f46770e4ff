"""Liveness and readiness probes: async, so they never wait for a thread behind compute."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="Liveness: the process answers")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", summary="Readiness: the app can serve requests")
async def readyz() -> dict[str, str]:
    return {"status": "ready"}
