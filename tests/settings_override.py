"""Requests made inside `overridden_settings(...)` see the app's Settings with those fields set."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from app.api.deps import current_settings
from app.core.config import Settings
from app.main import app


@contextmanager
def overridden_settings(**fields: int) -> Iterator[None]:
    """The app's Settings with `fields` changed, for the requests made inside the block."""
    settings = Settings(**fields)  # type: ignore[arg-type]
    app.dependency_overrides[current_settings] = lambda: settings
    try:
        yield
    finally:
        app.dependency_overrides.pop(current_settings, None)
