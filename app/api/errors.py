"""Turns domain errors and validation errors into clear 4xx JSON, never a 500 with a trace."""

from __future__ import annotations

import logging
import math
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse
from starlette.exceptions import HTTPException
from starlette.routing import Match

from app.core.config import get_settings
from app.core.errors import ProblemError
from app.engine.numbers import json_number

log = logging.getLogger("backprop_circuits")

_MAX_ECHO_CHARS = 200

# RFC 9457's `title`: with no top-level `type` the problem type is "about:blank", whose title
# should be the status's reason phrase. Written out as RFC 9110 names them, because Python's
# http.HTTPStatus changed some between versions (422, 413 in 3.13) and answers must not.
TITLES = {
    400: "Bad Request",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    413: "Content Too Large",
    414: "URI Too Long",
    422: "Unprocessable Content",
    429: "Too Many Requests",
    499: "Client Closed Request",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


def error_title(status: int) -> str:
    """The status's reason phrase (RFC 9110's, for every status the app or nginx gives)."""
    if status in TITLES:
        return TITLES[status]
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def error_body(status: int, problems: list[dict[str, Any]]) -> dict[str, Any]:
    """The one error envelope every layer answers (app, launcher, nginx): `detail`, the list of
    problems, with RFC 9457's `title` and `status` beside it (docs/architecture.md, "Errors")."""
    return {"detail": problems, "title": error_title(status), "status": status}


def _safe_echo(value: Any, depth: int = 0) -> Any:
    """A JSON-safe, truncated copy of echoed input (no NaN, no lone surrogates, no megabytes)."""
    if depth > 4:
        return "..."
    if isinstance(value, float):
        return json_number(value)  # "Infinity", "-Infinity", "NaN": the answers' strings
    if isinstance(value, bool | int) or value is None:
        return value
    if isinstance(value, str):
        text = value.encode("utf-8", "replace").decode("utf-8")
        return text if len(text) <= _MAX_ECHO_CHARS else text[:_MAX_ECHO_CHARS] + "..."
    if isinstance(value, bytes):
        return _safe_echo(value.decode("utf-8", "replace"), depth)
    if isinstance(value, dict):
        items = list(value.items())[:10]
        return {str(_safe_echo(k, depth + 1)): _safe_echo(v, depth + 1) for k, v in items}
    if isinstance(value, list | tuple):
        return [_safe_echo(v, depth + 1) for v in list(value)[:10]]
    return _safe_echo(repr(value), depth)


def _validation_detail(error: dict[str, Any]) -> dict[str, Any]:
    detail = {
        "type": error.get("type", "value_error"),
        "loc": [_safe_echo(p) for p in error.get("loc", ())],
        "msg": _safe_echo(str(error.get("msg", "invalid input"))),
    }
    if "input" in error:
        detail["input"] = _safe_echo(error["input"])
    return detail


def _json_safe(value: Any) -> Any:
    """The same structure with lone surrogates replaced and non-finite floats as strings, so
    rendering an error can never fail (messages and excerpts quote the client's text)."""
    if isinstance(value, str):
        return value.encode("utf-8", "replace").decode("utf-8")
    if isinstance(value, float) and not math.isfinite(value):
        return json_number(value)
    if isinstance(value, dict):
        return {_json_safe(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    return value


async def _problem_handler(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ProblemError)
    content = _json_safe(error_body(exc.status, [p.as_detail() for p in exc.problems]))
    return JSONResponse(status_code=exc.status, content=content)


async def _validation_handler(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [_validation_detail(e) for e in exc.errors()[:20]]
    return JSONResponse(status_code=422, content=error_body(422, errors))


def _problem(status: int, type_: str, loc: str, msg: str, **headers: str) -> JSONResponse:
    detail = {"type": type_, "loc": [loc], "msg": msg}
    content = error_body(status, [detail])
    return JSONResponse(status_code=status, content=content, headers=headers or None)


def _routed(request: Request, path: str) -> bool:
    scope = {**request.scope, "path": path}
    return any(route.matches(scope)[0] != Match.NONE for route in request.app.router.routes)


def _not_found(request: Request) -> Any:
    """404 in the errors' list shape. An address with a trailing slash that names a real one
    without it: pages redirect there (308), the API says where (no silent 307 for a POST).
    The path itself is never echoed (it may hold markup)."""
    path = request.url.path
    target = path.rstrip("/")
    if path != target and target and _routed(request, target):
        if not path.startswith("/api/") and request.method in ("GET", "HEAD"):
            query = f"?{request.url.query}" if request.url.query else ""
            return RedirectResponse(target + query, status_code=308)
        return _problem(
            404, "not_found", "path", f"no endpoint here: {target} (no trailing slash) is one"
        )
    return _problem(404, "not_found", "path", "no page or endpoint here (the API: /docs)")


async def _http_handler(request: Request, exc: Exception) -> Any:
    """Starlette's 404, 405, body-size 413 and body-parsing 400 in the errors' list shape. The
    413 (a body without Content-Length, such as a streamed multipart upload, cut off while read)
    names the setting instead of "Content Too Large"."""
    assert isinstance(exc, HTTPException)
    if exc.status_code == 404:
        return _not_found(request)
    if exc.status_code == 405:
        allow = next((v for k, v in (exc.headers or {}).items() if k.lower() == "allow"), "")
        msg = f"this endpoint takes {allow or 'another method'}, not {request.method[:16]}"
        return _problem(405, "method_not_allowed", "method", msg, **(exc.headers or {}))
    if exc.status_code == 413:
        limit = get_settings().max_body_bytes
        msg = f"request body is over the limit of {limit} bytes (setting BPC_MAX_BODY_BYTES)"
        detail = {"type": "limit_exceeded", "loc": ["body"], "msg": msg, "limit": limit}
        return JSONResponse(status_code=413, content=error_body(413, [detail]))
    if exc.status_code < 400:
        return await http_exception_handler(request, exc)
    # FastAPI's 400 for a body its parser gave up on (JSON nested past Python's recursion
    # limit, a malformed multipart upload): the same envelope, the text as Starlette gave it
    msg = str(exc.detail)
    if isinstance(exc.__cause__, RecursionError):
        msg += ": it is nested too deeply"
    return _problem(exc.status_code, "body_unreadable", "body", msg, **(exc.headers or {}))


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(HTTPException, _http_handler)
    app.add_exception_handler(ProblemError, _problem_handler)
    app.add_exception_handler(RequestValidationError, _validation_handler)
