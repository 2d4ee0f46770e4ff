"""The circuit page's forward and backward captions, stepped with the arrow keys, read as text."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page

from tests.browser.test_circuit_page import open_view, step_label

pytestmark = pytest.mark.browser


def step_to(page: Page, done: int) -> tuple[str, list[str]]:
    """Presses ← or → until `done` steps are shown; the caption's heading and lines."""
    page.locator("#caption").click()  # keys go to the page, not to a form field
    while (now := step_label(page)[0]) != done:
        page.keyboard.press("ArrowRight" if now < done else "ArrowLeft")
        page.wait_for_function(
            "n => !document.getElementById('step-label').textContent.startsWith('step ' + n + ' ')",
            arg=now,
        )
    heading = page.locator("#caption-heading").inner_text()
    return heading, page.locator("#caption-lines li").all_inner_texts()


@pytest.mark.parametrize(
    ("z", "w", "winner", "loser"),
    [(3.0, 2.0, "z", "w"), (2.0, 3.0, "w", "z")],
)
def test_max_captions_keep_the_argument_order_and_name_the_winner(
    page: Page, z: float, w: float, winner: str, loser: str
) -> None:
    open_view(page, "max(z, w)", {"z": z, "w": w})
    assert step_label(page)[1] == 2  # one forward step, one backward step
    heading, lines = step_to(page, 1)
    assert heading.startswith("Forward: the max gate")
    # z is written first, so its value comes first: max(3, 2) or max(2, 3)
    assert lines == [f"max(z, w) = max({z:g}, {w:g}) = {max(z, w):g}"]
    heading, lines = step_to(page, 2)
    assert heading.startswith("Backward step 1 of 1: the max gate")
    assert (
        lines[0] == f"max gate routes the gradient 1 to {winner}, the larger input; {loser} gets 0"
    )
    # z's and w's own lines, in port order: local gradient 1 for the winner, 0 for the loser
    assert (
        lines[1]
        == f"dz += local gradient · upstream = {1 if winner == 'z' else 0} · 1 = {1 if winner == 'z' else 0}"
    )
    assert (
        lines[2]
        == f"dw += local gradient · upstream = {1 if winner == 'w' else 0} · 1 = {1 if winner == 'w' else 0}"
    )


def test_an_infix_forward_caption_keeps_its_order(page: Page) -> None:
    open_view(page, "z - w", {"z": 5.0, "w": 2.0})
    _, lines = step_to(page, 1)
    assert lines == ["z - w = 5 − 2 = 3"]
