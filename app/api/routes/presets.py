"""GET /api/v1/presets: named example circuits with their expected outputs."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from app.api.deps import SettingsDep
from app.presets import all_presets
from app.schemas.circuits import PresetsResponse

router = APIRouter(prefix="/api/v1", tags=["circuits"])


@router.get(
    "/presets",
    operation_id="listPresets",
    response_model=PresetsResponse,
    summary="Example circuits",
)
def list_presets(settings: SettingsDep) -> dict[str, Any]:
    """The course's examples (every circuit in the reference file) and any teacher presets."""
    return {"presets": all_presets(settings.presets_file)}
