"""Benchmark: the landscape page in Chromium, from slice request to drawn heatmap, vs the bare API request.

Run: python3 bench/landscape_page.py [--n 1000] [--grid 101] [--repeats 5]

Starts the app with uvicorn on a free loopback port and opens /landscape in Debian's Chromium
(Playwright) on `cifar-shaped` data (synthetic, N x 3073, 10 classes) in the 2-D view. Each
repeat changes the direction seed, so the page sends a fresh /slice request; the page marks
`ls:slice-request` before sending it and `ls:heatmap-drawn` after drawing and the next paint
(static/js/landscape/main.js); `ls:slice-answered` splits off the drawing. The baseline, in the same run and the same browser, is the bare
request: fetch() of the same JSON body to the same endpoint until the answer is parsed.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.live_app import CHROMIUM, CHROMIUM_ARGS, running_app  # noqa: E402

BARE_FETCH = """async (body) => {
  const start = performance.now();
  const response = await fetch("/api/v1/landscape/slice", {
    method: "POST", headers: {"Content-Type": "application/json"}, body });
  const answer = await response.json();
  if (!response.ok || answer.losses.length === 0) throw new Error("bad answer");
  return performance.now() - start;
}"""

PAGE_TIME = """() => {
  const at = (name) => performance.getEntriesByName(name).at(-1).startTime;
  return [at("ls:heatmap-drawn") - at("ls:slice-request"), at("ls:heatmap-drawn") - at("ls:slice-answered")];
}"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--grid", type=int, default=101)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()

    with running_app() as base, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        query = f"?view=2d&dataset=cifar-shaped&n={args.n}&grid={args.grid}&lo=-1&hi=1"
        page.goto(f"{base}/landscape{query}")
        page.wait_for_selector("body[data-ready]", timeout=120_000)
        page_times, draw_times, bare_times = [], [], []
        for k in range(1, args.repeats + 1):
            page.evaluate("() => performance.clearMarks()")
            with page.expect_request("**/api/v1/landscape/slice") as sent:
                page.fill('input[data-state="rseed"]', str(k))
            page.wait_for_function(
                "() => performance.getEntriesByName('ls:heatmap-drawn').length > 0",
                timeout=120_000,
            )
            total, draw = page.evaluate(PAGE_TIME)
            page_times.append(total)
            draw_times.append(draw)
            bare_times.append(page.evaluate(BARE_FETCH, sent.value.post_data))
        cells = page.locator(".plot2d image.heatmap").get_attribute("href") or ""
        assert cells.startswith("data:image/png"), "the heatmap was not drawn"
        browser.close()

    page_ms, bare_ms = statistics.median(page_times), statistics.median(bare_times)
    print(
        f"cifar-shaped N={args.n}, {args.grid}x{args.grid} slice, {args.repeats} repeats (median)"
    )
    print(f"  page, slice request -> heatmap drawn: {page_ms:8.1f} ms  (min {min(page_times):.1f})")
    print(f"    of which drawing and the next paint: {statistics.median(draw_times):8.1f} ms")
    print(f"  bare fetch + JSON parse, same body:   {bare_ms:8.1f} ms  (min {min(bare_times):.1f})")
    print(f"  ratio page / bare request: {page_ms / bare_ms:.2f}x")


if __name__ == "__main__":
    main()
