"""Placeholder router for presets; filled in by the circuit-engine work."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/api/v1", tags=["presets"])
