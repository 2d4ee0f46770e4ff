"""Checks made before the server starts (and by `backprop-circuits check`): settings, BPC_ variables, CORS and framing origins, the presets file and the lessons."""

from __future__ import annotations

import difflib
import os
from collections.abc import Mapping

from pydantic import ValidationError

from app.core.config import Settings

# BPC_ variables that are not server settings: the test suite and the benchmarks read them.
NOT_SETTINGS = frozenset({"BPC_CHROMIUM", "BPC_REFERENCE"})
PREFIX = "BPC_"


def unknown_variables(environ: Mapping[str, str]) -> list[str]:
    """One line per BPC_ variable that no setting reads, with the nearest setting's name."""
    known = {PREFIX + name.upper() for name in Settings.model_fields}
    problems = []
    for var in sorted(environ):
        if not var.upper().startswith(PREFIX) or var.upper() in known or var in NOT_SETTINGS:
            continue
        near = difflib.get_close_matches(var.upper(), known, n=1, cutoff=0.75)
        hint = f" (did you mean {near[0]}?)" if near else ""
        problems.append(f"{var} is not a setting{hint}: it would be ignored")
    return problems


def problems() -> list[str]:
    """Everything that would make the server start wrong or not at all, one line each; empty
    when it is ready. Reads the environment as the server does."""
    found = unknown_variables(os.environ)
    try:
        settings = Settings()
    except ValidationError as exc:
        for error in exc.errors():
            name = PREFIX + "_".join(str(part) for part in error["loc"]).upper()
            found.append(f"{name}: {error['msg']} (got {error.get('input')!r:.80})")
        return found
    from app.api.cors import check_origins
    from app.api.middleware import frame_ancestor_origins

    for check in (
        lambda: check_origins(settings.cors_origins),
        lambda: frame_ancestor_origins(settings.frame_ancestors),
    ):
        try:
            check()
        except ValueError as exc:
            found.append(str(exc))
    if settings.presets_file:
        from app.core.presets_file import PresetsFileError
        from app.presets import all_presets

        try:
            all_presets(settings.presets_file)
        except PresetsFileError as exc:
            found.append(f"BPC_PRESETS_FILE: {exc}")
    from app.core.limits import Limits
    from app.lessons import LessonsError, all_lessons

    try:
        all_lessons(settings.lessons_dir, Limits.from_settings(settings))
    except LessonsError as exc:
        # a teacher's file (or a built-in one, a bug) that cannot be used, each as file:line
        found.extend(f"BPC_LESSONS_DIR: {problem}" for problem in exc.problems)
    return found
