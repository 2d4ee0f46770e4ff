"""Helpers shared by the circuit-page browser tests: building view links and waiting for evaluations."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

import httpx
from playwright.sync_api import Page


def view_hash(expression: str, inputs: dict[str, Any], **extra: Any) -> str:
    """The URL hash the page reads its view state from (see static/js/circuit/state.js)."""
    params = {"e": expression, "in": json.dumps(inputs, separators=(",", ":"))}
    params.update({k: str(v) for k, v in extra.items()})
    return "#" + urlencode(params)


def evaluations(page: Page) -> int:
    return int(page.locator("#circuit").get_attribute("data-evaluations") or 0)


def wait_evaluated(page: Page, after: int = 0) -> None:
    """Waits until the page has drawn more than `after` successful evaluations."""
    page.wait_for_function(
        "n => Number(document.getElementById('circuit').dataset.evaluations || 0) > n", arg=after
    )


def open_view(page: Page, expression: str, inputs: dict[str, Any], **extra: Any) -> None:
    page.goto("/" + view_hash(expression, inputs, **extra))
    wait_evaluated(page)


def presets(base_url: str) -> list[dict[str, Any]]:
    return list(httpx.get(f"{base_url}/api/v1/presets").json()["presets"])


def evaluate(base_url: str, expression: str, inputs: dict[str, Any]) -> dict[str, Any]:
    response = httpx.post(
        f"{base_url}/api/v1/circuits/evaluate", json={"expression": expression, "inputs": inputs}
    )
    response.raise_for_status()
    return dict(response.json())


def step_label(page: Page) -> tuple[int, int]:
    text = page.locator("#step-label").inner_text()  # "step 3 / 16"
    done, total = text.removeprefix("step ").split(" / ")
    return int(done), int(total)


def visible_grads(page: Page) -> dict[str, str]:
    """Edge id -> gradient text, for every wire whose gradient is shown."""
    return dict(
        page.eval_on_selector_all(
            "#circuit .wire-label .grad:not(.hidden)",
            "els => els.map(e => [e.parentNode.dataset.edge, e.firstChild.textContent])",
        )
    )


def acknowledge_rejections(page: Page, status: int = 422) -> int:
    """Chromium logs every 4xx answer as a console error; a test that provokes one on purpose
    takes exactly those off the page fixture's list (any other error still fails the test)."""
    watch = page.watch  # type: ignore[attr-defined]
    expected = f"the server responded with a status of {status}"
    ours = [m for m in watch.console_errors if expected in m]
    watch.console_errors[:] = [m for m in watch.console_errors if expected not in m]
    return len(ours)
