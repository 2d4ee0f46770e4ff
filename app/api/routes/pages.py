"""HTML pages, one row each in PAGES: its path, template and navigation label."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from app import __version__
from app.api.deps import SettingsDep
from app.api.routes.catalog import landscape_catalog
from app.core.paths import TEMPLATES_DIR
from app.lessons import configured_lessons, find_lesson


@dataclass(frozen=True, slots=True)
class Page:
    path: str
    template: str
    label: str  # the navigation link's text, in base.html


# Adding a page: a row here, its template (extending base.html) and its JS module.
PAGES = (
    Page("/", "circuit.html", "Circuits"),
    Page("/landscape", "landscape.html", "Loss landscape"),
    Page("/lessons", "lessons.html", "Lessons"),
    Page("/class", "class.html", "Live class"),  # the teacher's; the code is for /join
    Page("/join", "join.html", "Join a class"),
)

router = APIRouter(include_in_schema=False)
templates = Jinja2Templates(directory=TEMPLATES_DIR)
# Every page's navigation and the landscape page's menus read the tables, not copies of them.
templates.env.globals["pages"] = PAGES
templates.env.globals["catalog"] = landscape_catalog()


def offering(table: str, option: str) -> str:
    """The names in a catalog table whose choices read `option`, as a data-show list."""
    return ",".join(row["name"] for row in landscape_catalog()[table] if option in row["options"])


templates.env.globals["offering"] = offering


def _renderer(page: Page) -> Callable[[Request], Awaitable[HTMLResponse]]:
    # async: a cached template renders in microseconds, so pages never wait for a thread that
    # compute may be holding.
    async def render(request: Request) -> HTMLResponse:
        return templates.TemplateResponse(request, page.template, {"version": __version__})

    render.__name__ = page.template.removesuffix(".html") + "_page"
    return render


for _page in PAGES:
    router.add_api_route(_page.path, _renderer(_page), methods=["GET"], response_class=HTMLResponse)


@router.get("/lessons/{lesson_id}", response_class=HTMLResponse)
async def lesson_page(request: Request, lesson_id: str, settings: SettingsDep) -> HTMLResponse:
    """One lesson's player (its JS fetches the lesson; ?step=N, 1-based, opens a step). An id
    no lesson has is the app's 404, as any unknown address."""
    if find_lesson(configured_lessons(settings), lesson_id) is None:
        raise HTTPException(status_code=404)
    return templates.TemplateResponse(request, "lesson.html", {"version": __version__})
