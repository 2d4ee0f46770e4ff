"""GET /api/v1/landscape/catalog: the losses, variants, datasets and optimizers, from their tables."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi import APIRouter

from app.core.choices import Choice
from app.landscape.data import DATASETS
from app.landscape.losses import LOSSES, SVM_VARIANTS
from app.landscape.optimize import OPTIMIZERS
from app.schemas.landscape import CatalogResponse

router = APIRouter(prefix="/api/v1/landscape", tags=["landscape"])


def _rows(table: Sequence[Choice]) -> list[dict[str, Any]]:
    return [choice.as_dict() for choice in table]


def landscape_catalog() -> dict[str, list[dict[str, Any]]]:
    """The four tables as the page and the API client read them (the template renders it too)."""
    return {
        "losses": _rows(LOSSES),
        "variants": _rows(SVM_VARIANTS),
        "datasets": _rows(DATASETS),
        "optimizers": _rows(OPTIMIZERS),
    }


@router.get(
    "/catalog",
    operation_id="landscapeCatalog",
    response_model=CatalogResponse,
    summary="The landscape's choices",
)
def catalog() -> dict[str, list[dict[str, Any]]]:
    """Each loss, SVM variant, built-in dataset and optimizer: its name, label, description and
    the request fields it reads (`options`), so a page builds its menus from one source."""
    return landscape_catalog()
