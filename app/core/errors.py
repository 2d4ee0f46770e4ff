"""Domain errors the pure packages raise; the API turns them into 4xx JSON (app/api/errors.py)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Problem:
    """One thing wrong with a request, in FastAPI's error-detail shape plus a position."""

    msg: str
    type: str = "value_error"
    loc: tuple[str | int, ...] = ("body",)
    line: int | None = None
    col: int | None = None
    excerpt: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def as_detail(self) -> dict[str, Any]:
        detail: dict[str, Any] = {"type": self.type, "loc": list(self.loc), "msg": self.msg}
        if self.line is not None:
            detail["line"] = self.line
            detail["col"] = self.col
        if self.excerpt is not None:
            detail["excerpt"] = self.excerpt
        detail.update(self.extra)
        return detail


class ProblemError(Exception):
    """Bad input: the request is answered with `status` and every Problem as a detail entry."""

    status = 422

    def __init__(self, *problems: Problem) -> None:
        super().__init__("; ".join(p.msg for p in problems))
        self.problems = list(problems)


class LimitError(ProblemError):
    """A size limit from Settings was exceeded; the message states the limit."""

    status = 413

    def __init__(
        self, what: str, got: int, limit: int, setting: str, loc=("body",), status: int = 413
    ) -> None:
        self.status = status
        msg = f"{what} is {got}, over the limit of {limit} (setting BPC_{setting.upper()})"
        super().__init__(
            Problem(
                msg,
                type="limit_exceeded",
                loc=tuple(loc),
                extra={"limit": limit, "got": got, "setting": setting},
            )
        )
