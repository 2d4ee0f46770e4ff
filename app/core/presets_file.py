"""Loads a teacher's presets file (JSON or YAML) and validates it at start-up, naming any bad entry."""

from __future__ import annotations

import json
import math
import os
import re
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from app.core.errors import ProblemError
from app.core.limits import Limits

_ID = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")
_YAML_TEXT_NUMBER = re.compile(r"[-+]?\d+[eE][-+]?\d+")
_FIELDS = {"id", "title", "description", "expression", "inputs", "expected"}
_EXPECTED = {"output", "grads", "tolerance"}
_MAX_PRESETS = 500
_MAX_TITLE = 200
_MAX_DESCRIPTION = 2_000
_MAX_EXPRESSION = 20_000
# `expected` numbers match when |got - want| <= tolerance * max(1, |want|); the default asks for
# the digits a float64 prints (a teacher who writes 0.7311 sets "tolerance: 1e-4").
DEFAULT_TOLERANCE = 1e-9
_MAX_TOLERANCE = 0.5
# The image's user (Dockerfile): a host file the server cannot read is usually one that only its
# host owner may read.
CONTAINER_UID = 10001


class PresetsFileError(ValueError):
    """The presets file cannot be used; the message names the file and, if any, the entry."""


def _number(value: Any, where: str) -> float:
    # bool is an int subclass, and "1.5" is not a number: both are refused, as in the API.
    if isinstance(value, bool) or not isinstance(value, int | float):
        hint = ""
        if isinstance(value, str) and _YAML_TEXT_NUMBER.fullmatch(value.strip()):
            # YAML 1.1 reads an exponent without a dot (1e-4) as text, not as a number
            hint = f" (YAML reads {value} as text: write it with a dot, 1.0e-4, or 0.0001)"
        raise PresetsFileError(
            f"{where} must be a number, got {type(value).__name__} {value!r:.40}{hint}"
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


def _value(value: Any, where: str, what: str, limits: Limits) -> Any:
    """A number as a float, or a tensor (nested lists) checked as the API checks a request's
    tensor inputs, against the same limits (rank, elements per input), kept as nested lists.
    `what` names the value in messages ("input 'W'", "expected grad 'W'")."""
    if not isinstance(value, list):
        return _number(value, f"{where}: {what}")
    from app.engine.inputs import coerce_value

    try:
        array = coerce_value(
            "?", value, limits.max_tensor_rank, limits.max_tensor_elements_per_input
        )
    except ProblemError as exc:
        # the API's message, about the value named here rather than a request's input
        message = str(exc).replace("input '?'", what)
        raise PresetsFileError(f"{where}: {message}") from None
    return array.tolist()


def _check_entry(entry: Any, index: int, limits: Limits) -> dict[str, Any]:
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
        raise PresetsFileError(
            f"{where}: 'inputs' must be a mapping of name to number (or nested list of numbers)"
        )
    inputs: dict[str, Any] = {}
    for name, value in raw_inputs.items():
        if not isinstance(name, str) or not _NAME.fullmatch(name):
            raise PresetsFileError(f"{where}: input name {name!r:.40} is not an ASCII identifier")
        inputs[name] = _value(value, where, f"input {name!r}", limits)
    preset: dict[str, Any] = {
        "id": preset_id,
        "title": title,
        "description": description,
        "expression": expression,
        "inputs": inputs,
        "source": "teacher",
    }
    if "expected" in entry:
        preset["expected"] = _check_expected(entry["expected"], where, limits)
    return preset


def _check_expected(expected: Any, where: str, limits: Limits) -> dict[str, Any]:
    if not isinstance(expected, dict) or not expected or set(expected) - _EXPECTED:
        raise PresetsFileError(
            f"{where}: 'expected' must be a mapping with 'output' and/or 'grads' (and optionally "
            "'tolerance')"
        )
    checked: dict[str, Any] = {}
    if "output" in expected:
        checked["output"] = _value(expected["output"], where, "expected output", limits)
    if "grads" in expected:
        grads = expected["grads"]
        if not isinstance(grads, dict):
            raise PresetsFileError(
                f"{where}: expected 'grads' must be a mapping of input name to its gradient"
            )
        checked["grads"] = {
            str(k): _value(v, where, f"expected grad {k!r}", limits) for k, v in grads.items()
        }
    if "tolerance" in expected:
        tolerance = _number(expected["tolerance"], f"{where}: expected tolerance")
        if not 0 < tolerance <= _MAX_TOLERANCE:
            raise PresetsFileError(
                f"{where}: expected tolerance must be above 0 and at most {_MAX_TOLERANCE} (a "
                f"relative tolerance), got {tolerance}"
            )
        checked["tolerance"] = tolerance
    return checked


def _parse(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except PermissionError as exc:
        raise PresetsFileError(f"presets file {path}: {_unreadable(path)}") from exc
    except IsADirectoryError as exc:
        raise PresetsFileError(
            f"presets file {path}: cannot read it: it is a directory, not a file (Docker "
            "creates an empty directory when the host file of a -v mount does not exist: "
            "check the path on the host)"
        ) from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise PresetsFileError(f"presets file {path}: cannot read it ({exc})") from exc
    try:
        if path.suffix.lower() == ".json":
            return json.loads(text, parse_constant=_reject_constant)
        return yaml.safe_load(text)
    except (ValueError, yaml.YAMLError) as exc:
        raise PresetsFileError(f"presets file {path}: not valid JSON/YAML ({exc})") from exc


def _unreadable(path: Path) -> str:
    """Why a file cannot be read, and the fix: the server's user is not allowed to."""
    who = (
        f"cannot read it: permission denied for uid {os.geteuid()}, the user the server runs as "
        f"(the container's user is uid {CONTAINER_UID})"
    )
    try:
        info = path.stat()
    except OSError:
        return f"{who}; its folder cannot be entered: chmod 755 the folders on the host"
    mode = stat.S_IMODE(info.st_mode)
    if mode & stat.S_IROTH:
        # the mode lets everyone read: what refuses is not the mode (SELinux's label, an ACL)
        return (
            f"{who}, although its mode {mode:03o} lets everyone read it: on an SELinux host, "
            "mount it with :Z (-v host/presets.yaml:/presets.yaml:ro,Z); else check its ACL"
        )
    return (
        f"{who}; it is mode {mode:03o}, owner uid {info.st_uid}: make it readable by everyone "
        "on the host, chmod 644 <file> (and chmod 755 its folders)"
    )


def _reject_constant(name: str) -> float:
    raise ValueError(f"{name} is not allowed")


def load_teacher_presets(
    path: str | Path,
    check: Callable[[dict[str, Any]], None] | None = None,
    limits: Limits | None = None,
) -> list[dict[str, Any]]:
    """Returns the presets in the file, checked; raises PresetsFileError naming the bad entry.

    `check(preset)`, if given, is run on each entry (e.g. evaluating its circuit); any exception
    it raises becomes a PresetsFileError naming the entry.

    The file holds a list of presets, or a mapping with a `presets` list. Each preset has an
    `id`, `title`, `expression`, optional `description`, `inputs` (name -> finite number, or a
    tensor as nested lists, within `limits` as a request's) and optional `expected` (`output`,
    `grads` by input name, `tolerance`), the same shape GET /api/v1/presets answers.
    """
    path = Path(path)
    limits = limits or Limits()
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
            preset = _check_entry(entry, index, limits)
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
