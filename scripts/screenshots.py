"""Takes README's pictures from the real pages: the app as the Dockerfile starts it, Debian's
Chromium through Playwright. Run after a change to what the pages show, then commit the PNGs.

    python3 scripts/screenshots.py            # writes docs/images/*.png
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from urllib.parse import urlencode

from playwright.sync_api import Page, sync_playwright

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.live_app import CHROMIUM, CHROMIUM_ARGS, running_app  # noqa: E402

OUT = ROOT / "docs" / "images"
# the course's sigmoid neuron, and x*x + x for a fork whose gradients add up (3 + 3 + 1 = 7)
NEURON = ("1 / (1 + exp(-(w0*x0 + w1*x1 + w2)))", {"w0": 2, "x0": -1, "w1": -3, "x1": -2, "w2": -3})
FORK = ("x*x + x", {"x": 3})


def circuit(page: Page, base: str, expression: str, inputs: dict[str, float], **extra: str) -> None:
    state = {"e": expression, "in": json.dumps(inputs, separators=(",", ":")), **extra}
    page.goto("about:blank")
    page.goto(f"{base}/#{urlencode(state)}")
    page.wait_for_function(
        "() => Number(document.getElementById('circuit').dataset.evaluations || 0) > 0"
    )


def data_view(page: Page, base: str) -> None:
    """The landscape page's data view: toy-2d's points, a hand-set W's regions and table."""
    W = "1,0.5,0;-1,0.5,0.2;0,-1,0.1"
    page.goto(f"{base}/landscape?dataset=toy-2d&winit=table&W={W}")
    page.wait_for_selector("#ls-databox:not([hidden]) .dataview .region")
    page.locator("#ls-databox").screenshot(path=OUT / "landscape-data.png")


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    with running_app() as base, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1440, "height": 900})
        page.emulate_media(reduced_motion="reduce")
        # the whole circuit page at the end of the neuron's backward pass
        circuit(page, base, *NEURON)
        # the page opens it at a readable zoom that follows the active gate; the picture shows
        # the whole neuron, output end included
        page.click("#zoom-fit")
        page.screenshot(path=OUT / "circuit-page.png")
        # a backward step mid-way: the fork's first branch has arrived (dx = 1 + …)
        circuit(page, base, *FORK, s="3")
        page.locator("main").first.screenshot(path=OUT / "circuit-step.png")
        # the landscape page's 2-D view
        page.goto(f"{base}/landscape?view=2d&dataset=toy-2d&grid=41")
        page.wait_for_selector("body[data-ready]")
        page.screenshot(path=OUT / "landscape-page.png")
        data_view(page, base)
        browser.close()
    for png in sorted(OUT.glob("*.png")):
        print(png.relative_to(ROOT), png.stat().st_size, "bytes")


if __name__ == "__main__":
    main()
