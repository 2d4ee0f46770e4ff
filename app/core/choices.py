"""A named choice of the UI and the API (a loss, a dataset, a strategy): one row of its table."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class Choice:
    """One row: the wire name, the label a menu shows, what it is, and the request fields it reads.

    The schema's Literal, the page's <select>, the catalog endpoint and the module's dispatch
    all come from the same table, so adding a choice is one row plus its code and tests.
    """

    name: str
    label: str
    description: str = ""
    options: tuple[str, ...] = ()  # request fields this choice reads beyond the shared ones
    # The code that carries the choice out, where it is one function (an optimizer's step);
    # not part of the catalog.
    run: Callable[..., Any] | None = field(default=None, compare=False)

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "label": self.label,
            "description": self.description,
            "options": list(self.options),
        }


def names(table: tuple[Choice, ...]) -> tuple[str, ...]:
    return tuple(choice.name for choice in table)
