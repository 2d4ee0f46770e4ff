/** The circuit page's wiring: the store drives evaluation, drawing, animation and panels; setting state is the only path to a redraw. */

import { Evaluator, fetchPresets } from "./api.js";
import { AnimationController } from "./animation.js";
import { collapseStages } from "./collapse.js";
import { hideProblem, showProblem } from "./editor.js";
import { evaluateCorrecting, requestBody, requestKey } from "./evaluation.js";
import { copyLink, downloadCircuit, downloadJson } from "./exporter.js";
import { fmt, fmtText } from "./format.js";
import { showHeatmaps } from "./heatmap.js";
import { InputsTable } from "./inputs.js";
import { layoutCircuit, structureKey } from "./layout.js";
import { readAnswer } from "./model.js";
import { nudgedInputs, predictedChange, showGradcheck } from "./panels.js";
import { CircuitView } from "./render.js";
import { Presentation } from "./presentation.js";
import { PROPERTIES, defaultState } from "./state.js";
import { StepsTable } from "./table.js";
import { buildTimeline } from "./timeline.js";
import { ZoomControl } from "./zoom.js";
import { isAbort } from "../common/api.js";
import { bindInputs, createStore } from "../common/store.js";

const $ = (id) => document.getElementById(id);
// A change to these properties asks for a new evaluation after this many ms of quiet (typing settles first).
// (inputs: sliders and value fields go out live, see evaluateLive)
const EVALUATE_AFTER_MS = { expression: 200, outputGrad: 200, inputs: 0, tieBreak: 0, gradcheck: 0 };

const store = createStore(PROPERTIES, { place: "hash" });

/** What is on screen: the last good answer, what is drawn of it (stages collapsed or not), its layout. */
const shown = { response: null, circuit: null, layout: null, structure: "" };
let presets = [];
let answeredKey = ""; // the request the answer on screen belongs to
let pendingNudge = null; // a nudge waiting for its answer: the output before, and the predicted change
let debounce = 0;
let drawing = false; // an answer is being drawn (show): the step it opens at goes into the link after its paint

/** The link to what is on screen: the state's own address (the address bar may wait for a
 * deferred write, store.js), written out once per state. */
let linked = { state: null, href: "" };
function shareLink() {
  const state = store.get();
  if (linked.state !== state) linked = { state, href: new URL(store.url(), location.href).href };
  return linked.href;
}

/** Puts the link into the share field, when it changed (a drag's answers mostly leave it as it is). */
function showLink() {
  const field = $("share-link");
  const href = shareLink();
  if (field.value !== href) field.value = href;
}

const evaluator = new Evaluator();
const view = new CircuitView($("circuit"), {
  onTensorClick: (edge) => showHeatmaps($("heatmap-dialog"), shown.circuit, edge),
  legend: $("legend"),
});
// the zoom and pan the reader chose go into the link; a fit (the default view) takes them out
const zoom = new ZoomControl($("circuit"), view.viewport, {
  onViewChange: (v) => store.set({ view: v }),
  onLabels: () => view.showLabels(),
  onSymbols: () => view.showSymbols(),
});
let viewFromLink = store.get().view; // a link's zoom and pan, applied once its circuit is drawn
let linkInputs = { ...store.get().inputs }; // the link's or preset's inputs, which "reset inputs" restores
const inputs = new InputsTable($("inputs-body"), {
  onChange: (name, value, { continuous = false } = {}) =>
    store.set({ inputs: { ...store.get().inputs, [name]: value } }, { later: continuous }),
});
const table = new StepsTable($("steps-body"), { onJump: (t) => animation.jumpTo(t) });
const animation = new AnimationController({
  view,
  table,
  // (a step that did not change writes nothing: an empty set would write a drag's pending link
  // at once, on every answer; while an answer is drawn the link is written after its paint)
  onStop: (t) => {
    if (store.get().step !== Math.round(t)) store.set({ step: Math.round(t) }, { later: drawing });
  },
  // the active gate stays on screen while stepping (a readable zoom on a phone shows part of the circuit)
  // (only when the step changes: a redraw for new values leaves a view the reader panned alone)
  onActive: (index) => {
    if (index === followed) return;
    followed = index;
    const step = animation.timeline?.steps[index];
    if (step && !holdView && shown.layout) zoom.keepInView(shown.layout.nodes[step.node]);
  },
});
let followed = null; // the step the view last followed
let holdView = false; // while a link's own view is being restored, the view does not follow the gate
const { player } = animation;
const presentation = new Presentation($("present"), {
  onChange: (on) => store.set({ present: on }),
  // the diagram's frame changed size: fit the circuit to it again
  onShown: () => {
    zoom.measure(); // the frame's new size, before the ResizeObserver reports it
    if (shown.layout) zoom.fit(shown.layout, shown.layout.engine === "dagre");
  },
});

