"""The circuit evaluate job, apart from its route so that job processes import it without FastAPI."""

from __future__ import annotations

from typing import Any

from app.core.limits import Limits
from app.engine import evaluate_bytes


def evaluate_json(request: dict[str, Any], limits: Limits) -> bytes:
    """The evaluate job, encoded where it runs (a thread or a job process), not on the loop;
    with orjson (app/engine/encode.py; its time against json.dumps is in docs/benchmarks.md)."""
    return evaluate_bytes(request, limits)
