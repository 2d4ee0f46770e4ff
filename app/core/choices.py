"""A named choice of the UI and the API (a loss, a dataset, a strategy): one row of its table."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any

from pydantic import PlainValidator, WithJsonSchema
from pydantic_core import PydanticCustomError


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


def names(table: Sequence[Choice]) -> tuple[str, ...]:
    return tuple(choice.name for choice in table)


def one_of(table: Sequence[Choice]) -> Any:
    """A request field's type: a name in `table` as the table is when the request is read.

    For a table that grows at run time (LOSSES' register_loss), where a Literal would be fixed
    at import. The error is pydantic's Literal error, word for word, and the OpenAPI document
    lists the names the table has when the app starts.
    """

    def check(value: Any) -> str:
        allowed = names(table)
        if isinstance(value, str) and value in allowed:
            return value
        quoted = [repr(name) for name in allowed]
        expected = (
            " or ".join(quoted)
            if len(quoted) <= 2
            else ", ".join(quoted[:-1]) + " or " + quoted[-1]
        )
        raise PydanticCustomError(
            "literal_error", "Input should be {expected}", {"expected": expected}
        )

    return Annotated[
        str, PlainValidator(check), WithJsonSchema({"enum": list(names(table)), "type": "string"})
    ]
