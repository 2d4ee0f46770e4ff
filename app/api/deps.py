"""Dependency aliases shared by the routes."""

from __future__ import annotations

from dataclasses import fields
from typing import Annotated

from fastapi import Depends

from app.core.config import Settings, get_settings
from app.engine import ParseLimits

SettingsDep = Annotated[Settings, Depends(get_settings)]


def parse_limits(settings: Settings) -> ParseLimits:
    """The parser's limits, read from the Settings fields of the same names."""
    return ParseLimits(**{f.name: getattr(settings, f.name) for f in fields(ParseLimits)})
