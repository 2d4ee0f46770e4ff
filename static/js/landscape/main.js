/** The landscape page's wiring: state, requests and plots; a state change is the only path to a redraw. */
import { createClient, isAbort } from "../common/api.js";
import { csvText, downloadDiagram, downloadText } from "../common/export.js";
import { circuitLink } from "../common/links.js";
import { compareRequest, createCompareChart } from "./compare.js";
import { createControls } from "./controls.js";
import { createDataView, dataCsv, twoFeatures } from "./dataview.js";
import { createExamplesTable } from "./examples.js";
import { createHighlight } from "./highlight.js";
import { createTraining } from "./training.js";
import { createOpenCircuit } from "./opencircuit.js";
import { createPathView, drawPathOverlay } from "./path.js";
import { createPlot1d } from "./plot1d.js";
import { createPlot2d } from "./plot2d.js";
import { createPlotGrad } from "./plotgrad.js";
import {
  baseLossRequest,
  inPathPlane,
  lossRequest,
  moveInPlane,
  numericalGradientRequest,
  optimizeRequest,
  plane,
  slice1dRequest,
  slice2dRequest,
} from "./problem.js";
import { renderReadout } from "./readout.js";
import { csvRows, pathStep, readoutEntries, relativeSlice, shiftOf } from "./shown.js";
import { createLandscapeStore } from "./state.js";

const PROGRESS_AFTER_MS = 250;
const PLAYING_TABLE_MS = 250; // the examples table's refresh while training plays
const MAX_TABLE_CELLS = 60; // W is editable as a table up to this many weights
const byId = (id) => document.getElementById(id);

const store = createLandscapeStore();
const progress = byId("ls-progress");
const progressText = byId("ls-progress-text");
let busySince = 0;
let busyTimer = null;
let waitNote = ""; // why nothing moves while a 429 is waited out (the API client retries)
const client = createClient({
  base: "/api/v1/landscape",
  onWait(channel, seconds) {
    waitNote = ` (your share of the server is used for now: asking again in ${seconds} s)`;
  },
  onBusy(count, label) {
    clearInterval(busyTimer);
    if (count === 0) {
      if (!progress.hidden) progress.hidden = true;
      busySince = 0;
      waitNote = "";
      return;
    }
    busySince = busySince || performance.now();
    // shown once a request has taken PROGRESS_AFTER_MS: a fast answer (each played training
    // step asks two) would otherwise flash the line, and an indeterminate <progress> repaints
    // every frame while it is on screen
    const tick = () => {
      const ms = performance.now() - busySince;
      const hide = ms < PROGRESS_AFTER_MS;
      if (progress.hidden !== hide) progress.hidden = hide;
      if (!hide) progressText.textContent = `computing ${label}… ${(ms / 1000).toFixed(1)} s${waitNote}`;
    };
    tick();
    busyTimer = setInterval(tick, 100);
  },
});

// the latest answers, and the request each answered, so an unchanged request is not sent again
const memo = new Map();
async function cached(channel, path, body) {
  const key = JSON.stringify(body);
  const hit = memo.get(channel);
  if (hit && hit.key === key) return hit.answer;
  const answer = await client.post(channel, path, body);
  memo.set(channel, { key, answer });
  return answer;
}

let base = null; // the /loss answer for W0: its W, and the shape C x D
let baseDataKey = null; // the data set (and bias column) whose points base.X holds
let current = { plane: null, loss: null, slice1: null, slice2: null, path: null, grad: null, compare: null };

