"""A course page on another origin calls the API from Chromium (issue 17, item 2): allowed when
BPC_CORS_ORIGINS lists its origin, "Failed to fetch" when it does not. Real servers: the course
site is Python's http.server with a plain page, the API is the app (with and without the setting)."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser

from tests.live_app import free_port, running_app, wait_until_up

pytestmark = pytest.mark.browser

# fetch() from the page, with the JSON body that needs a preflight; returns what a script sees
CALL = """async ([url, body]) => {
  try {
    const r = await fetch(url, {method: "POST", headers: {"Content-Type": "application/json"},
                                body: JSON.stringify(body)});
    return {status: r.status, body: await r.json(), retry: r.headers.get("Retry-After"),
            id: r.headers.get("X-Request-Id")};
  } catch (e) { return {error: String(e)}; }
}"""


@pytest.fixture(scope="module")
def page_origin() -> Iterator[str]:
    """A course site: a static page served by Python's http.server, with no CSP of its own."""
    port = free_port()
    with tempfile.TemporaryDirectory() as root:
        (Path(root) / "index.html").write_text("<!doctype html><title>course</title><p>notes")
        log = Path(root) / "server.log"
        with log.open("wb") as err:
            server = subprocess.Popen(
                [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"],
                cwd=root,
                stdout=subprocess.DEVNULL,
                stderr=err,
            )
        origin = f"http://127.0.0.1:{port}"
        try:
            wait_until_up(origin + "/", server, log)
            yield origin
        finally:
            server.terminate()
            server.wait(timeout=10)


@pytest.fixture(scope="module")
def api_allowing(page_origin: str) -> Iterator[str]:
    with running_app(env={"BPC_CORS_ORIGINS": json.dumps([page_origin])}) as base:
        yield base


def run_from(browser: Browser, origin: str, url: str, body: dict[str, object]) -> dict:
    context = browser.new_context()
    try:
        page = context.new_page()
        page.goto(origin + "/")
        return dict(page.evaluate(CALL, [url, body]))
    finally:
        context.close()


def test_an_allowed_origin_calls_the_api_and_reads_its_errors(
    browser: Browser, page_origin: str, api_allowing: str
) -> None:
    url = api_allowing + "/api/v1/circuits/evaluate"
    # (x + y) * z at -2, 5, -4: the course's numbers, -12 with gradients -4, -4, 3
    ok = run_from(
        browser,
        page_origin,
        url,
        {"expression": "(x + y) * z", "inputs": {"x": -2, "y": 5, "z": -4}},
    )
    assert ok["status"] == 200
    assert ok["body"]["output"]["value"] == -12
    assert ok["body"]["gradients"] == {"x": -4, "y": -4, "z": 3}
    assert ok["id"]  # an exposed header
    bad = run_from(browser, page_origin, url, {"expression": "x * * y", "inputs": {}})
    assert bad["status"] == 422
    assert bad["body"]["detail"][0]["col"] == 5


def test_an_origin_not_listed_gets_failed_to_fetch(
    browser: Browser, page_origin: str, live_server: str
) -> None:
    # the default server lists no origin
    result = run_from(
        browser,
        page_origin,
        live_server + "/api/v1/circuits/evaluate",
        {"expression": "x", "inputs": {"x": 1}},
    )
    assert result == {"error": "TypeError: Failed to fetch"}
