"""Self-hosted API docs: Swagger UI at /docs and ReDoc at /redoc, offline and CSP-clean."""

from __future__ import annotations

import secrets
from html import escape

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from app.api.middleware import content_security_policy, frame_ancestor_origins
from app.core.config import get_settings

router = APIRouter(include_in_schema=False)

# FastAPI's own docs pages load from a CDN and start Swagger with an inline <script>; these
# load the vendored bundles from /static and start them from a file, so script-src 'self' holds.
_SWAGGER_PAGE = """<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>{title} - Swagger UI</title>
  <link rel="stylesheet" href="/static/vendor/swagger-ui-dist/swagger-ui.css">
  <link rel="icon" href="/static/vendor/swagger-ui-dist/favicon-32x32.png">
</head>
<body>
  <div id="swagger-ui" data-openapi-url="{openapi_url}"></div>
  <script src="/static/vendor/swagger-ui-dist/swagger-ui-bundle.js"></script>
  <script src="/static/docs/swagger-init.js"></script>
</body>
</html>
"""

_REDOC_PAGE = """<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>{title} - ReDoc</title>
  <link rel="icon" href="data:,">
  <link rel="stylesheet" href="/static/docs/redoc.css">
</head>
<body>
  <div id="redoc" data-openapi-url="{openapi_url}" data-style-nonce="{nonce}"></div>
  <script src="/static/vendor/redoc/redoc.standalone.js"></script>
  <script src="/static/docs/redoc-init.js"></script>
</body>
</html>
"""


# Two <style> elements redoc.standalone.js 2.5.0 writes while loading, before it knows the
# nonce: an empty one and a fixed stylesheet. Allowed by their hashes (re-check on upgrade).
_REDOC_STYLE_HASHES = " ".join(
    [
        "'sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU='",
        "'sha256-QMIg+bpjm3JdElJ388KYke01izlUW0UoNOeKjpMxdgc='",
    ]
)


def _page(template: str, request: Request, nonce: str = "") -> HTMLResponse:
    app = request.app
    html = template.format(
        title=escape(app.title), openapi_url=escape(app.openapi_url or ""), nonce=nonce
    )
    return HTMLResponse(html)


@router.get("/docs", response_class=HTMLResponse)
def swagger_ui(request: Request) -> HTMLResponse:
    return _page(_SWAGGER_PAGE, request)


@router.get("/redoc", response_class=HTMLResponse)
def redoc(request: Request) -> HTMLResponse:
    # ReDoc (styled-components) writes <style> elements at run time; a fresh nonce per response
    # lets exactly those through, with no 'unsafe-inline'.
    nonce = secrets.token_urlsafe(16)
    response = _page(_REDOC_PAGE, request, nonce)
    ancestors = frame_ancestor_origins(get_settings().frame_ancestors)
    response.headers["content-security-policy"] = content_security_policy(ancestors).replace(
        "style-src 'self'", f"style-src 'self' 'nonce-{nonce}' {_REDOC_STYLE_HASHES}"
    )
    return response