// every [data-state] control mirrors one state property
const syncInputs = bindInputs([...document.querySelectorAll("[data-state]")], store, {
  parse: {
    outputGrad: (text) => {
      const value = text.trim() === "" ? NaN : Number(text.replace("−", "-"));
      const ok = Number.isFinite(value);
      // a gradient that is not a number is said so, next to the field, rather than ignored
      const problem = $("output-grad-problem");
      problem.hidden = ok;
      problem.textContent = ok ? "" : `“${text}” is not a finite number: the output gradient stays ${fmt(store.get().outputGrad)}.`;
      $("output-grad").setAttribute("aria-invalid", String(!ok));
      return ok ? value : null;
    },
    speed: Number,
  },
});

// ------------------------------------------------------------------ evaluation

function schedule(delay) {
  clearTimeout(debounce);
  debounce = setTimeout(evaluate, delay);
}

// Live values (a slider being dragged): at most one request in flight, and when its answer is
// drawn the latest values go out at once. The diagram keeps up with the drag at the server's
// pace, with no timer that a steady stream of input events keeps restarting, and no queue.
let sent = 0; // evaluations started; the one whose number this is, is the latest
let inFlight = false;
let pending = false; // values changed while a request was in flight

function evaluateLive() {
  clearTimeout(debounce);
  if (inFlight) pending = true;
  else evaluate({ live: true });
}

/** Evaluates the state's circuit and draws the answer; `live` while a slider is dragged. */
async function evaluate({ live = false } = {}) {
  clearTimeout(debounce);
  const mine = ++sent;
  inFlight = true;
  pending = false;
  const body = requestBody(store.get());
  setStatus("Evaluating…");
  let answer;
  try {
    answer = await evaluateCorrecting(evaluator, body, () => store.get().inputs);
  } catch (err) {
    if (!isAbort(err)) showError(err);
    if (mine === sent) {
      inFlight = false;
      if (pending && requestKey(store.get()) !== answeredKey) evaluate({ live: true });
    }
    return;
  }
  for (const name of ["bpc:response", "bpc:laid-out", "bpc:drawn"]) performance.clearMarks(name);
  performance.mark("bpc:response");
  const decoded = readAnswer(answer, body.expression);
  if (mine === sent) {
    inFlight = false;
    // values moved while this request was out go out now, before this answer is drawn: the
    // server computes the next answer while the page draws this one (a drag keeps up)
    if (pending && requestKey(store.get()) !== keyOfAnswer(decoded, body.inputs)) evaluate({ live: true });
  }
  show(decoded, body.inputs, { live });
  // the values drawn go with the mark: bench/frontend.py times a slider drag from each input
  // event to the paint of a diagram that shows its value
  performance.mark("bpc:drawn", { detail: body.inputs });
  // a counter that tests and the benchmark wait on
  const svg = $("circuit");
  svg.dataset.evaluations = String(Number(svg.dataset.evaluations || 0) + 1);
}

function showError(err) {
  const svg = $("circuit");
  svg.dataset.errors = String(Number(svg.dataset.errors || 0) + 1);
  const problem = err.detail ? err.detail[0] : { msg: String(err.message || err) };
  showProblem($("parse-error"), store.get().expression, problem);
  $("expression").setAttribute("aria-invalid", "true");
  view.setStale(Boolean(shown.circuit));
  setStatus(shown.circuit ? "The diagram shows the last circuit that worked (dimmed)." : "");
  pendingNudge = null;
  showLink(); // the link holds what was typed, error and all
}

/** The request key of what an answer was computed from (the inputs it uses, as sent). */
function keyOfAnswer(answer, sentInputs) {
  return requestKey({ ...store.get(), inputs: Object.fromEntries(answer.inputs.map((name) => [name, sentInputs[name]])) });
}

