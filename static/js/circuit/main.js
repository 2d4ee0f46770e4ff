/** The circuit page's controller: wires state, API, layout, drawing, animation and panels together. */

import { Evaluator, fetchPresets, isAbort } from "./api.js";
import { AnimationController } from "./animation.js";
import { collapseStages } from "./collapse.js";
import { guessInputNames, hideProblem, showProblem } from "./editor.js";
import { copyLink, downloadJson, downloadPng, downloadSvg } from "./exporter.js";
import { fmt } from "./format.js";
import { showHeatmaps } from "./heatmap.js";
import { InputsTable } from "./inputs.js";
import { layoutCircuit, structureKey } from "./layout.js";
import { readAnswer } from "./model.js";
import { nudgedInputs, predictedChange, showGradcheck } from "./panels.js";
import { CircuitView } from "./render.js";
import { defaultState, readState, writeState } from "./state.js";
import { StepsTable } from "./table.js";
import { buildTimeline } from "./timeline.js";
import { ZoomControl } from "./zoom.js";

const $ = (id) => document.getElementById(id);
const DEBOUNCE_MS = 200;
const DEFAULT_INPUT = 1;

const page = {
  state: readState(location.hash),
  presets: [],
  response: null, // the last good answer of the API
  circuit: null, // what is drawn: the answer, or the answer with its stages collapsed
  timeline: null,
  layout: null,
  structure: "",
  lastActive: -2,
  predicted: new Set(),
  pendingNudge: null,
  debounce: 0,
};

const evaluator = new Evaluator();
const view = new CircuitView($("circuit"), { onTensorClick: (edge) => showHeatmaps($("heatmap-dialog"), page.circuit, edge) });
const zoom = new ZoomControl($("circuit"), view.viewport);
const inputs = new InputsTable($("inputs-body"), {
  onChange(name, value) {
    page.state.inputs[name] = value;
    schedule(DEBOUNCE_MS / 2);
  },
});
const table = new StepsTable($("steps-body"), { onJump: (t) => animation.jumpTo(t) });
const animation = new AnimationController(page, { view, table, onStop: stopped });
const { player } = animation;

// ------------------------------------------------------------------ evaluation

function schedule(delay = DEBOUNCE_MS) {
  clearTimeout(page.debounce);
  page.debounce = setTimeout(evaluate, delay);
}

function requestBody() {
  const { state } = page;
  const names = guessInputNames(state.expression);
  const values = {};
  for (const name of names) values[name] = name in state.inputs ? state.inputs[name] : DEFAULT_INPUT;
  const body = { expression: state.expression, inputs: values, output_grad: state.outputGrad, tie_break: state.tieBreak, format: "compact" };
  if (state.gradcheck) body.gradcheck = true;
  return body;
}

async function evaluate() {
  clearTimeout(page.debounce);
  const body = requestBody();
  setStatus("Evaluating…");
  let answer;
  for (let attempt = 0; ; attempt++) {
    try {
      answer = await evaluator.evaluate(body);
      break;
    } catch (err) {
      if (isAbort(err)) return;
      // the input names were guessed on this side; the server's list of names corrects the guess
      const problem = err.detail && err.detail[0];
      if (attempt < 2 && problem && Array.isArray(problem.names) && fixInputs(body, problem)) continue;
      showError(err);
      return;
    }
  }
  for (const name of ["bpc:response", "bpc:laid-out", "bpc:drawn"]) performance.clearMarks(name);
  performance.mark("bpc:response");
  show(readAnswer(answer), body.inputs);
  performance.mark("bpc:drawn");
  // a counter that tests and the benchmark wait on
  const svg = $("circuit");
  svg.dataset.evaluations = String(Number(svg.dataset.evaluations || 0) + 1);
}

function fixInputs(body, problem) {
  if (problem.type === "missing_input") {
    for (const name of problem.names) body.inputs[name] = page.state.inputs[name] ?? DEFAULT_INPUT;
    return true;
  }
  if (problem.type === "unused_input") {
    for (const name of problem.names) delete body.inputs[name];
    return true;
  }
  return false;
}

