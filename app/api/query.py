"""API routes refuse query parameters they do not declare: a typo such as `?fields=` or
`?format=compact` (format goes in the body) is a 422 naming it, not silently ignored."""

from __future__ import annotations

from fastapi import Request
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from app.core.errors import Problem, ProblemError

_declared: dict[int, frozenset[str]] = {}


def _query_names(dependant: Dependant) -> set[str]:
    names = {p.alias for p in dependant.query_params}
    for sub in dependant.dependencies:
        names |= _query_names(sub)
    return names


def _declared_for(route: APIRoute) -> frozenset[str]:
    names = _declared.get(id(route))
    if names is None:
        names = _declared[id(route)] = frozenset(_query_names(route.dependant))
    return names


async def no_unknown_query(request: Request) -> None:
    """A dependency of every API router."""
    route = request.scope.get("route")
    declared = _declared_for(route) if isinstance(route, APIRoute) else frozenset()
    unknown = [name for name in request.query_params if name not in declared]
    if not unknown:
        return
    takes = ", ".join(sorted(declared)) if declared else "none"
    raise ProblemError(
        *(
            Problem(
                f"unknown query parameter {name!r:.80}: {request.url.path} takes {takes}"
                " (request options go in the JSON body)",
                type="unknown_query_parameter",
                loc=("query", name[:80]),
            )
            for name in unknown[:5]
        )
    )
