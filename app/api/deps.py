"""Dependency aliases shared by the routes."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from app.core.config import Settings, get_settings
from app.engine import ParseLimits

SettingsDep = Annotated[Settings, Depends(get_settings)]


def parse_limits(settings: Settings) -> ParseLimits:
    return ParseLimits(
        max_expression_chars=settings.max_expression_chars,
        max_gates=settings.max_gates,
        max_nesting_depth=settings.max_nesting_depth,
        max_inputs=settings.max_inputs,
        max_statements=settings.max_statements,
        max_literal_chars=settings.max_literal_chars,
    )