function showError(err) {
  const svg = $("circuit");
  svg.dataset.errors = String(Number(svg.dataset.errors || 0) + 1);
  const problem = err.detail ? err.detail[0] : { msg: String(err.message || err) };
  showProblem($("parse-error"), page.state.expression, problem);
  $("expression").setAttribute("aria-invalid", "true");
  view.setStale(Boolean(page.circuit));
  setStatus(page.circuit ? "The diagram shows the last circuit that worked (dimmed)." : "");
  page.pendingNudge = null;
}

function show(circuit, sentInputs) {
  hideProblem($("parse-error"));
  $("expression").setAttribute("aria-invalid", "false");
  view.setStale(false);
  const { state } = page;
  // keep only the inputs this expression uses, with the values that were sent
  state.inputs = {};
  for (const name of circuit.inputs) state.inputs[name] = sentInputs[name];
  inputs.show(circuit.inputs, state.inputs);

  page.response = circuit;
  if (state.collapse) circuit = collapseStages(circuit);
  const key = structureKey(circuit);
  const structureChanged = key !== page.structure;
  page.circuit = circuit;
  page.timeline = buildTimeline(circuit);
  const length = page.timeline.steps.length;
  if (structureChanged) {
    page.layout = layoutCircuit(circuit);
    performance.mark("bpc:laid-out");
    page.structure = key;
    // fit first: measuring the frame now, before the new drawing exists, forces no layout of it
    zoom.fit(page.layout, page.layout.engine === "dagre");
    view.draw(circuit, page.layout);
    page.predicted.clear();
  }
  view.setNumbers(circuit, state.outputGrad);
  table.draw(circuit, page.timeline);
  $("scrubber").max = String(length);
  player.setLength(length);
  const t = state.step === null ? length : Math.min(state.step, length);
  page.lastActive = -2;
  if (structureChanged || !player.playing) player.seek(t);
  showGradcheck($("gradcheck"), circuit.gradcheck);
  reportNudge(circuit);
  const warnings = (circuit.warnings || []).map((w) => w.msg).join("; ");
  setStatus(`Output ${fmt(circuit.output.value)}${warnings ? ` (warning: ${warnings})` : ""}`);
  writeUrl();
}

// ------------------------------------------------------------------ animation

function stopped(t) {
  page.state.step = Math.round(t);
  writeUrl();
}

// ------------------------------------------------------------------ controls

$("play").addEventListener("click", () => animation.togglePlay());
$("step-forward").addEventListener("click", () => animation.stepForward());
$("step-back").addEventListener("click", () => animation.stepBack());
$("restart").addEventListener("click", () => animation.restart());
$("scrubber").addEventListener("input", () => animation.jumpTo(Number($("scrubber").value)));
$("speed").addEventListener("change", () => {
  page.state.speed = Number($("speed").value);
  player.speed = page.state.speed;
  writeUrl();
});

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

$("expression").addEventListener("input", () => {
  page.state.expression = $("expression").value;
  $("preset").value = "";
  schedule();
});

$("preset").addEventListener("change", () => {
  const preset = page.presets.find((p) => p.id === $("preset").value);
  if (preset) applyPreset(preset);
});

$("output-grad").addEventListener("input", () => {
  const value = Number($("output-grad").value.replace("−", "-"));
  if (!Number.isFinite(value)) return;
  page.state.outputGrad = value;
  schedule();
});
$("tie-break").addEventListener("change", () => {
  page.state.tieBreak = $("tie-break").value;
  schedule(0);
});
$("gradcheck-toggle").addEventListener("change", () => {
  page.state.gradcheck = $("gradcheck-toggle").checked;
  schedule(0);
});
$("collapse-toggle").addEventListener("change", () => {
  page.state.collapse = $("collapse-toggle").checked;
  if (page.response) show(page.response, page.state.inputs);
});
$("predict-toggle").addEventListener("change", () => {
  page.state.predict = $("predict-toggle").checked;
  page.predicted.clear();
  $("predict-form").hidden = true;
  writeUrl();
});

