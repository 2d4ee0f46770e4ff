/** Training you can watch: gradient-descent steps W -= lr · dW taken with the /loss answer's dW; step, play, pause and scrub back, every view following W. */
/* global d3 */
import { drawAxis } from "../common/axis.js";
import { setProp } from "../common/writes.js";

const WIDTH = 300;
const HEIGHT = 150;
const MARGIN = { top: 10, right: 10, bottom: 28, left: 44 };
const MAX_PLAYED = 500; // play stops by itself after this many steps

// the step axis ends at 1, 2 or 5 × 10^k steps and grows only when training passes its end, so its
// ticks stay put while steps are added
const axisEnd = (n) => {
  const p = 10 ** Math.floor(Math.log10(n));
  return [1, 2, 5, 10].map((m) => m * p).find((v) => v >= n);
};
const sameW = (a, b) => Boolean(a && b) && JSON.stringify(a) === JSON.stringify(b);

/**
 * `box` holds #ls-train-step, #ls-train-play, #ls-train-scrub, #ls-train-out and
 * #ls-train-chart; `now()` gives the drawn state's {W, grad, loss} (or nulls while loading);
 * W may have at most `maxWeights` weights.
 * W moves through the store (a table W), so the data view, the slices and the readout follow.
 */
export function createTraining(box, { store, now, maxWeights }) {
  const q = (sel) => box.querySelector(sel);
  const svg = d3.select(q("#ls-train-chart")).append("svg").attr("class", "plot train-chart")
    .attr("viewBox", `0 0 ${WIDTH} ${HEIGHT}`).attr("role", "img").attr("aria-label", "Loss at each training step");
  const x = d3.scaleLinear().range([MARGIN.left, WIDTH - MARGIN.right]);
  const y = d3.scaleLinear().range([HEIGHT - MARGIN.bottom, MARGIN.top]);
  const gx = svg.append("g").attr("class", "axis axis-x").attr("transform", `translate(0,${HEIGHT - MARGIN.bottom})`);
  const gy = svg.append("g").attr("class", "axis axis-y").attr("transform", `translate(${MARGIN.left},0)`);
  const curve = svg.append("path").attr("class", "train-loss");
  const marker = svg.append("circle").attr("class", "train-marker").attr("r", 4);
  let history = []; // {W, loss} per step; loss is filled in once that W has been drawn
  let at = -1; // the step shown
  let playing = false;
  let played = 0;
  let waiting = false; // a step's W is not drawn yet: no other step may start from the old one
  let scheduled = false; // the next played step is asked for (one at a time)

  /** One update from the shown W: the history after it is dropped (a new branch). */
  function step() {
    const { W, grad, loss } = now();
    if (!W || !grad) return false;
    if (W.length * W[0].length > maxWeights) {
      // each step's W lives in the link as a table, which stays readable only while W is small
      q("#ls-train-out").textContent = `W has ${W.length * W[0].length} weights: training here takes at most ${maxWeights}.`;
      return false;
    }
    if (at < 0 || !sameW(history[at]?.W, W)) {
      history = [{ W, loss }]; // W was moved some other way: training starts again from here
      at = 0;
    }
    history = history.slice(0, at + 1);
    const lr = store.get().lr;
    const next = W.map((row, c) => row.map((w, d) => w - lr * grad[c][d]));
    if (!next.every((row) => row.every(Number.isFinite))) return false;
    history.push({ W: next, loss: null });
    at = history.length - 1;
    waiting = true;
    showStep(); // the step is counted at once; its loss (and the chart's point) when its W is drawn
    // `later` while playing: steps come one a frame, and the address is written at most every 250 ms
    // (each history.replaceState is an IPC to the browser, a few ms that grow under load)
    store.set({ winit: "table", W: next, ca: 0, cb: 0 }, { later: playing });
    return true;
  }

  function setPlaying(on) {
    if (playing && !on) store.set({}); // a pause writes the address a played step left pending
    playing = on;
    played = 0;
    q("#ls-train-play").textContent = playing ? "Pause" : "Play";
  }

  q("#ls-train-step").addEventListener("click", () => {
    setPlaying(false);
    if (!waiting) step();
  });
  q("#ls-train-play").addEventListener("click", () => {
    setPlaying(!playing);
    if (playing && !waiting && !step()) setPlaying(false);
  });
  q("#ls-train-scrub").addEventListener("input", (event) => {
    setPlaying(false);
    waiting = false; // a scrub replaces whatever step was on its way
    at = event.target.valueAsNumber;
    store.set({ winit: "table", W: history[at].W, ca: 0, cb: 0 });
  });

  function drawChart() {
    const losses = history.map((h) => h.loss);
    const known = losses.filter(Number.isFinite);
    x.domain([0, axisEnd(Math.max(1, history.length - 1))]);
    y.domain([Math.min(0, d3.min(known) ?? 0), d3.max(known) || 1]).nice();
    drawAxis(gx, d3.axisBottom(x).ticks(5));
    drawAxis(gy, d3.axisLeft(y).ticks(4));
    curve.attr("d", d3.line().defined(Number.isFinite).x((d, k) => x(k)).y((d) => y(d))(losses));
    const shown = losses[at];
    marker.attr("visibility", Number.isFinite(shown) ? "visible" : "hidden")
      .attr("cx", x(Math.max(at, 0))).attr("cy", y(Number.isFinite(shown) ? shown : 0));
    showStep();
  }

  /** The slider and the "step k / n: loss" line. */
  function showStep() {
    const shown = history[at]?.loss;
    const scrub = q("#ls-train-scrub");
    setProp(scrub, "max", String(Math.max(0, history.length - 1)));
    setProp(scrub, "value", String(Math.max(0, at)));
    q("#ls-train-out").textContent = history.length ? `step ${at} / ${history.length - 1}${Number.isFinite(shown) ? `: loss ${shown.toPrecision(6)}` : ""}` : "";
  }

  /** Called after every redraw: records the loss of the W just drawn and takes the next step when playing. */
  function drawn() {
    const { W, loss } = now();
    // a redraw may come more than once for one W (or for the old W while a step is on its way)
    if (at >= 0 && sameW(history[at]?.W, W)) {
      history[at].loss = loss;
      waiting = false;
    }
    drawChart();
    if (playing && !waiting && !scheduled) {
      played += 1;
      if (played >= MAX_PLAYED || !Number.isFinite(loss)) {
        setPlaying(false);
        return;
      }
      scheduled = true;
      // the next step once this frame is painted, so each step is seen
      requestAnimationFrame(() => {
        scheduled = false;
        if (playing && !waiting && !step()) setPlaying(false);
      });
    }
  }

  return { drawn, playing: () => playing };
}