// the example hovered or focused in the data view, its table or the 1-D plot, marked in all
// three; transient, so it stays out of the store and the link
const hotExample = createHighlight();
const plot1d = createPlot1d(byId("ls-plot1d"), {
  highlight: hotExample,
  // a click moves W along the line (onto a kink when near one); W becomes the edited table, so
  // only a W small enough for the table moves
  onPick(alpha) {
    const s = store.get();
    const p = current.plane;
    if (!p || !base || base.c * base.d > MAX_TABLE_CELLS) return;
    let W;
    if (s.dir === "axis") {
      W = p.W.map((row) => row.slice());
      W[s.axc][s.axd] += alpha;
    } else if (p.explicit) {
      W = moveInPlane(p.W, p.D1, p.D2, alpha, 0);
    } else return;
    store.set({ winit: "table", W, ca: 0, cb: 0 }, { push: true });
  },
});
const plot2d = createPlot2d(byId("ls-plot2d"), {
  onPick(i, j) {
    // the plane of a path is the path's own: moving W would change the path, so clicks do not
    if (!current.slice2 || current.slice2.path_plane) return;
    const s = store.get();
    const p = current.plane;
    const slice = relativeSlice(current.slice2, shiftOf(current, s)); // what was clicked: relative to W
    if (s.winit === "table" && p.explicit) {
      // an edited W simply becomes the clicked point, so the table shows where W now is
      const W = moveInPlane(p.W, p.D1, p.D2, slice.alphas[i], slice.betas[j]);
      store.set({ W, ca: 0, cb: 0, pstep: -1 }, { push: true });
      return;
    }
    const round = (v) => Number(v.toPrecision(12));
    store.set({ ca: round(s.ca + slice.alphas[i]), cb: round(s.cb + slice.betas[j]), pstep: -1 }, { push: true });
  },
});
const plotGrad = createPlotGrad(byId("ls-plotgrad"));
const compareChart = createCompareChart(byId("ls-compare-chart"), byId("ls-compare-legend"));
const catalog = JSON.parse(byId("ls-controls").dataset.catalog);
// an edited point set becomes the page's own CSV data, so the link reproduces it; W is kept
const dataView = createDataView(byId("ls-dataview"), {
  highlight: hotExample,
  onEdit(X, labels) {
    const W = current.plane?.W;
    const csv = dataCsv(X, labels, store.get().bias);
    store.set({ dataset: "custom", csv, ...(W ? { winit: "table", W } : {}), ca: 0, cb: 0 }, { push: true });
  },
});
const examplesTable = createExamplesTable(byId("ls-examples"), { highlight: hotExample });
byId("ls-dv-class").addEventListener("change", () => drawData(store.get()));
const training = createTraining(byId("ls-train"), {
  store,
  maxWeights: MAX_TABLE_CELLS,
  now: () => ({ W: current.plane?.W ?? null, grad: current.loss?.grad_W ?? null, loss: current.loss?.loss ?? null }),
});
const pathView = createPathView(byId("ls-pathchart"), { onStep: (k) => store.set({ pstep: k }) });
const controls = createControls(byId("ls-controls"), store, {
  shape: () => (base ? [base.c, base.d] : null),
  currentW: () => current.plane?.W ?? base?.W ?? null,
  maxTableCells: MAX_TABLE_CELLS,
});

// while training plays, the W table's and the examples table's numbers are written at most every
// PLAYING_TABLE_MS
const tableThrottle = () => (training.playing() ? PLAYING_TABLE_MS : 0);
const syncControls = (state) => controls.sync(state, { throttleMs: tableThrottle() });

function showError(error) {
  const box = byId("ls-error");
  box.hidden = !error;
  box.textContent = error ? error.message : "";
}

function drawPath(state) {
  const path = state.view === "2d" && state.method !== "none" ? current.path : null;
  const step = pathStep(current, state);
  // with range-shifted planes the path is measured from W0, which sits at (-ca, -cb)
  const shift = shiftOf(current, state);
  drawPathOverlay(plot2d.pathLayer, plot2d.scales(), path ? path.path : null, step, shift);
  pathView.update(path, step);
  const slider = byId("ls-step");
  slider.max = String(path ? path.losses.length - 1 : 0);
  slider.value = String(step);
  byId("ls-step-out").textContent = path ? `step ${step} / ${path.losses.length - 1}` : "";
  byId("ls-play").textContent = pathView.playing() ? "Pause" : "Play";
  const notes = byId("ls-path-notes"); // the API's notes on the run, beside the path's settings
  notes.hidden = !path?.notes?.length;
  notes.textContent = path?.notes?.join(" ") ?? "";
  const note = byId("ls-path-note");
  note.textContent = path
    ? `At step ${step}: loss ${path.losses[step].toPrecision(6)}, ${path.path.off_plane[step].toPrecision(3)} off the plane ` +
      "(distance in weight space; hollow points are far off it, so the heatmap under them is not their loss)." +
      (shift[0] || shift[1] ? " The path starts at the original W, since this W is too large to move by hand." : "")
    : "";
}

function drawReadout(state) {
  renderReadout(byId("ls-readout"), readoutEntries(current, state));
}

