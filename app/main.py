"""Builds the FastAPI application: routers, static files and templates. Nothing else lives here."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from fastapi import Depends, FastAPI
from fastapi.middleware.gzip import GZipMiddleware
from fastapi.staticfiles import StaticFiles

from app import __version__
from app.api.error_docs import install_error_docs
from app.api.errors import install_error_handlers
from app.api.heavy import compute_lifespan, install_heavy_pool
from app.api.live import class_lifespan
from app.api.middleware import install_hardening
from app.api.query import no_unknown_query
from app.api.routes import (
    catalog,
    circuits,
    classroom,
    docs,
    gates,
    health,
    landscape,
    lessons,
    pages,
    presets,
)
from app.core.config import get_settings
from app.core.paths import STATIC_DIR
from app.lessons import configured_lessons
from app.presets import all_presets

# The routers' tags, described in /openapi.json (README's API sections say more).
OPENAPI_TAGS = [
    {
        "name": "circuits",
        "description": "Expression circuits: evaluate one (forward and gate-by-gate backward), "
        "the gate table, and the example presets.",
    },
    {
        "name": "landscape",
        "description": "Multiclass SVM and softmax loss of a linear classifier: the loss and "
        "dW, exact slices with kinks, descent paths, datasets and the choices' catalog.",
    },
    {
        "name": "lessons",
        "description": "Guided lessons through the course notes: the list, one lesson's steps, "
        "and answer checks (docs/lessons.md).",
    },
    {
        "name": "classes",
        "description": "Live class: a teacher starts a class and pushes views and questions; "
        "students join by code, follow the events and answer; the teacher sees the tally.",
    },
    {"name": "health", "description": "Liveness and readiness probes."},
]


@contextlib.asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """The compute lanes (app.state.compute) and the live class's store (app.state.live)."""
    async with compute_lifespan(app), class_lifespan(app):
        yield


def create_app() -> FastAPI:
    settings = get_settings()
    app = FastAPI(
        title="Backprop Circuits",
        version=__version__,
        description="Forward and gate-by-gate backward passes of expression circuits, "
        "and multiclass SVM loss landscapes.",
        # relative: a generated client calls whichever host served it the document
        servers=[{"url": "/", "description": "The server that serves this document"}],
        openapi_tags=OPENAPI_TAGS,
        license_info={"name": "MIT", "identifier": "MIT"},  # pyproject.toml's
        max_body_size=settings.max_body_bytes,
        docs_url=None,  # self-hosted, CSP-clean docs pages: app/api/routes/docs.py
        redoc_url=None,
        # an address with a trailing slash is answered by the 404 handler (app/api/errors.py):
        # pages redirect, the API names the address without the slash
        redirect_slashes=False,
        lifespan=lifespan,
    )
    install_error_handlers(app)
    install_heavy_pool(app)
    if settings.gzip_min_bytes > 0:
        # inside the hardening layer, so compressed answers get every header too
        app.add_middleware(
            GZipMiddleware,
            minimum_size=settings.gzip_min_bytes,
            compresslevel=settings.gzip_level,
        )
    install_hardening(app)
    install_error_docs(app)
    if settings.presets_file:
        # A teacher's presets file is checked now: a bad one stops start-up, naming the entry.
        all_presets(settings.presets_file)
    # So are the lessons, built-in and the teacher's: a bad file stops start-up (file:line).
    configured_lessons(settings)
    api = [Depends(no_unknown_query)]  # /api/...: an undeclared query parameter is a 422
    # routes are matched in this order, router by router: the busiest first (a slider's
    # evaluates, then the probes)
    app.include_router(circuits.router, dependencies=api)
    app.include_router(health.router)
    app.include_router(gates.router, dependencies=api)
    app.include_router(presets.router, dependencies=api)
    app.include_router(landscape.router, dependencies=api)
    app.include_router(catalog.router, dependencies=api)
    app.include_router(lessons.router, dependencies=api)
    app.include_router(classroom.router, dependencies=api)
    app.include_router(pages.router)
    app.include_router(docs.router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    return app


app = create_app()
