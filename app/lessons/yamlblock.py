"""YAML for lesson files: each key with its line in the file, YAML 1.1's traps defused, and typed reads that name the key."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import yaml

from app.lessons.model import LessonError


class _Loader(yaml.SafeLoader):
    """PyYAML reads YAML 1.1, where 1e-9 (no dot) is text, not a number: the lesson format's
    own example writes "tolerance: 1e-9", so a plain scalar of that form is read as a float."""


class _AliasFound(Exception):
    def __init__(self, line: int) -> None:
        self.line = line


def _no_alias(self: _Loader, parent: Any, index: Any) -> Any:
    """An alias repeats a value by reference: a few nested ones in a small file expand to
    gigabytes once written out (the "billion laughs"), so the composer refuses the first."""
    if self.check_event(yaml.AliasEvent):
        raise _AliasFound(getattr(self.peek_event().start_mark, "line", 0) or 0)
    return yaml.SafeLoader.compose_node(self, parent, index)


_Loader.compose_node = _no_alias  # type: ignore[method-assign,assignment]
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"[-+]?(?:\d[\d_]*)(?:\.\d*)?[eE][-+]?\d+"),
    list("-+0123456789"),
)


# PyYAML reads deeply nested flow collections in more than linear time (1,000 levels of [ took
# 3.8 s, 5,000 took 44 s before Python's recursion limit stopped it): nesting is counted first.
MAX_DEPTH = 32
_BLOCK_ITEMS = re.compile(r"\s*(?:-\s+)+")


def _too_deep(text: str) -> int | None:
    """The 0-based line where brackets, or "- - -" items on one line, nest past MAX_DEPTH."""
    depth = 0
    for number, line in enumerate(text.splitlines()):
        items = _BLOCK_ITEMS.match(line)
        if items and items.group().count("-") > MAX_DEPTH:
            return number
        for char in line:
            if char in "[{":
                depth += 1
                if depth > MAX_DEPTH:
                    return number
            elif char in "]}":
                depth = max(0, depth - 1)
    return None


@dataclass(frozen=True, slots=True)
class Entry:
    """One key's value, the line its key stands on, and its node (for the scalar's own text)."""

    value: Any
    line: int
    node: yaml.Node


class Block:
    """A YAML mapping (front matter, a view or a question block) read from a lesson file."""

    def __init__(self, path: str, text: str, first_line: int, what: str) -> None:
        self.path = path
        self.what = what
        self.first_line = first_line
        self.entries: dict[str, Entry] = {}
        deep = _too_deep(text)
        if deep is not None:
            raise LessonError(
                path,
                first_line + deep,
                f"the {what} is nested more than {MAX_DEPTH} levels deep (a tensor input needs "
                "at most a few)",
            )
        try:
            node = yaml.compose(text, Loader=_Loader)
        except _AliasFound as exc:
            raise LessonError(
                path,
                first_line + exc.line,
                f"the {what} uses a YAML alias (*name): write the value out instead",
            ) from None
        except yaml.YAMLError as exc:
            raise self._yaml_error(exc) from None
        except RecursionError:
            raise LessonError(path, first_line, f"the {what} is nested too deeply") from None
        if not isinstance(node, yaml.MappingNode):
            raise LessonError(path, first_line, f"the {what} must be 'key: value' lines")
        for key_node, value_node in node.value:
            line = first_line + key_node.start_mark.line
            if not isinstance(key_node, yaml.ScalarNode):
                raise LessonError(path, line, f"a key of the {what} must be a plain word")
            key = str(key_node.value)
            if key in self.entries:
                # PyYAML keeps the last silently: an answer key given twice must not be guessed
                raise LessonError(
                    path,
                    line,
                    f"'{key}' is given twice in the {what} (first at line "
                    f"{self.entries[key].line})",
                )
            loader = _Loader("")
            try:
                value = loader.construct_document(value_node)
            except yaml.YAMLError as exc:
                raise self._yaml_error(exc) from None
            except RecursionError:
                raise LessonError(path, line, f"'{key}' is nested too deeply") from None
            finally:
                loader.dispose()
            self.entries[key] = Entry(value, line, value_node)

    def _yaml_error(self, exc: yaml.YAMLError) -> LessonError:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        line = self.first_line + (getattr(mark, "line", 0) or 0)
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        if "mapping values are not allowed" in problem:
            problem += " (a value holding ': ' must be in quotes)"
        return LessonError(self.path, line, f"the {self.what} is not valid YAML: {problem}")

    def line(self, key: str | None = None) -> int:
        """The line of `key`, or of the block's first line."""
        entry = self.entries.get(key) if key is not None else None
        return entry.line if entry is not None else self.first_line

    def error(self, key: str | None, reason: str) -> LessonError:
        return LessonError(self.path, self.line(key), reason)

    def allow(self, keys: Iterable[str], why: str = "") -> None:
        """Every key must be one of `keys`: a misspelt key would silently drop what it holds."""
        allowed = list(keys)
        for key in self.entries:
            if key not in allowed:
                raise self.error(
                    key,
                    f"unknown key '{key}' in the {self.what}{why} (its keys: {', '.join(allowed)})",
                )

    def require(self, *keys: str) -> None:
        for key in keys:
            if key not in self.entries:
                raise self.error(None, f"the {self.what} has no '{key}'")

    def text(self, key: str, required: bool = True, limit: int = 10_000) -> str | None:
        """A key's text. A plain scalar YAML reads as something else (Yes as true, 0.50 as 0.5)
        is taken as written: a title or an option is text, whatever it looks like."""
        entry = self.entries.get(key)
        if entry is None:
            if required:
                raise self.error(None, f"the {self.what} has no '{key}'")
            return None
        value = entry.value
        if not isinstance(value, str) and isinstance(entry.node, yaml.ScalarNode):
            value = entry.node.value if entry.value is not None else ""
        if not isinstance(value, str) or not value.strip():
            raise self.error(key, f"'{key}' must be a non-empty text")
        if len(value) > limit:
            raise self.error(key, f"'{key}' is {len(value)} characters, over {limit}")
        return value.strip()

    def number(self, key: str) -> float | int:
        return finite_number(self.entries[key].value, self, key, f"'{key}'")

    def integer(self, key: str) -> int:
        value = self.entries[key].value
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.error(key, f"'{key}' must be a whole number, got {_shown(value)}")
        return value


def finite_number(value: Any, block: Block, key: str, what: str) -> float | int:
    """A finite int or float; a bool (YAML reads yes/no/on/off as one) or text is refused."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        hint = ""
        if isinstance(value, bool):
            hint = " (YAML reads yes/no/on/off/true/false as a yes-or-no: write a number)"
        raise block.error(key, f"{what} must be a number, got {_shown(value)}{hint}")
    if isinstance(value, float) and not math.isfinite(value):
        raise block.error(key, f"{what} must be finite, got {value}")
    return value


def _shown(value: Any) -> str:
    return f"{type(value).__name__} {value!r:.40}"