/** One weight's name and value when the 1-D direction is that weight (the x-axis shows it). */
function weightShown(state) {
  const value = current.plane?.W?.[state.axc]?.[state.axd];
  return state.dir === "axis" && Number.isFinite(value) ? { name: `W[${state.axc},${state.axd}]`, value } : null;
}

function draw(state) {
  syncControls(state);
  if (state.view === "1d" && current.slice1 && current.loss) {
    plot1d.update(current.slice1, current.slice1.origin.loss, {
      showExamples: state.li,
      showTerms: state.terms,
      hasQuadratic: state.reg > 0,
      weight: weightShown(state),
    });
  }
  if (state.view === "grad" && current.grad) plotGrad.update(current.grad);
  if (state.view === "2d" && current.slice2) {
    plot2d.update(relativeSlice(current.slice2, shiftOf(current, state)), { pathPlane: Boolean(current.slice2.path_plane) });
  }
  compareChart.update(state.cmp === "off" ? null : current.compare);
  drawData(state);
  training.drawn();
  drawPath(state);
  drawReadout(state);
  openCircuit.update(current.loss, state);
}

/** The data view and its table, for two-feature data (hidden otherwise). */
function drawData(state) {
  const shape = twoFeatures(base?.X);
  const W = current.plane?.W;
  const box = byId("ls-databox");
  box.hidden = !shape || !W || !current.loss || W[0].length !== base.X[0].length;
  if (box.hidden) return;
  const select = byId("ls-dv-class");
  if (select.options.length !== W.length) {
    select.replaceChildren(...W.map((_, c) => new Option(`class ${c}`, String(c))));
  }
  const data = { X: base.X, labels: base.y, W };
  dataView.update({ ...data, bias: shape.bias, addClass: Number(select.value) });
  examplesTable.update({ ...data, loss: current.loss, softmax: state.loss === "softmax" }, { throttleMs: tableThrottle() });
}

/** The answers the shown view needs (the last ones for the views not shown). */
async function viewAnswers(state, p) {
  let { slice1, slice2, grad } = current;
  let path = null;
  if (state.view === "grad") {
    grad = await cached("grad", "/numerical-gradient", numericalGradientRequest(state, p));
  } else if (state.view === "1d") {
    slice1 = await cached("slice", "/slice", slice1dRequest(state, p));
  } else {
    // marks for bench/landscape_page.py: request sent -> heatmap drawn (after the next paint)
    performance.mark("ls:slice-request");
    slice2 = await cached("slice", "/slice", slice2dRequest(state, p));
    performance.mark("ls:slice-answered");
    if (inPathPlane(state)) path = slice2.path; // the slice's answer carries the run it was taken along
    else if (state.method !== "none") path = await cached("optimize", "/optimize", optimizeRequest(state, p));
  }
  return { slice1, slice2, path, grad };
}

let generation = 0;
/** Fetches what the state needs (unchanged requests come from the memo), then draws. */
async function refresh() {
  const mine = ++generation;
  const state = store.get();
  try {
    if (state.dataset === "custom" && !state.csv.trim()) {
      throw new Error("Paste a CSV (features, then the class label in the last column) or upload one.");
    }
    const baseBody = baseLossRequest(state);
    // the points come back once for each data set: a step that only moves W (every training
    // step) keeps the ones it has, and its answer is a third of the size
    const dataKey = JSON.stringify([baseBody.dataset, baseBody.bias]);
    const keptData = baseBody.include_data && base?.X && baseDataKey === dataKey ? { X: base.X, y: base.y } : null;
    if (keptData) delete baseBody.include_data;
    const baseAnswer = cached("base", "/loss", baseBody);
    // A W given as a table is W0 itself, with the table's shape: the plane, and so the view's
    // request, need not wait for the base answer (every training step is such a W), and the
    // two go out together
    const given = state.winit === "table" && state.W?.length ? { c: state.W.length, d: state.W[0].length, W: state.W } : null;
    const early = given ? viewAnswers(state, plane(state, given)) : null;
    early?.catch(() => {}); // awaited below, after the base answer, whose error comes first
    const answer = await baseAnswer;
    if (mine !== generation) return;
    base = keptData ? { ...answer, ...keptData } : answer;
    baseDataKey = base.X ? dataKey : null;
    syncControls(state);
    const p = plane(state, base);
    const lossBody = lossRequest(state, p);
    // W0 itself (not moved, not zeros) was already answered by the base request
    const same = (state.ca === 0 && state.cb === 0 && state.winit !== "zeros") || JSON.stringify(lossBody) === JSON.stringify(baseBody);
    // only the numbers are read from this answer (W is the plane's): W is not asked back
    const lossAnswer = same ? base : await cached("loss", "/loss", lossBody);
    if (mine !== generation) return;
    const { slice1, slice2, path, grad } = await (early ?? viewAnswers(state, p));
    // a comparison over budget (five runs cost five times one) is said in its own box, and the
    // rest of the page still draws
    let compare = null;
    let compareError = null;
    if (state.cmp !== "off") {
      try {
        compare = await cached("compare", "/compare", compareRequest(state, p, catalog.optimizers));
      } catch (error) {
        if (isAbort(error)) throw error;
        compareError = error;
      }
    }
    const compareBox = byId("ls-compare-error");
    compareBox.hidden = !compareError;
    compareBox.textContent = compareError ? compareError.message : "";
    if (mine !== generation) return;
    current = { plane: p, loss: lossAnswer, slice1, slice2, path, grad, compare };
    showError(null);
    draw(state);
    document.body.dataset.ready = String(mine);
    if (state.view === "2d") {
      requestAnimationFrame(() => setTimeout(() => performance.mark("ls:heatmap-drawn"), 0));
    }
  } catch (error) {
    if (isAbort(error) || mine !== generation) return;
    showError(error);
    syncControls(state);
    openCircuit.update(null, state);
    document.body.dataset.ready = String(mine);
  }
}