/** Draws an answer; `sentInputs` are the values it was computed from, `live` while a slider is dragged. */
function show(answer, sentInputs, { live = false } = {}) {
  hideProblem($("parse-error"));
  $("expression").setAttribute("aria-invalid", "false");
  view.setStale(false);
  answeredKey = keyOfAnswer(answer, sentInputs);
  // keep only the inputs this expression uses; one moved since the request went out keeps its
  // newer value (setting the sent one back would lose the end of a slider drag)
  const now = store.get().inputs;
  const used = Object.fromEntries(answer.inputs.map((name) => [name, name in now ? now[name] : sentInputs[name]]));
  if (JSON.stringify(used) !== JSON.stringify(now)) store.set({ inputs: used });
  const state = store.get();
  inputs.show(answer.inputs, used);

  shown.response = answer;
  const circuit = state.collapse ? collapseStages(answer) : answer;
  const key = structureKey(circuit);
  const structureChanged = key !== shown.structure;
  shown.circuit = circuit;
  const timeline = buildTimeline(circuit);
  animation.load(circuit, timeline, { fresh: structureChanged });
  const length = timeline.steps.length;
  if (structureChanged) {
    shown.layout = layoutCircuit(circuit);
    performance.mark("bpc:laid-out");
    shown.structure = key;
    // fit first: measuring the frame now, before the new drawing exists, forces no layout of it
    followed = null;
    if (!viewFromLink) {
      zoom.fit(shown.layout, true);
      store.set({ view: null });
    }
    view.draw(circuit, shown.layout);
  }
  if (viewFromLink) {
    zoom.set(viewFromLink);
    viewFromLink = null;
    holdView = true;
  }
  view.setNumbers(circuit, state.outputGrad);
  table.draw(circuit, timeline, { fresh: structureChanged, live });
  $("scrubber").max = String(length);
  player.setLength(length);
  const t = state.step === null ? length : Math.min(state.step, length);
  drawing = true;
  try {
    if (structureChanged || !player.playing) player.seek(t);
  } finally {
    drawing = false;
  }
  holdView = false;
  showGradcheck($("gradcheck"), circuit.gradcheck);
  reportNudge(circuit);
  const warnings = (circuit.warnings || []).map((w) => fmtText(w.msg)).join("; ");
  setStatus(`Output ${fmt(circuit.output.value)}${warnings ? ` (warning: ${warnings})` : ""}`);
  showLink();
}

function reportNudge(circuit) {
  const nudge = pendingNudge;
  if (!nudge) return;
  pendingNudge = null;
  const after = circuit.output.value;
  $("nudge-result").textContent =
    `Nudged every input by 0.01 · its gradient: output ${fmt(nudge.before)} → ${fmt(after)} ` +
    `(change ${fmt(after - nudge.before)}; the gradient predicted +${fmt(nudge.predicted)}).`;
}

function setStatus(text) {
  const status = $("status");
  if (status.textContent !== text) status.textContent = text;
}

// ------------------------------------------------------------------ state -> page

/** Puts the state's values into the form controls (a speed that is not in the list gets an option). */
function syncControls(state) {
  const speed = $("speed");
  if (![...speed.options].some((o) => o.value === String(state.speed))) {
    const option = document.createElement("option");
    option.value = String(state.speed);
    option.textContent = `${state.speed}×`;
    speed.appendChild(option);
  }
  syncInputs(state);
}

store.subscribe((state, changed) => {
  // a typed expression opens at the end of its own backward pass, not at the old circuit's step
  // (a link or the history changes every property at once, and keeps its step)
  if (changed.has("expression") && !changed.has("step") && state.step !== null) store.set({ step: null });
  syncControls(state);
  showLink();
  if (changed.has("inputs")) showResettable(state.inputs);
  if (changed.has("speed")) player.speed = state.speed;
  if (changed.has("predict")) animation.setPredict(state.predict);
  if (changed.has("present")) presentation.show(state.present);
  const delays = [...changed].map((name) => EVALUATE_AFTER_MS[name]).filter((ms) => ms !== undefined);
  const live = changed.has("inputs") && delays.length === 1; // only values moved: keep up
  if (delays.length && requestKey(state) !== answeredKey) {
    if (live) evaluateLive();
    else schedule(Math.min(...delays));
  }
  else if (changed.has("collapse") && shown.response) show(shown.response, state.inputs);
});

