"""Dependency aliases shared by the routes."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from app.core.config import Settings, get_settings
from app.core.limits import Limits


async def current_settings() -> Settings:
    """The cached Settings. Async on purpose: FastAPI runs a plain-def dependency in the
    threadpool, and that hop cost more than the whole engine run of a small circuit."""
    return get_settings()


SettingsDep = Annotated[Settings, Depends(current_settings)]


async def current_limits(settings: SettingsDep) -> Limits:
    """Every limit as one frozen value, from the Settings fields of the same names."""
    return Limits.from_settings(settings)


LimitsDep = Annotated[Limits, Depends(current_limits)]
