"""Benchmark: the circuit page in Chromium: API answer to drawn 500- and 2,000-gate circuits, frame times animating 200 gates, a slider drag on 200.

Run: python3 bench/frontend.py [--repeats 5] [--frames-seconds 4] [--drag-seconds 2]

Starts the server as the Dockerfile does (its CMD and ENV, two workers; bench/load.py's
dockerfile_server) on a free loopback port and opens / in Debian's Chromium (Playwright).

1. Drawing: the page marks `bpc:response` when the evaluate answer (compact) is parsed, before
   model.js decodes it (so decoding is in the time), `bpc:laid-out` after
   the dagre layout and `bpc:drawn` after the SVG is built (static/js/circuit/main.js); this script
   then waits for the frame that paints it. Each repeat loads a fresh link (new structure, so the
   layout runs). Baseline in the same run: the 2-gate circuit (x + y) * z through the same path.
2. Layout engines: dagre against the tidy layout (static/js/circuit/tidy.js) on the same circuits
   of 32 to 200 gates, which is why circuits over 80 gates use the tidy one.
3. Animation: Chromium runs without the 60 Hz frame cap (--disable-frame-rate-limit,
   --disable-gpu-vsync), so the time between requestAnimationFrame callbacks is the real cost of
   a frame (script, style, layout, paint). It is recorded while the 200-gate circuit plays at 8
   steps per second, against (x + y) * z (2 gates) playing at half a step per second (baseline) in the same run.
4. Slider drag (issue 12's goal: median < 100 ms at 200 gates): the page's slider for `c` (it
   scales every term) is focused and moved 0.01 every 16 ms for 2 s; the page gets the latest
   position in one input event whenever it is free to take one (a pointer drag's events are
   coalesced the same way, so a busy page sees fewer events, not a growing queue). The page
   marks `bpc:drawn` with the input values it drew; a frame watcher records when each new drawing
   is painted (after the frame that paints it, as in 1). Per position: the time from when it was
   due to the first paint of a diagram showing it or a later one (the page keeps one request in
   flight and sends the latest values when its answer lands, so positions are skipped); and how
   many positions were painted themselves. Baseline: the same drag on (x + y) * z's x. This part
   runs in a browser with the usual 60 Hz frame cap.
5. With --profile: Chromium's sampling CPU profiler (DevTools protocol) over one 2,000-gate
   drawing and one 200-gate drag, each summed by function (self time), top 12 printed. The
   browser's own style, layout and paint outside script count as "(program)"; a layout that
   script forces (by reading a size) counts as the script function that read it.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
from playwright.sync_api import Page, sync_playwright

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.load import BUDGET_OFF, dockerfile_server  # noqa: E402
from tests.live_app import CHROMIUM, CHROMIUM_ARGS  # noqa: E402

# Frame times are measured past the display's 60 Hz, so vsync and the frame-rate cap are off.
ARGS = [*CHROMIUM_ARGS, "--disable-frame-rate-limit", "--disable-gpu-vsync"]

WAIT_PAINTED = """async (before) => {
  const svg = document.getElementById("circuit");
  await new Promise((resolve) => {
    const check = () => {
      if (Number(svg.dataset.evaluations || 0) > before) {
        // this callback runs before the frame that paints the new drawing; a message posted
        // now is handled after that frame
        const channel = new MessageChannel();
        channel.port1.onmessage = () => resolve();
        channel.port2.postMessage(0);
      } else requestAnimationFrame(check);
    };
    requestAnimationFrame(check);
  });
  const painted = performance.now();
  const at = (name) => performance.getEntriesByName(name).at(-1).startTime;
  const response = at("bpc:response");
  return {
    painted: painted - response,
    layout: at("bpc:laid-out") - response,
    drawn: at("bpc:drawn") - response,
    gates: svg.querySelectorAll(".node.kind-gate").length,
  };
}"""

LAYOUT_TIMES = """async (circuits) => {
  const m = await import("/static/js/circuit/layout.js");
  const rows = [];
  for (const c of circuits) {
    const gates = c.nodes.filter((n) => n.kind === "gate").length;
    for (const engine of ["dagre", "tidy"]) {
      const t = performance.now();
      const layout = m.layoutCircuit(c, { engine });
      rows.push({ gates, engine, ms: performance.now() - t, crossings: m.countCrossings(layout) });
    }
  }
  return rows;
}"""

FRAME_TIMES = """async (seconds) => {
  const times = [];
  let last = null;
  const end = performance.now() + seconds * 1000;
  await new Promise((resolve) => {
    const tick = (now) => {
      if (last !== null) times.push(now - last);
      last = now;
      if (now < end) requestAnimationFrame(tick);
      else resolve();
    };
    requestAnimationFrame(tick);
  });
  return times;
}"""


DRAG = """async ({ name, seconds, every }) => {
  const row = [...document.querySelectorAll("#inputs-body tr")].find(
    (tr) => tr.querySelector("label").textContent === name,
  );
  const slider = row.querySelector("input[type=range]");
  slider.focus(); // as in a drag: the page does not move a focused slider to the drawn value
  const svg = document.getElementById("circuit");
  const events = [];
  const paints = [];
  let seen = Number(svg.dataset.evaluations || 0);
  let watching = true;
  // each frame: a drawing that landed since the last frame is painted by this one; a message
  // posted now is handled after that paint
  const watch = () => {
    const n = Number(svg.dataset.evaluations || 0);
    if (n !== seen) {
      seen = n;
      const value = performance.getEntriesByName("bpc:drawn").at(-1).detail[name];
      const channel = new MessageChannel();
      channel.port1.onmessage = () => paints.push({ t: performance.now(), value });
      channel.port2.postMessage(0);
    }
    if (watching) requestAnimationFrame(watch);
  };
  requestAnimationFrame(watch);
  // the drag moves the slider 0.01 every `every` ms. The page gets the latest position in one
  // input event when it is free to take it: a pointer drag's events are coalesced the same way
  // while the page is busy, so a slow page sees fewer events, not a growing queue
  const start = performance.now();
  const v0 = Number(slider.value);
  const count = Math.floor((seconds * 1000) / every);
  const valueAt = (i) => Math.round((v0 + 0.01 * (i + 1)) * 100) / 100;
  let dispatched = 0;
  for (let i = 0; i < count; ) {
    const due = start + i * every;
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, due - performance.now())));
    // every position due by now; each is timed from when it was due
    const before = i;
    while (i < count && start + i * every <= performance.now()) {
      events.push({ t: start + i * every, value: valueAt(i) });
      i += 1;
    }
    if (i === before) continue; // woken early: nothing new is due
    slider.value = String(events.at(-1).value);
    slider.dispatchEvent(new Event("input", { bubbles: true }));
    dispatched += 1;
  }
  const last = events.at(-1).value;
  const deadline = performance.now() + 10000;
  while (!paints.some((p) => p.value === last) && performance.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  watching = false;
  // per event: the first paint at or after it that shows its value or a later one (values rise)
  const latency = events.map((e) => {
    const p = paints.find((q) => q.t >= e.t && q.value >= e.value - 1e-9);
    return p ? p.t - e.t : null;
  });
  const own = events.filter((e) => paints.some((p) => p.value === e.value)).length;
  return { events: events.length, dispatched, paints: paints.length, own, latency };
}"""


def drag(
    page: Page, base: str, expression: str, inputs: dict[str, float], name: str, seconds: float
) -> dict[str, Any]:
    """Opens the circuit and drags `name`'s slider (see DRAG); the per-event latencies in ms."""
    page.goto("about:blank")
    page.goto(base + link(expression, inputs))
    page.wait_for_function(
        "() => Number(document.getElementById('circuit').dataset.evaluations || 0) > 0"
    )
    return dict(page.evaluate(DRAG, {"name": name, "seconds": seconds, "every": 16}))


