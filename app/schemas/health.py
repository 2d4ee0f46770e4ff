"""The probes' answers (GET /healthz, GET /readyz)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class ProbeAnswer(BaseModel):
    """Whether the process answers (liveness) or can serve requests (readiness), and why not."""

    status: Literal["ok", "ready", "not ready"] = Field(
        description="ok: alive; ready: serving; not ready: see `reasons`."
    )
    reasons: list[str] | None = Field(
        None, description="Readiness only, when not ready: what is missing, in words."
    )