$("nudge").addEventListener("click", () => {
  const circuit = page.circuit;
  if (!circuit) return;
  page.pendingNudge = {
    before: circuit.output.value,
    predicted: predictedChange(circuit.gradients),
  };
  page.state.inputs = nudgedInputs(page.state.inputs, circuit.gradients);
  evaluate();
});

function reportNudge(circuit) {
  const nudge = page.pendingNudge;
  if (!nudge) return;
  page.pendingNudge = null;
  const after = circuit.output.value;
  $("nudge-result").textContent =
    `Nudged every input by 0.01 · its gradient: output ${fmt(nudge.before)} → ${fmt(after)} ` +
    `(change ${fmt(after - nudge.before)}; the gradient predicted +${fmt(nudge.predicted)}).`;
}

$("copy-link").addEventListener("click", async () => {
  writeUrl();
  const copied = await copyLink(location.href).catch(() => false);
  $("share-link").select();
  setStatus(copied ? "Link copied." : "Select the link below and copy it.");
});
$("download-svg").addEventListener("click", () => page.layout && downloadSvg($("circuit"), page.layout));
$("download-png").addEventListener("click", () => page.layout && downloadPng($("circuit"), page.layout).catch(showError));
$("download-json").addEventListener("click", () => page.response && downloadJson(page.response));
$("zoom-in").addEventListener("click", () => zoom.by(1.25));
$("zoom-out").addEventListener("click", () => zoom.by(0.8));
$("zoom-fit").addEventListener("click", () => page.layout && zoom.fit(page.layout));

// ------------------------------------------------------------------ state and URL

function setStatus(text) {
  $("status").textContent = text;
}

function writeUrl() {
  const hash = writeState(page.state);
  if (hash !== location.hash && !(hash === "#" && location.hash === "")) {
    history.replaceState(null, "", hash === "#" ? location.pathname : hash);
  }
  $("share-link").value = location.href;
}

/** Puts the state's values into the form controls. */
function syncControls() {
  const { state } = page;
  $("expression").value = state.expression;
  $("output-grad").value = String(state.outputGrad);
  $("tie-break").value = state.tieBreak;
  $("gradcheck-toggle").checked = state.gradcheck;
  $("predict-toggle").checked = state.predict;
  $("collapse-toggle").checked = state.collapse;
  $("speed").value = String(state.speed);
  if ($("speed").value !== String(state.speed)) {
    const option = document.createElement("option");
    option.value = String(state.speed);
    option.textContent = `${state.speed}×`;
    $("speed").appendChild(option);
    $("speed").value = String(state.speed);
  }
  player.speed = state.speed;
}

function applyPreset(preset) {
  page.state = { ...defaultState(), expression: preset.expression, inputs: { ...preset.inputs } };
  $("preset").value = preset.id;
  $("preset-description").textContent = preset.description || "";
  $("nudge-result").textContent = "";
  syncControls();
  evaluate();
}

window.addEventListener("hashchange", () => {
  page.state = readState(location.hash);
  syncControls();
  evaluate();
});

async function start() {
  syncControls();
  try {
    page.presets = await fetchPresets();
  } catch (err) {
    showError(err);
    return;
  }
  const select = $("preset");
  for (const preset of page.presets) {
    const option = document.createElement("option");
    option.value = preset.id;
    option.textContent = preset.title;
    select.appendChild(option);
  }
  if (!page.state.expression) {
    applyPreset(page.presets[0]);
    return;
  }
  const match = page.presets.find((p) => p.expression === page.state.expression);
  if (match) {
    select.value = match.id;
    $("preset-description").textContent = match.description || "";
  }
  evaluate();
}

start();
