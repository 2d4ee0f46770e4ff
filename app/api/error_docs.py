"""Documents the error answers every API operation can give (400, 413, 503) in /openapi.json."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

ERROR_SCHEMA: dict[str, Any] = {
    "title": "ErrorResponse",
    "type": "object",
    "required": ["detail"],
    "properties": {
        "detail": {
            "anyOf": [
                {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["type", "loc", "msg"],
                        "properties": {
                            "type": {"type": "string"},
                            "loc": {
                                "type": "array",
                                "items": {"anyOf": [{"type": "string"}, {"type": "integer"}]},
                            },
                            "msg": {"type": "string"},
                        },
                    },
                },
                {"type": "string"},
            ]
        }
    },
}

_REF = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorResponse"}}}}

# the handlers that draw on the bounded heavy pool (app/api/heavy.py)
HEAVY_PATHS = {
    "/api/v1/landscape/loss",
    "/api/v1/landscape/slice",
    "/api/v1/landscape/optimize",
    "/api/v1/landscape/circuit",
}


def _add_error_responses(schema: dict[str, Any]) -> None:
    schema.setdefault("components", {}).setdefault("schemas", {})["ErrorResponse"] = ERROR_SCHEMA
    for path, operations in schema.get("paths", {}).items():
        if not path.startswith("/api/"):
            continue
        for operation in operations.values():
            responses = operation.setdefault("responses", {})
            responses.setdefault(
                "413",
                {"description": "Over a size limit (the message names the BPC_ setting)", **_REF},
            )
            if "requestBody" in operation:
                responses.setdefault("400", {"description": "The body could not be parsed", **_REF})
            if path in HEAVY_PATHS:
                responses.setdefault(
                    "503",
                    {
                        "description": "Busy with expensive requests: retry after Retry-After seconds",
                        "headers": {"Retry-After": {"schema": {"type": "integer"}}},
                        **_REF,
                    },
                )


def install_error_docs(app: FastAPI) -> None:
    build_openapi = app.openapi

    def openapi_with_errors() -> dict[str, Any]:
        if app.openapi_schema is None:
            _add_error_responses(build_openapi())
        assert app.openapi_schema is not None
        return app.openapi_schema

    app.openapi = openapi_with_errors  # type: ignore[method-assign]
