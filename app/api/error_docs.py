"""The error envelope in /openapi.json: the Problem schema, its `type` codes, and per operation
only the error statuses it can really answer."""

from __future__ import annotations

from typing import Any, get_args

from fastapi import FastAPI
from pydantic_core.core_schema import ErrorType

# Every `type` code our own code gives, with who gives it. One place: the enum in /openapi.json,
# the README's table and tests/test_error_envelope.py (which fails on a code missing here) read it.
PROBLEM_TYPES: dict[str, str] = {
    "parse_error": "422: the expression cannot be read; `line`, `col`, `excerpt`, `caret` say where",
    "empty_expression": "422: the expression has nothing to evaluate",
    "shape_error": "422: tensor shapes do not fit a gate; `shapes` lists its inputs' shapes",
    "type_error": "422: an input is not a number or a nested list of numbers",
    "missing_input": "422: the expression uses names without a value; `names` lists them",
    "unused_input": "422: inputs the expression never uses; `names` lists them",
    "value_error": "422: any other value that is not allowed; `loc` names the field",
    "unicode_error": "422: the JSON body holds an unpaired UTF-16 surrogate",
    "unknown_query_parameter": "422: a query parameter the endpoint does not declare",
    "limit_exceeded": "413 (422 for an input's own size): over a limit; `limit`, `got`, `setting`",
    "body_unreadable": "400: the body could not be parsed at all (nested too deeply, bad multipart)",
    "bad_http_request": "400, 414: the HTTP request itself is malformed (from the server or nginx)",
    "cors_refused": "403: a cross-origin preflight the API does not allow (BPC_CORS_ORIGINS)",
    "not_found": "404: no endpoint or page at this address (or no class with this id or code)",
    "not_authorized": "401, 403: a class action without its token, or with another's",
    "conflict": "409: the class cannot take it now (full; no question, or another, is asked)",
    "method_not_allowed": "405: the endpoint takes another method (the Allow header says which)",
    "too_many_requests": "429: this client's share or compute budget is used; see Retry-After",
    "server_busy": "503: the server or its compute lanes are full; retry after Retry-After",
    "client_closed_request": "499: the client went away and its job was stopped (nobody reads it)",
    "internal_error": "500: a bug; `request_id` finds it in the server log",
    "upstream_unavailable": "502: nginx reached no app replica (deploy/nginx.conf)",
    "upstream_timeout": "504: an app replica did not answer nginx in time (deploy/nginx.conf)",
}

# Request validation is pydantic's: its codes (json_invalid, missing, extra_forbidden, ...)
# reach the client unchanged, so they are all part of the enum.
PYDANTIC_TYPES: tuple[str, ...] = tuple(get_args(ErrorType))

TYPE_CODES: list[str] = list(dict.fromkeys([*PROBLEM_TYPES, *PYDANTIC_TYPES]))

_INTEGER = {"type": "integer"}
_LOC_PART = {"anyOf": [{"type": "string"}, {"type": "integer"}]}

# A plain object schema (no anyOf with a string, as FastAPI's default had), so a generated
# client types `error.detail[0].line`. Extra members are allowed: an error may gain fields
# within /api/v1 (README, "Compatibility within /api/v1").
PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "type": "object",
    "description": "One thing wrong with a request. Match on `type` and `loc`, not on `msg`.",
    "required": ["type", "loc", "msg"],
    "properties": {
        "type": {
            "type": "string",
            "enum": TYPE_CODES,
            "description": 'What kind of problem: our codes (README, "Errors") or pydantic\'s '
            "validation codes, such as json_invalid, missing or extra_forbidden.",
            "examples": ["parse_error"],
        },
        "loc": {
            "type": "array",
            "items": _LOC_PART,
            "description": 'Where: "body" then the path to the field, "query" and the '
            'parameter, "path", "method", "header", "request"; empty when the whole '
            "request is meant.",
            "examples": [["body", "expression"]],
        },
        "msg": {"type": "string", "description": "The problem in words, for people."},
        "line": {**_INTEGER, "description": "1-based line in the expression or CSV text."},
        "col": {**_INTEGER, "description": "1-based column on that line."},
        "excerpt": {"type": "string", "description": "The line (or up to 80 chars) quoted."},
        "caret": {
            "type": "string",
            "description": "Spaces and a ^ under the column, to print below `excerpt`.",
            "examples": ["    ^"],
        },
        "shapes": {
            "type": "array",
            "items": {"type": "array", "items": _INTEGER},
            "description": "shape_error: the shapes of the gate's inputs.",
            "examples": [[[2, 3], [4]]],
        },
        "names": {
            "type": "array",
            "items": {"type": "string"},
            "description": "missing_input, unused_input: the input names (at most 20).",
        },
        "limit": {"type": "number", "description": "limit_exceeded: the limit in force."},
        "got": {"type": "number", "description": "limit_exceeded: what the request came to."},
        "setting": {
            "type": "string",
            "description": "The setting behind a limit or refusal: a Settings field (max_gates "
            "is the variable BPC_MAX_GATES) or the variable's name.",
            "examples": ["max_gates", "BPC_CORS_ORIGINS"],
        },
        "retry_after": {
            **_INTEGER,
            "description": "429, 503: seconds to wait, as in the Retry-After header.",
        },
        "request_id": {
            "type": "string",
            "description": "500 (and nginx's own errors): the id in the server's log.",
        },
        "input": {"description": "Validation: the offending input as received, truncated."},
    },
}

