"""API routes refuse query parameters they do not declare: a typo such as `?fields=` or
`?format=compact` (format goes in the body) is a 422 naming it, not silently ignored."""

from __future__ import annotations

from fastapi import Request
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from app.core.errors import Problem, ProblemError


def _query_names(dependant: Dependant) -> set[str]:
    names = {p.alias for p in dependant.query_params}
    for sub in dependant.dependencies:
        names |= _query_names(sub)
    return names


async def no_unknown_query(request: Request) -> None:
    """A dependency of every API router."""
    if not request.query_params:
        return  # the usual request: nothing to check
    # the route's declared names, walked each time rather than cached by id(route), which a
    # collected app's route can hand on to a new one (APIRoute is not hashable)
    route = request.scope.get("route")
    declared = _query_names(route.dependant) if isinstance(route, APIRoute) else set()
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
