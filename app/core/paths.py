"""Where the templates and static files live, in a source checkout or an installed wheel."""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent.parent
_SOURCE_ROOT = _PACKAGE.parent


def _first_existing(*candidates: Path) -> Path:
    for candidate in candidates:
        if candidate.is_dir():
            return candidate
    return candidates[0]


# A source checkout has static/ beside app/; a wheel carries them as app/_static.
STATIC_DIR = _first_existing(_SOURCE_ROOT / "static", _PACKAGE / "_static")
TEMPLATES_DIR = _first_existing(_SOURCE_ROOT / "templates", _PACKAGE / "_templates")
