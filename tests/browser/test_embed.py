"""Embedding in Chromium: every page chromeless with ?embed=1, and a lesson step framed by a page from another origin only when BPC_FRAME_ANCESTORS allows that origin."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from playwright.sync_api import Browser, Frame, Page, expect

from tests.browser.conftest import screenshot
from tests.browser.test_circuit_page import view_hash, wait_evaluated
from tests.live_app import free_port, running_app

pytestmark = pytest.mark.browser

STEP_3 = "/lessons/intuitions-simple?step=3&embed=1"
STEP_3_TITLE = "A compound expression: (x + y) z"


def test_the_circuit_page_embedded_keeps_the_diagram_and_its_state_in_the_hash(
    page: Page,
) -> None:
    page.goto("/?embed=1" + view_hash("(x + y) * z", {"x": -2, "y": 5, "z": -4}))
    wait_evaluated(page)
    expect(page.locator(".site-header")).to_have_count(0)
    for hidden in ("#expression", "#preset", ".side-panel", "#legend", "#copy-link", "#share-link"):
        expect(page.locator(hidden)).to_be_hidden()
    for shown in ("#circuit", "#step-forward", "#scrubber", "#caption", "#nudge"):
        expect(page.locator(shown)).to_be_visible()
    expect(page.get_by_label("z", exact=True)).to_have_value("-4")
    # the notes' values: q = 3 and f = -12 above their wires
    expect(page.locator("#circuit .value", has_text="-12").first).to_be_visible()

    # the state still lives in the hash, beside the query's embed=1
    page.locator("#restart").click()
    page.wait_for_function("() => new URLSearchParams(location.hash.slice(1)).get('s') === '0'")
    assert page.evaluate("location.search") == "?embed=1"
    page.get_by_label("z", exact=True).fill("-3")
    page.wait_for_function(
        "() => JSON.parse(new URLSearchParams(location.hash.slice(1)).get('in')).z === -3"
    )
    assert page.evaluate("location.search") == "?embed=1"
    screenshot(page, "embed-circuit")


def test_the_landscape_page_embedded_shows_the_plot_and_its_readout(page: Page) -> None:
    page.goto("/landscape?embed=1&view=1d&dataset=cs231n-1d&winit=zeros")
    page.wait_for_selector("body[data-ready]")  # its first round of requests drawn
    readout = page.locator("#ls-readout")
    # at W = 0 every score is 0, so each of the six hinges is max(0, 0 - 0 + 1) = 1: L = 6 / 3
    expect(readout.locator('dd[data-key="loss"]')).to_have_attribute("data-value", "2")
    # along W[0, 0] the hinges kink at w0 = 1, 0.5 and -2, all within the default range [-3, 3]
    expect(readout.locator('dd[data-key="kink_count"]')).to_have_attribute("data-value", "3")
    expect(page.locator(".site-header")).to_have_count(0)
    for hidden in ("#ls-controls", ".ls-tabs", "#ls-dl-png", "#ls-open-circuit"):
        expect(page.locator(hidden)).to_be_hidden()
    expect(page.locator("#ls-plot1d svg").first).to_be_visible()
    screenshot(page, "embed-landscape")


def test_a_lesson_step_embedded_shows_its_prose_view_and_questions_only(page: Page) -> None:
    page.goto(STEP_3)
    expect(page.locator("#step-title")).to_have_text(STEP_3_TITLE)
    expect(page.locator(".site-header")).to_have_count(0)
    for hidden in (".lesson-head", ".lesson-progress", ".lesson-nav"):
        expect(page.locator(hidden)).to_be_hidden()
    expect(page.locator("#step-questions form.question")).to_have_count(2)
    expect(page.locator("#step-view")).to_be_visible()
    # the step's link keeps embed=1, so a reload stays chromeless
    assert page.url.endswith("?step=3&embed=1")
    live = page.locator("#step-view").element_handle()
    assert live is not None and (frame := live.content_frame()) is not None
    frame.wait_for_function(
        "() => Number(document.getElementById('circuit')?.dataset.evaluations || 0) > 0"
    )
    assert frame.evaluate("location.search") == "?embed=1"


# ------------------------------------------------------------------ another origin frames a step


class _SlidesHandler(BaseHTTPRequestHandler):
    """A course page on another origin: one iframe of a lesson step (no CSP of its own)."""

    def do_GET(self) -> None:  # noqa: N802 (the standard library's name)
        body = (
            "<!doctype html><title>Slides</title>"
            f'<iframe id="lesson" src="{self.server.framed}" width="1100" height="700"></iframe>'  # type: ignore[attr-defined]
            # the frame's load event fires for the lesson and for Chromium's refusal page alike
            '<script>document.getElementById("lesson").addEventListener("load", '
            '() => { document.body.dataset.framed = "1"; });</script>'
        ).encode()
        self.send_response(200)
        self.send_header("content-type", "text/html; charset=utf-8")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@contextmanager
def slides_site(port: int) -> Iterator[ThreadingHTTPServer]:
    """A page served from http://127.0.0.1:<port>, another origin than the app's; set `framed`
    to the address its iframe shows."""
    server = ThreadingHTTPServer(("127.0.0.1", port), _SlidesHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def _open_slides(
    browser: Browser, slides: ThreadingHTTPServer, framed: str
) -> tuple[Page, list[str]]:
    slides.framed = framed  # type: ignore[attr-defined]
    context = browser.new_context(viewport={"width": 1200, "height": 800})
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    host, port = slides.server_address[:2]
    page.goto(f"http://{host}:{port}/")
    return page, errors


def _lesson_frame(page: Page) -> Frame:
    frame = page.locator("#lesson").element_handle()
    assert frame is not None and (content := frame.content_frame()) is not None
    return content


def _expect_refused(page: Page) -> None:
    page.wait_for_function("() => document.body.dataset.framed === '1'")
    frame = _lesson_frame(page)
    # Chromium replaces a refused frame's document with its own error page
    assert not frame.url.startswith("http://127.0.0.1"), frame.url
    assert frame.locator("#step-title").count() == 0


@pytest.fixture(scope="module")
def two_sites() -> Iterator[tuple[str, ThreadingHTTPServer, ThreadingHTTPServer]]:
    """The app allowing one other origin (the first slides site), and a second slides site
    it does not list."""
    allowed_port, other_port = free_port(), free_port()
    with (
        slides_site(allowed_port) as allowed,
        slides_site(other_port) as other,
        running_app({"BPC_FRAME_ANCESTORS": f"http://127.0.0.1:{allowed_port}"}) as base,
    ):
        yield base, allowed, other


def test_an_allowed_origin_frames_a_lesson_step_with_its_live_view(
    browser: Browser, two_sites: tuple[str, ThreadingHTTPServer, ThreadingHTTPServer]
) -> None:
    base, allowed, _ = two_sites
    page, errors = _open_slides(browser, allowed, base + STEP_3)
    try:
        lesson = page.frame_locator("#lesson")
        expect(lesson.locator("#step-title")).to_have_text(STEP_3_TITLE)
        expect(lesson.locator(".site-header")).to_have_count(0)
        # the step's own live view, framed inside the framed lesson, loads too
        live = lesson.frame_locator("#step-view")
        expect(live.locator("#circuit .value", has_text="-12").first).to_be_visible()
        screenshot(page, "embed-allowed-origin")
        assert errors == []
    finally:
        page.context.close()


def test_an_origin_not_in_the_list_is_refused(
    browser: Browser, two_sites: tuple[str, ThreadingHTTPServer, ThreadingHTTPServer]
) -> None:
    base, _, other = two_sites
    page, errors = _open_slides(browser, other, base + STEP_3)
    try:
        _expect_refused(page)
        assert any("frame-ancestors" in e for e in errors), errors
    finally:
        page.context.close()


def test_by_default_no_other_origin_may_frame_a_page(browser: Browser, live_server: str) -> None:
    with slides_site(free_port()) as slides:
        for framed in (STEP_3, "/?embed=1", "/landscape?embed=1"):
            page, _ = _open_slides(browser, slides, live_server + framed)
            try:
                _expect_refused(page)
            finally:
                page.context.close()
