"""A route class for the hot JSON endpoint: its usual request skips FastAPI's general solver.

FastAPI's request handler reads the body, then solves the route's dependencies in general (a
walk over the dependant tree with scopes, caches and sub-dependants) before calling the
endpoint. For the evaluate route that is most of a sigmoid neuron's time in the app:
docs/benchmarks.md ("Load"). `LeanRoute` serves the usual request (a JSON body that validates,
no query string, no dependency overridden) itself: the body model validated as FastAPI
validates it, the known dependencies called directly, the endpoint called with them. Anything
else goes to FastAPI's own handler, with the body already read, so every refusal and error is
the one FastAPI gives. The endpoint's signature, and so the OpenAPI document, is unchanged.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import routing
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import Response

from app.api.deps import current_limits, current_settings
from app.api.middleware import SCREENED_BODY
from app.api.query import no_unknown_query

Handler = Callable[[Request], Coroutine[Any, Any, Response]]

# The dependencies a lean route may have, each with the value the lean path solves it to (see
# handler): the settings, the limits read from them, or None for no_unknown_query, which only
# refuses a query string, and the lean path never serves one.
_SOLVERS: dict[Callable[..., Any], str | None] = {
    current_settings: "settings",
    current_limits: "limits",
    no_unknown_query: None,
}


class LeanRoute(APIRoute):
    """An APIRoute whose endpoint is async, takes one JSON body model and only the
    dependencies in _SOLVERS, and returns a Response. Checked when FastAPI makes the route's
    handler (when the route is declared, and for a router's inclusion when the route is first
    asked for): anything else is a TypeError, never a dependency silently skipped."""

    def get_route_handler(self) -> Handler:
        general = super().get_route_handler()
        # Included in a router, the route is served with that inclusion's dependencies (an API
        # router's no_unknown_query) and overrides provider: FastAPI builds the handler with
        # them in a context variable, which its own get_route_handler reads as here.
        route: Any = self
        included = getattr(routing, "_effective_route_context_var", None)
        context = included.get() if included is not None else None
        if context is not None and context.original_route is self:
            route = context
        body_field = route.body_field
        if body_field is None or route.dependant.call is None:
            raise TypeError(f"{self.path}: a LeanRoute's endpoint takes a JSON body model")
        model = body_field.field_info.annotation
        if not (isinstance(model, type) and issubclass(model, BaseModel)):
            raise TypeError(f"{self.path}: a LeanRoute's body is one pydantic model")
        body_name = body_field.name
        arguments = _dependency_arguments(route.dependant, self.path)
        endpoint = route.dependant.call
        answer = inspect.signature(endpoint, eval_str=True).return_annotation
        if not (
            inspect.iscoroutinefunction(endpoint)
            and isinstance(answer, type)
            and issubclass(answer, Response)
        ):
            # FastAPI's handler would validate and encode any other answer
            raise TypeError(f"{self.path}: a LeanRoute's endpoint is async and returns a Response")
        overrides = route.dependency_overrides_provider

        async def handler(request: Request) -> Response:
            if (
                request.scope.get("query_string")
                or not _is_json(request.headers.get("content-type"))
                or getattr(overrides, "dependency_overrides", None)
            ):
                return await general(request)
            # the body the screen read (app/api/middleware.py), or read here (kept by the
            # request: FastAPI's handler reads it again)
            raw = request.scope.get(SCREENED_BODY)
            if raw is None:
                raw = await request.body()
            try:
                body = model.model_validate(json.loads(raw))
            except Exception:  # not JSON, not the model, nested past the recursion limit, ...
                return await general(request)  # FastAPI's own 422 (or 400), exactly
            settings = await current_settings()
            solved: dict[str | None, Any] = {
                "settings": settings,
                "limits": await current_limits(settings),
                None: None,
            }
            values = {name: solved[key] for name, key in arguments.items()}
            values[body_name] = body
            response: Response = await endpoint(**values)
            return response

        return handler


def _dependency_arguments(dependant: Dependant, path: str) -> dict[str, str | None]:
    """The endpoint's keyword arguments that come from dependencies, each with the value it
    is solved to (_SOLVERS); a TypeError for a dependency the lean path cannot solve."""
    arguments: dict[str, str | None] = {}
    for sub in dependant.dependencies:
        if sub.call not in _SOLVERS or sub.query_params or sub.body_params or sub.header_params:
            raise TypeError(f"{path}: LeanRoute cannot solve the dependency {sub.call!r}")
        if sub.name is not None:
            arguments[sub.name] = _SOLVERS[sub.call]
    if dependant.query_params or dependant.header_params or dependant.path_params:
        raise TypeError(f"{path}: a LeanRoute's endpoint takes no query, header or path params")
    return arguments


def _is_json(content_type: str | None) -> bool:
    """Whether FastAPI would read the body as JSON: application/json or application/*+json
    (parameters such as charset allowed)."""
    if not content_type:
        return False
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or (
        media.startswith("application/") and media.endswith("+json")
    )