let scheduled = false;
store.subscribe((state, changed) => {
  if ([...changed].every((k) => k === "pstep")) {
    drawPath(state);
    drawReadout(state);
    return;
  }
  if (changed.has("method") || changed.has("psteps")) pathView.stop();
  if (scheduled) return;
  scheduled = true;
  queueMicrotask(() => {
    scheduled = false;
    refresh();
  });
});

byId("ls-play").addEventListener("click", () => {
  if (pathView.playing()) pathView.stop();
  else pathView.play(pathStep(current, store.get()));
  byId("ls-play").textContent = pathView.playing() ? "Pause" : "Play";
});
byId("ls-step").addEventListener("input", (event) => {
  pathView.stop();
  store.set({ pstep: event.target.valueAsNumber });
});

function visibleSvg() {
  return { "1d": plot1d.svg, "2d": plot2d.svg, grad: plotGrad.svg }[store.get().view];
}
const fileStem = () => `landscape-${store.get().dataset}-${store.get().view}`;
// computed styles copied onto the exported copy, since the page's stylesheet does not travel with it
const PLOT_EXPORT = {
  inline: ["fill", "fill-opacity", "stroke", "stroke-width", "stroke-dasharray", "stroke-opacity",
    "opacity", "font-size", "font-family", "font-weight", "text-anchor", "visibility", "image-rendering"],
  background: "#ffffff",
  prepare: (copy) => copy.querySelectorAll(".hover, .hover-overlay").forEach((el) => el.remove()),
};
const downloadCsv = (rows, filename) => downloadText(csvText(rows), "text/csv", filename);
byId("ls-dl-svg").addEventListener("click", () => downloadDiagram(visibleSvg(), `${fileStem()}.svg`, PLOT_EXPORT));
byId("ls-dl-png").addEventListener("click", () => downloadDiagram(visibleSvg(), `${fileStem()}.png`, PLOT_EXPORT));
byId("ls-dl-csv").addEventListener("click", () => {
  const rows = csvRows(current, store.get());
  if (rows) downloadCsv(rows, `${fileStem()}.csv`);
});

const openCircuit = createOpenCircuit({
  button: byId("ls-open-circuit"),
  scopeSelect: byId("ls-circuit-scope"),
  exampleInput: byId("ls-circuit-example"),
  note: byId("ls-circuit-note"),
  store,
  async open(scope, example) {
    const state = store.get();
    if (!base) return;
    const body = { ...lossRequest(state, plane(state, base)), scope, ...(scope === "example" ? { example } : {}) };
    try {
      const answer = await client.post("circuit", "/circuit", body);
      // tie=first: at a margin of exactly 0, max(0, m) gives all its gradient to the 0, as the
      // landscape counts such a hinge inactive (the circuit page's default splits a tie evenly)
      window.location.assign(`${circuitLink(answer)}&tie=first`);
    } catch (error) {
      if (!isAbort(error)) showError(error);
    }
  },
});

refresh();
