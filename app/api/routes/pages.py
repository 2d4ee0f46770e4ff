"""HTML pages: the circuit page at / and the landscape page at /landscape."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from app import __version__
from app.core.paths import TEMPLATES_DIR

router = APIRouter(include_in_schema=False)
templates = Jinja2Templates(directory=TEMPLATES_DIR)


# async: a cached template renders in microseconds, so pages never wait for a thread that
# compute may be holding.
@router.get("/", response_class=HTMLResponse)
async def circuit_page(request: Request) -> HTMLResponse:
    return templates.TemplateResponse(request, "circuit.html", {"version": __version__})


@router.get("/landscape", response_class=HTMLResponse)
async def landscape_page(request: Request) -> HTMLResponse:
    return templates.TemplateResponse(request, "landscape.html", {"version": __version__})