// a link opened on this page (the hash changed) is shown as it is, even when only the step moved
window.addEventListener("hashchange", () => {
  viewFromLink = store.get().view;
  linkInputs = { ...store.get().inputs };
  evaluate();
});

// ------------------------------------------------------------------ controls

$("play").addEventListener("click", () => animation.togglePlay());
$("step-forward").addEventListener("click", () => animation.stepForward());
$("step-back").addEventListener("click", () => animation.stepBack());
$("restart").addEventListener("click", () => animation.restart());
$("scrubber").addEventListener("input", () => animation.jumpTo(Number($("scrubber").value)));

document.addEventListener("keydown", (ev) => {
  const target = ev.target;
  if (ev.altKey || ev.ctrlKey || ev.metaKey || !target.closest) return;
  if (target.closest("input, textarea, select, dialog")) return; // the field's own keys win
  // on a focused button or row, space and Enter keep their native meaning (press it)
  const pressable = target.closest("button, [role=button], tr");
  if (ev.key === " " && !pressable) animation.togglePlay();
  else if (ev.key === "ArrowRight") animation.stepForward();
  else if (ev.key === "ArrowLeft") animation.stepBack();
  else return;
  ev.preventDefault();
});

// a typed expression is no longer the chosen example
$("expression").addEventListener("input", () => {
  $("preset").value = "";
  $("preset-description").textContent = "";
});

$("preset").addEventListener("change", () => {
  const preset = presets.find((p) => p.id === $("preset").value);
  if (preset) applyPreset(preset);
});

$("nudge").addEventListener("click", () => {
  const circuit = shown.circuit;
  if (!circuit) return;
  pendingNudge = { before: circuit.output.value, predicted: predictedChange(circuit.gradients) };
  store.set({ inputs: nudgedInputs(store.get().inputs, circuit.gradients) });
  evaluate();
});

/** The link's or preset's values of the inputs the circuit has now (names it did not give keep theirs). */
function resetValues(current) {
  return Object.fromEntries(Object.entries(current).map(([name, v]) => [name, name in linkInputs ? linkInputs[name] : v]));
}

function showResettable(current) {
  $("reset-inputs").disabled = JSON.stringify(resetValues(current)) === JSON.stringify(current);
}

$("reset-inputs").addEventListener("click", () => {
  $("nudge-result").textContent = "";
  store.set({ inputs: resetValues(store.get().inputs) });
});

$("copy-link").addEventListener("click", async () => {
  showLink();
  const copied = await copyLink(shareLink()).catch(() => false);
  $("share-link").select();
  setStatus(copied ? "Link copied." : "Select the link below and copy it.");
});
// a download has every label, even of an overview that does not draw them (render.js)
function download(format) {
  if (!shown.layout) return;
  view.showLabels();
  downloadCircuit($("circuit"), shown.layout, format).catch(showError);
}
$("download-svg").addEventListener("click", () => download("svg"));
$("download-png").addEventListener("click", () => download("png"));
$("download-json").addEventListener("click", () => shown.response && downloadJson(shown.response));
$("zoom-in").addEventListener("click", () => zoom.by(1.25));
$("zoom-out").addEventListener("click", () => zoom.by(0.8));
$("zoom-fit").addEventListener("click", () => {
  if (!shown.layout) return;
  zoom.fit(shown.layout);
  store.set({ view: null });
});

function applyPreset(preset) {
  linkInputs = { ...preset.inputs };
  store.set({ ...defaultState(), expression: preset.expression, inputs: { ...preset.inputs } });
  $("preset").value = preset.id;
  $("preset-description").textContent = preset.description || "";
  $("nudge-result").textContent = "";
  evaluate();
}

async function start() {
  const state = store.get();
  syncControls(state);
  player.speed = state.speed;
  animation.setPredict(state.predict);
  presentation.show(state.present);
  showLink();
  try {
    presets = await fetchPresets();
  } catch (err) {
    showError(err);
    return;
  }
  const select = $("preset");
  for (const preset of presets) {
    const option = document.createElement("option");
    option.value = preset.id;
    option.textContent = preset.title;
    select.appendChild(option);
  }
  if (!store.get().expression) {
    applyPreset(presets[0]);
    return;
  }
  const match = presets.find((p) => p.expression === store.get().expression);
  if (match) {
    select.value = match.id;
    $("preset-description").textContent = match.description || "";
  }
  evaluate();
}

start();