def profiled(page: Page, action: Any) -> list[tuple[float, str]]:
    """Runs `action()` under Chromium's sampling CPU profiler; (self ms, function) by self time."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("Profiler.enable")
    cdp.send("Profiler.setSamplingInterval", {"interval": 200})  # microseconds
    cdp.send("Profiler.start")
    action()
    profile = cdp.send("Profiler.stop")["profile"]
    cdp.detach()
    names = {}
    for node in profile["nodes"]:
        frame = node["callFrame"]
        where = frame["url"].rsplit("/", 1)[-1]
        line = f":{frame['lineNumber'] + 1}" if where else ""
        names[node["id"]] = f"{frame['functionName'] or '(anonymous)'} {where}{line}".strip()
    # each sample's time is the gap to the next one
    self_ms: dict[str, float] = {}
    for node_id, delta in zip(profile["samples"][:-1], profile["timeDeltas"][1:], strict=True):
        name = names[node_id]
        self_ms[name] = self_ms.get(name, 0.0) + delta / 1000
    return sorted(((ms, name) for name, ms in self_ms.items()), reverse=True)


def print_profile(title: str, rows: list[tuple[float, str]], top: int = 12) -> None:
    total = sum(ms for ms, _ in rows)
    print(f"  {title}: {total:.1f} ms sampled; top {top} by self time")
    for ms, name in rows[:top]:
        print(f"    {ms:8.1f} ms  {name}")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def circuit(terms: int, n_inputs: int = 40) -> tuple[str, dict[str, float]]:
    """A sum of exp(-(a*b)) terms times c: 4*terms gates, inputs shared between terms (forks)."""
    pairs = [(i % n_inputs, (i * 7) % n_inputs) for i in range(terms)]
    expression = "(" + " + ".join(f"exp(-(a{a} * b{b}))" for a, b in pairs) + ") * c"
    inputs = {f"a{a}": ((a * 37) % 17 - 8) / 10 for a, _ in pairs}
    inputs |= {f"b{b}": ((b * 11) % 13 - 6) / 10 for _, b in pairs}
    inputs["c"] = 0.5
    return expression, inputs


def link(expression: str, inputs: dict[str, float], **extra: object) -> str:
    params = {"e": expression, "in": json.dumps(inputs, separators=(",", ":"))}
    params |= {k: str(v) for k, v in extra.items()}
    return "/#" + urlencode(params)


def draw_time(page: Page, base: str, expression: str, inputs: dict[str, float]) -> dict[str, float]:
    """Opens a link to the circuit in a fresh page load and times its first drawing."""
    page.goto("about:blank")
    page.goto(base + link(expression, inputs))
    return dict(page.evaluate(WAIT_PAINTED, 0))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--frames-seconds", type=float, default=4.0)
    parser.add_argument("--drag-seconds", type=float, default=2.0)
    parser.add_argument(
        "--profile", action="store_true", help="also print a CPU profile summary of the costs"
    )
    args = parser.parse_args()

    big_expression, big_inputs = circuit(125)  # 500 gates
    huge_expression, huge_inputs = circuit(500)  # 2,000 gates (issue 11: painted < 500 ms)
    anim_expression, anim_inputs = circuit(50)  # 200 gates
    small_expression, small_inputs = "(x + y) * z", {"x": -2.0, "y": 5.0, "z": -4.0}

    # The per-client compute budget off: this times the page, and its fifteen drawings (five of
    # 2,000 gates, charged by the cost model's prediction) left one address's budget empty
    # before the layout and drag runs, depending on how fast they went (a 429 there).
    with dockerfile_server(BUDGET_OFF) as base, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 720})
        big, small, huge = [], [], []
        for _ in range(args.repeats):
            small.append(draw_time(page, base, small_expression, small_inputs))
            big.append(draw_time(page, base, big_expression, big_inputs))
            huge.append(draw_time(page, base, huge_expression, huge_inputs))
        gates = int(big[0]["gates"])

        layout_circuits = []
        for k in (8, 20, 30, 50, 125):
            answer = httpx.post(
                f"{base}/api/v1/circuits/evaluate",
                json=dict(zip(("expression", "inputs"), circuit(k), strict=True)),
                timeout=60,
            )
            assert answer.status_code == 200, answer.text[:300]
            layout_circuits.append(answer.json())
        page.goto(base + "/")
        page.wait_for_function(
            "() => Number(document.getElementById('circuit').dataset.evaluations || 0) > 0"
        )
        layouts = page.evaluate(LAYOUT_TIMES, layout_circuits)

        frames = {}
        for name, expression, inputs, speed in (
            ("baseline", small_expression, small_inputs, 0.5),
            ("big", anim_expression, anim_inputs, 8),
        ):
            page.goto("about:blank")
            page.goto(base + link(expression, inputs, s=0, sp=speed))
            page.wait_for_function(
                "() => Number(document.getElementById('circuit').dataset.evaluations || 0) > 0"
            )
            drawn_gates = page.locator("#circuit .node.kind-gate").count()
            page.click("#play")
            times = page.evaluate(FRAME_TIMES, args.frames_seconds)
            playing = page.locator("#play").get_attribute("aria-pressed")
            frames[name] = (drawn_gates, speed, times, playing)

        browser.close()

        # the drag runs at the display's usual 60 Hz: with the frame cap off, the frame watcher's
        # requestAnimationFrame loop would keep the page painting flat out, starving the drag
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 720})
        drags = {
            "baseline": drag(page, base, small_expression, small_inputs, "x", args.drag_seconds),
            "big": drag(page, base, anim_expression, anim_inputs, "c", args.drag_seconds),
        }
        profiles = []
        if args.profile:
            # the page is loaded first (the profiler stays with one document); the 2,000-gate
            # link then comes as a hash change, which draws a new structure as a fresh load does
            page.goto("about:blank")
            page.goto(base + link(small_expression, small_inputs))
            page.wait_for_function(
                "() => Number(document.getElementById('circuit').dataset.evaluations || 0) > 0"
            )

            def draw_huge() -> None:
                page.evaluate("h => { location.hash = h; }", link(huge_expression, huge_inputs)[1:])
                page.evaluate(WAIT_PAINTED, 1)

            profiles.append(("2,000 gates: link opened to painted", profiled(page, draw_huge)))
            page.goto("about:blank")
            page.goto(base + link(anim_expression, anim_inputs))
            page.wait_for_function(
                "() => Number(document.getElementById('circuit').dataset.evaluations || 0) > 0"
            )
            drag_profile = profiled(
                page,
                lambda: page.evaluate(
                    DRAG, {"name": "c", "seconds": args.drag_seconds, "every": 16}
                ),
            )
            profiles.append((f"200 gates: a {args.drag_seconds:.0f} s slider drag", drag_profile))
        browser.close()

    def med(rows: list[dict[str, float]], key: str) -> float:
        return statistics.median(r[key] for r in rows)

    print(f"draw: API answer -> painted, median of {args.repeats}")
    for name, rows, n in (
        ("baseline (x + y) * z", small, int(small[0]["gates"])),
        (f"{gates}-gate circuit", big, gates),
        (f"{int(huge[0]['gates'])}-gate circuit", huge, int(huge[0]["gates"])),
    ):
        print(
            f"  {name:24s} gates={n:4d} layout {med(rows, 'layout'):7.1f} ms  "
            f"SVG built {med(rows, 'drawn'):7.1f} ms  painted {med(rows, 'painted'):7.1f} ms "
            f"(min {min(r['painted'] for r in rows):.1f})"
        )
    ratio = med(big, "painted") / med(small, "painted")
    print(f"  ratio {gates} gates / baseline: {ratio:.1f}x   target: painted < 500 ms")
    print("layout engines (one run each; crossings between wire segments)")
    for row in layouts:
        print(
            f"  {row['gates']:4d} gates  {row['engine']:5s} {row['ms']:8.1f} ms  crossings {row['crossings']}"
        )
    print(
        f"animation: uncapped frames, {args.frames_seconds:.0f} s each (time between animation frames)"
    )
    for name, (n, speed, times, playing) in frames.items():
        label = "baseline (x + y) * z" if name == "baseline" else f"{n}-gate circuit"
        print(
            f"  {label:24s} gates={n:4d} at {speed} steps/s: {len(times):4d} frames, "
            f"median {statistics.median(times):6.2f} ms, p95 {sorted(times)[int(0.95 * len(times))]:6.2f} ms "
            f"(still playing at the end: {playing})"
        )
    ratio = statistics.median(frames["big"][2]) / statistics.median(frames["baseline"][2])
    print(f"  ratio: {ratio:.2f}x   target: median < 16.7 ms")
    print(
        f"slider drag: a new position every 16 ms for {args.drag_seconds:.0f} s; "
        "position due -> paint of a diagram showing it (or a later one)"
    )
    for name, result in drags.items():
        label = "baseline (x + y) * z" if name == "baseline" else f"{frames['big'][0]}-gate circuit"
        latency = [float(v) for v in result["latency"] if v is not None]
        missing = int(result["events"]) - len(latency)
        print(
            f"  {label:24s} {result['events']} positions in {result['dispatched']} input events, "
            f"{result['paints']} repaints, {result['own']} positions painted; latency median "
            f"{statistics.median(latency):6.1f} ms, p95 {percentile(latency, 0.95):6.1f} ms, "
            f"max {max(latency):6.1f} ms (never painted: {missing})"
        )
    big_drag = [float(v) for v in drags["big"]["latency"] if v is not None]
    print(f"  target: median < 100 ms (got {statistics.median(big_drag):.1f} ms)")
    if profiles:
        print("CPU profile (Chromium's sampling profiler, 0.2 ms interval)")
    for title, rows in profiles:
        print_profile(title, rows)


if __name__ == "__main__":
    main()
