"""Benchmark: training you can watch on the landscape page: each played step's time from its update to the paint of the views that show it.

Run: python3 bench/training.py [--steps 100] [--repeats 3]

Starts the server as the Dockerfile does (its CMD and ENV, bench/load.py's start_server; the
class store in a temporary file, not /data) on a free loopback port and opens
/landscape in Debian's Chromium (Playwright). Issue 13's goal: training blobs with N = 300 points of two
features plus the bias column (D = 3) and C = 3 classes for 100 steps, the median time from a
step's update to its repaint under 50 ms over HTTP.

Play takes one gradient-descent step after each redraw (static/js/landscape/training.js): the
step writes "step k / k" into #ls-train-out at once, and ": loss …" once the /loss answer for
the new W is drawn (the data view, the slice, the readout and the chart). A MutationObserver
records both moments, and the paint is the next animation frame after the second. Baseline in
the same run, through the same path: toy-2d (N = 9, D = 3, C = 3), alternating with the case.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path
from typing import Any

from playwright.sync_api import Page, sync_playwright

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.load import dockerfile_server  # noqa: E402
from tests.live_app import CHROMIUM, CHROMIUM_ARGS  # noqa: E402

CASES = {
    "baseline toy-2d (N = 9)": "/landscape?dataset=toy-2d",
    "blobs N = 300, D = 3, C = 3": "/landscape?dataset=blobs&n=300&d=2&c=3&bias=1",
}

# Plays `steps` steps; per step, ms from its update to the frame after its drawing.
PLAY = """async (steps) => {
  const out = document.getElementById("ls-train-out");
  const taken = new Map();
  const painted = new Map();
  const seen = new MutationObserver(() => {
    const m = /^step (\\d+) \\/ (\\d+)(: loss)?/.exec(out.textContent);
    if (!m) return;
    const k = Number(m[1]);
    if (!m[3] && !taken.has(k)) taken.set(k, performance.now());
    if (m[3] && taken.has(k) && !painted.has(k)) {
      requestAnimationFrame(() => painted.set(k, performance.now()));
    }
  });
  seen.observe(out, { childList: true, characterData: true, subtree: true });
  const play = document.getElementById("ls-train-play");
  const start = performance.now();
  play.click();
  await new Promise((resolve) => {
    const check = () => (painted.size >= steps ? resolve() : setTimeout(check, 20));
    check();
  });
  play.click(); // pause
  seen.disconnect();
  const total = performance.now() - start;
  const per = [...painted].map(([k, t]) => t - taken.get(k));
  return { per, total, steps: painted.size };
}"""


def ready(page: Page, base: str, path: str) -> None:
    page.goto("about:blank")
    page.goto(base + path)
    # the first /loss answer is drawn: a Step can be taken from it
    page.wait_for_function(
        "() => /loss/.test(document.getElementById('ls-readout')?.textContent || '')"
    )
    page.click("#ls-train-step")
    page.wait_for_function(
        "() => /^step 1 \\/ 1: loss/.test(document.getElementById('ls-train-out').textContent)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    results: dict[str, list[dict[str, Any]]] = {name: [] for name in CASES}
    with dockerfile_server() as base, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1440, "height": 900})
        for _ in range(args.repeats):
            for name, path in CASES.items():  # the contenders alternate
                ready(page, base, path)
                results[name].append(page.evaluate(PLAY, args.steps))
        browser.close()

    print(f"training: {args.steps} played steps, update -> next frame after its drawing (ms)")
    medians = {}
    for name, runs in results.items():
        per = [ms for run in runs for ms in run["per"]]
        medians[name] = statistics.median(per)
        rates = ", ".join(f"{run['steps'] / run['total'] * 1000:.1f}" for run in runs)
        # does a step cost more as training goes on? the first and the last 20 of each run
        early = statistics.median(ms for run in runs for ms in run["per"][:20])
        late = statistics.median(ms for run in runs for ms in run["per"][-20:])
        print(
            f"  {name:28s} median {medians[name]:6.1f}  p95 "
            f"{sorted(per)[int(0.95 * len(per))]:6.1f}  first 20 {early:6.1f}  last 20 {late:6.1f}"
            f"  (steps/s by repeat: {rates})"
        )
    case, baseline = medians["blobs N = 300, D = 3, C = 3"], medians["baseline toy-2d (N = 9)"]
    print(
        f"  ratio N = 300 / baseline: {case / baseline:.2f}x   goal: median < 50 ms (got {case:.1f})"
    )


if __name__ == "__main__":
    main()