ERROR_SCHEMA: dict[str, Any] = {
    "title": "ErrorResponse",
    "type": "object",
    "description": "Every error from every layer (app, server, nginx): `detail` lists the "
    "problems; `title` and `status` are RFC 9457's members of the same name.",
    "required": ["detail"],
    "properties": {
        "detail": {
            "type": "array",
            "items": {"$ref": "#/components/schemas/Problem"},
            "minItems": 1,
            "description": "What is wrong, one problem each (validation lists at most 20).",
        },
        "title": {
            "type": "string",
            "description": "The HTTP status's reason phrase.",
            "examples": ["Unprocessable Content"],
        },
        "status": {**_INTEGER, "description": "The HTTP status code.", "examples": [422]},
    },
}

_REF = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorResponse"}}}}
_RETRY_AFTER = {
    "Retry-After": {
        "description": "Seconds to wait before retrying.",
        "schema": _INTEGER,
    }
}

# the handlers that run on the compute lanes (app/api/heavy.py): the only ones that give 429
COMPUTE_PATHS = {
    "/api/v1/circuits/evaluate",
    "/api/v1/landscape/loss",
    "/api/v1/landscape/slice",
    "/api/v1/landscape/optimize",
    "/api/v1/landscape/circuit",
    "/api/v1/landscape/numerical-gradient",
    "/api/v1/landscape/compare",
    "/api/v1/lessons/{lesson_id}/check",  # a task's check runs the evaluate route's job
}


def error_statuses(path: str, operation: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The error responses one operation can give, each with its description."""
    answers: dict[str, dict[str, Any]] = {
        "500": {"description": "Internal error: `request_id` finds it in the server log"}
    }
    if not path.startswith("/api/"):
        return answers  # the probes: no query parameters, no admission limit
    answers["422"] = {
        "description": "Invalid input: a field (pydantic's codes), the expression (`line`, "
        "`col`, `excerpt`, `caret`), shapes, inputs, or an undeclared query parameter"
    }
    busy = "past BPC_MAX_IN_FLIGHT requests in this server process"
    if path in COMPUTE_PATHS:
        busy += ", or its compute lanes' line is full, or a job process died"
        answers["429"] = {
            "description": "This client already has its share of compute in flight, or has "
            "used its compute budget: retry after Retry-After seconds",
            "headers": _RETRY_AFTER,
        }
    answers["503"] = {
        "description": f"Busy ({busy}): retry after Retry-After seconds",
        "headers": _RETRY_AFTER,
    }
    if "requestBody" in operation:
        answers["400"] = {
            "description": "The body could not be parsed at all (JSON nested past the "
            "parser's depth, a malformed multipart upload); malformed JSON is a 422 json_invalid"
        }
        answers["413"] = {
            "description": "Over a size or work limit: `limit`, `got` and `setting` name it"
        }
    elif path in COMPUTE_PATHS:
        answers["413"] = {"description": "Over a work limit, or the job ran out of time or memory"}
    return answers


def _add_error_responses(schema: dict[str, Any]) -> None:
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components["Problem"] = PROBLEM_SCHEMA
    components["ErrorResponse"] = ERROR_SCHEMA
    for path, operations in schema.get("paths", {}).items():
        for operation in operations.values():
            responses = operation.setdefault("responses", {})
            for status, answer in error_statuses(path, operation).items():
                # ours replace FastAPI's (its 422 is HTTPValidationError, not what we send)
                responses[status] = {**answer, **_REF}
    # FastAPI's default 422 schemas: nothing points at them any more
    for name in ("HTTPValidationError", "ValidationError"):
        components.pop(name, None)
    used = set(_refs(schema))
    for name in ("HTTPValidationError", "ValidationError"):
        assert f"#/components/schemas/{name}" not in used, name


def _refs(node: Any) -> Any:
    """Every $ref in a piece of the schema."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref":
                yield value
            else:
                yield from _refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs(value)


def install_error_docs(app: FastAPI) -> None:
    build_openapi = app.openapi

    def openapi_with_errors() -> dict[str, Any]:
        if app.openapi_schema is None:
            _add_error_responses(build_openapi())
        assert app.openapi_schema is not None
        return app.openapi_schema

    app.openapi = openapi_with_errors  # type: ignore[method-assign]
