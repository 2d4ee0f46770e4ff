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


# The Limits of the Settings object last asked for: building one reads every field (about 40
# µs), once per request before; Settings are cached and never changed, so the same object
# gives the same Limits (a test that makes new Settings gets new Limits).
_last: tuple[Settings, Limits] | None = None


async def current_limits(settings: SettingsDep) -> Limits:
    """Every limit as one frozen value, from the Settings fields of the same names."""
    global _last
    if _last is None or _last[0] is not settings:
        _last = (settings, Limits.from_settings(settings))
    return _last[1]


LimitsDep = Annotated[Limits, Depends(current_limits)]
