"""Browser-test fixtures: a live server on a free loopback port and Debian's Chromium via Playwright."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, Playwright, sync_playwright

from tests.live_app import CHROMIUM, CHROMIUM_ARGS, running_app

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def live_server() -> Iterator[str]:
    """The app as the Dockerfile starts it, on a free loopback port; yields its base URL."""
    with running_app() as base:
        yield base


# Package scope, not session: Playwright's sync API keeps an event loop running in this thread
# until it stops, and tests outside tests/browser that call asyncio.run() need it stopped.
@pytest.fixture(scope="package")
def playwright_instance() -> Iterator[Playwright]:
    with sync_playwright() as pw:
        yield pw


@pytest.fixture(scope="package")
def browser(playwright_instance: Playwright) -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium not found at {CHROMIUM}: install Debian's chromium (see .ci/run)")
    browser = playwright_instance.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    yield browser
    browser.close()


class PageWatch:
    """What a page did that a test may assert on: console errors and off-origin requests."""

    def __init__(self, origin: str) -> None:
        self.origin = origin
        self.console_errors: list[str] = []
        self.foreign_requests: list[str] = []

    def on_console(self, msg: ConsoleMessage) -> None:
        if msg.type == "error":
            self.console_errors.append(msg.text)

    def on_request(self, url: str) -> None:
        parts = urlsplit(url)
        if parts.scheme in ("data", "blob", "about"):
            return
        if f"{parts.scheme}://{parts.netloc}" != self.origin:
            self.foreign_requests.append(url)


@contextmanager
def watched_page(browser: Browser, base: str) -> Iterator[Page]:
    """A fresh 1280x720 page on `base`; fails on console errors or requests leaving the origin."""
    context = browser.new_context(viewport={"width": 1280, "height": 720}, base_url=base)
    page = context.new_page()
    watch = PageWatch(base)
    page.on("console", watch.on_console)
    page.on("pageerror", lambda exc: watch.console_errors.append(f"pageerror: {exc}"))
    page.on("request", lambda req: watch.on_request(req.url))
    page.watch = watch  # type: ignore[attr-defined]
    yield page
    context.close()
    assert watch.console_errors == [], f"console errors: {watch.console_errors}"
    assert watch.foreign_requests == [], f"requests left the origin: {watch.foreign_requests}"


@pytest.fixture
def page(browser: Browser, live_server: str) -> Iterator[Page]:
    """A watched page on the shared live server (see watched_page)."""
    with watched_page(browser, live_server) as watched:
        yield watched


def screenshot(page: Page, name: str) -> None:
    """Saves a screenshot of the current state under test-artifacts/ (git-ignored) for review."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
