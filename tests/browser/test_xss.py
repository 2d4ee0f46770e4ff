"""Markup in expressions and teacher preset titles renders as inert text, under the CSP, in Chromium."""

from __future__ import annotations

import json
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import screenshot, watched_page
from tests.live_app import running_app

PAYLOAD = "<img src=x onerror=window.__xss=1>"
TEACHER_PRESET = {
    "id": "teacher_xss",
    "title": f"Evil {PAYLOAD} title",
    "description": f"<script>window.__xss=2</script> and {PAYLOAD}",
    "expression": "x * y",
    "inputs": {"x": 2, "y": 3},
}

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def server_with_teacher_presets() -> Iterator[str]:
    with tempfile.TemporaryDirectory() as tmp:
        presets = Path(tmp) / "presets.json"
        presets.write_text(json.dumps([TEACHER_PRESET]))
        with running_app({"BPC_PRESETS_FILE": str(presets)}) as base:
            yield base


@pytest.fixture
def xss_page(browser: Browser, server_with_teacher_presets: str) -> Iterator[Page]:
    """Like the shared `page` fixture: fails on console errors (a CSP violation is one)."""
    with watched_page(browser, server_with_teacher_presets) as watched:
        yield watched


def _assert_inert(page: Page) -> None:
    assert page.evaluate("window.__xss") is None
    assert page.locator("img").count() == 0
    assert page.locator("main script").count() == 0


def test_pages_send_the_csp_without_unsafe_inline(xss_page: Page) -> None:
    for path in ("/", "/landscape", "/docs"):
        response = xss_page.goto(path)
        assert response is not None and response.status == 200
        csp = response.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "style-src 'self'" in csp
        assert "unsafe-inline" not in csp
        assert "frame-ancestors 'self';" in csp
        assert response.headers["x-content-type-options"] == "nosniff"


def test_markup_in_an_expression_shows_as_text(xss_page: Page) -> None:
    xss_page.goto("/")
    editor = xss_page.locator("#expression")
    editor.fill(PAYLOAD)
    error_line = xss_page.locator("#parse-error .error-line")
    expect(xss_page.locator("#parse-error")).to_be_visible()
    expect(error_line).to_have_text(PAYLOAD)
    expect(xss_page.locator("#parse-error .error-message")).to_contain_text("comparisons")
    _assert_inert(xss_page)
    # the 422 the browser itself logs for the rejected expression; a CSP violation would remain
    watch = xss_page.watch  # type: ignore[attr-defined]
    rejected = [m for m in watch.console_errors if "status of 422" in m]
    assert rejected
    watch.console_errors[:] = [m for m in watch.console_errors if m not in rejected]
    screenshot(xss_page, "xss-expression")


def test_markup_in_a_comment_of_a_valid_circuit_shows_as_text(xss_page: Page) -> None:
    xss_page.goto("/")
    expression = f"x * y  # {PAYLOAD}"
    xss_page.locator("#expression").fill(expression)
    expect(xss_page.locator("#circuit g").first).to_be_attached()
    expect(xss_page.locator("#parse-error")).to_be_hidden()
    expect(xss_page.locator("#expression")).to_have_value(expression)
    _assert_inert(xss_page)


def test_markup_in_a_teacher_preset_title_shows_as_text(xss_page: Page) -> None:
    xss_page.goto("/")
    option = xss_page.locator("#preset option[value='teacher_xss']")
    expect(option).to_have_text(TEACHER_PRESET["title"])
    xss_page.locator("#preset").select_option("teacher_xss")
    expect(xss_page.locator("#preset-description")).to_have_text(TEACHER_PRESET["description"])
    expect(xss_page.locator("#expression")).to_have_value("x * y")
    _assert_inert(xss_page)
    screenshot(xss_page, "xss-teacher-preset")


def test_api_docs_render_offline_under_the_csp(xss_page: Page) -> None:
    xss_page.goto("/docs")
    expect(xss_page.locator(".swagger-ui .info .title")).to_contain_text("Backprop Circuits")
    expect(xss_page.locator(".opblock-summary-path").first).to_be_visible()
    xss_page.goto("/redoc")
    expect(xss_page.locator("h1").first).to_contain_text("Backprop Circuits")
    expect(xss_page.get_by_text("/api/v1/circuits/evaluate").first).to_be_attached()
    screenshot(xss_page, "docs-redoc")
    # ReDoc's sidebar always tries its vendor logo from a CDN; the CSP refuses it, so nothing
    # leaves the machine. That one refused attempt is expected; anything else still fails.
    watch = xss_page.watch  # type: ignore[attr-defined]
    logo = "https://cdn.redoc.ly/redoc/logo-mini.svg"
    deadline = time.monotonic() + 30  # the sidebar asks for it after it mounts
    while True:
        refused = [m for m in watch.console_errors if logo in m and "Content Security Policy" in m]
        if refused or time.monotonic() > deadline:
            break
        xss_page.wait_for_timeout(100)  # lets the page's events reach the watch
    assert refused, "the CDN logo must be refused by the CSP"
    watch.console_errors[:] = [m for m in watch.console_errors if m not in refused]
    watch.foreign_requests[:] = [u for u in watch.foreign_requests if u != logo]
