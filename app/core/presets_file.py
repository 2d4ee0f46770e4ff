"""Loads a teacher's presets file (JSON or YAML) and validates it at start-up, naming any bad entry."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

_ID = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")
_FIELDS = {"id", "title", "description", "expression", "inputs", "expected"}
_MAX_PRESETS = 500
_MAX_TITLE = 200
_MAX_DESCRIPTION = 2_000
_MAX_EXPRESSION = 20_000


class PresetsFileError(ValueError):
    """The presets file cannot be used; the message names the file and, if any, the entry."""


def _number(value: Any, where: str) -> float:
    # bool is an int subclass, and "1.5" is not a number: both are refused, as in the API.
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise PresetsFileError(
            f"{where} must be a number, got {type(value).__name__} {value!r:.40}"
        )
    if not math.isfinite(value):
        raise PresetsFileError(f"{where} must be finite, got {value!r}")
    return float(value)


def _text(entry: dict[str, Any], key: str, where: str, limit: int, required: bool) -> str:
    value = entry.get(key)
    if value is None and not required:
        return ""
    if not isinstance(value, str) or not value.strip():
        raise PresetsFileError(f"{where}: '{key}' must be a non-empty string")
    if len(value) > limit:
        raise PresetsFileError(f"{where}: '{key}' is {len(value)} characters, over {limit}")
    return value


def _check_entry(entry: Any, index: int) -> dict[str, Any]:
    where = f"entry {index}"
    if not isinstance(entry, dict):
        raise PresetsFileError(f"{where} must be a mapping, got {type(entry).__name__}")
    if isinstance(entry.get("id"), str):
        where = f"entry {index} (id {entry['id']!r:.70})"
    unknown = sorted(str(k) for k in entry if k not in _FIELDS)
    if unknown:
        raise PresetsFileError(f"{where}: unknown field(s) {', '.join(unknown)}")
    preset_id = entry.get("id")
    if not isinstance(preset_id, str) or not _ID.fullmatch(preset_id):
        raise PresetsFileError(
            f"{where}: 'id' must be lowercase letters, digits, '_' or '-' (1-64 characters)"
        )
    title = _text(entry, "title", where, _MAX_TITLE, required=True)
    description = _text(entry, "description", where, _MAX_DESCRIPTION, required=False)
    expression = _text(entry, "expression", where, _MAX_EXPRESSION, required=True)
    raw_inputs = entry.get("inputs", {})
    if not isinstance(raw_inputs, dict):
        raise PresetsFileError(f"{where}: 'inputs' must be a mapping of name to number")
    inputs: dict[str, float] = {}
    for name, value in raw_inputs.items():
        if not isinstance(name, str) or not _NAME.fullmatch(name):
            raise PresetsFileError(f"{where}: input name {name!r:.40} is not an ASCII identifier")
        inputs[name] = _number(value, f"{where}: input {name!r}")
    preset: dict[str, Any] = {
        "id": preset_id,
        "title": title,
        "description": description,
        "expression": expression,
        "inputs": inputs,
        "source": "teacher",
    }
    if "expected" in entry:
        preset["expected"] = _check_expected(entry["expected"], where)
    return preset


def _check_expected(expected: Any, where: str) -> dict[str, Any]:
    if not isinstance(expected, dict) or set(expected) - {"output", "grads"}:
        raise PresetsFileError(
            f"{where}: 'expected' must be a mapping with 'output' and/or 'grads'"
        )
    checked: dict[str, Any] = {}
    if "output" in expected:
        checked["output"] = _number(expected["output"], f"{where}: expected output")
    if "grads" in expected:
        grads = expected["grads"]
        if not isinstance(grads, dict):
            raise PresetsFileError(f"{where}: expected 'grads' must be a mapping of name to number")
        checked["grads"] = {
            str(k): _number(v, f"{where}: expected grad {k!r}") for k, v in grads.items()
        }
    return checked


def _parse(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise PresetsFileError(f"presets file {path}: cannot read it ({exc})") from exc
    try:
        if path.suffix.lower() == ".json":
            return json.loads(text, parse_constant=_reject_constant)
        return yaml.safe_load(text)
    except (ValueError, yaml.YAMLError) as exc:
        raise PresetsFileError(f"presets file {path}: not valid JSON/YAML ({exc})") from exc


def _reject_constant(name: str) -> float:
    raise ValueError(f"{name} is not allowed")


def load_teacher_presets(
    path: str | Path, check: Callable[[dict[str, Any]], None] | None = None
) -> list[dict[str, Any]]:
    """Returns the presets in the file, checked; raises PresetsFileError naming the bad entry.

    `check(preset)`, if given, is run on each entry (e.g. evaluating its circuit); any exception
    it raises becomes a PresetsFileError naming the entry.

    The file holds a list of presets, or a mapping with a `presets` list. Each preset has an
    `id`, `title`, `expression`, optional `description`, `inputs` (name -> finite number) and
    optional `expected` (`output`, `grads`), the same shape GET /api/v1/presets answers.
    """
    path = Path(path)
    data = _parse(path)
    if isinstance(data, dict) and set(data) == {"presets"}:
        data = data["presets"]
    if not isinstance(data, list):
        raise PresetsFileError(
            f"presets file {path}: expected a list of presets (or {{presets: [...]}})"
        )
    if len(data) > _MAX_PRESETS:
        raise PresetsFileError(f"presets file {path}: {len(data)} presets, over {_MAX_PRESETS}")
    presets: list[dict[str, Any]] = []
    seen: set[str] = set()
    for index, entry in enumerate(data):
        try:
            preset = _check_entry(entry, index)
        except PresetsFileError as exc:
            raise PresetsFileError(f"presets file {path}: {exc}") from None
        if preset["id"] in seen:
            raise PresetsFileError(
                f"presets file {path}: entry {index} (id {preset['id']!r}): duplicate id"
            )
        seen.add(preset["id"])
        if check is not None:
            try:
                check(preset)
            except Exception as exc:
                raise PresetsFileError(
                    f"presets file {path}: entry {index} (id {preset['id']!r}): {exc}"
                ) from None
        presets.append(preset)
    return presets
