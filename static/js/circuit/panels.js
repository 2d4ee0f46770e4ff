/** Side panels: the gradient check, the nudge result, the predict-mode prompt. */

import { gradName, isConstant } from "./caption.js";
import { fmtAny, fullAny, toNumber } from "./format.js";
import { indexOf } from "./model.js";

function cell(row, content, tag = "td") {
  const c = document.createElement(tag);
  c.textContent = content;
  row.appendChild(c);
  return c;
}

/** Analytic vs numeric gradient per input, with the relative error and pass/fail in words. */
export function showGradcheck(section, gradcheck) {
  const tbody = section.querySelector("tbody");
  const summary = section.querySelector(".gradcheck-summary");
  const table = section.querySelector("table");
  if (!gradcheck) {
    tbody.replaceChildren();
    table.hidden = true; // no header over an empty table
    summary.textContent = "Turn on “gradient check” in the options to compare with central differences.";
    return;
  }
  table.hidden = false;
  const count = (status) => gradcheck.inputs.filter((input) => input.status === status).length;
  const failed = count("fail");
  const kinks = count("kink");
  const notCompared = count("not finite");
  // the verdict and the rows read the same field (status), so they cannot disagree
  const parts = [failed ? `${failed} of ${gradcheck.inputs.length} FAIL` : "no input fails"];
  if (kinks) parts.push(`${kinks} not compared at a kink (central differences average both sides of it)`);
  if (notCompared) parts.push(`${notCompared} not compared (a gradient is not finite)`);
  if (!failed && !kinks && !notCompared) parts[0] = "all inputs pass";
  summary.textContent = `Central differences with h = ${gradcheck.h}: ${parts.join("; ")}.`;
  const rows = gradcheck.inputs.map((input) => {
    const row = document.createElement("tr");
    cell(row, input.name, "th").scope = "row";
    cell(row, fmtAny(input.analytic)).title = fullAny(input.analytic);
    cell(row, fmtAny(input.numeric)).title = fullAny(input.numeric);
    cell(row, input.rel_error === null ? "—" : toNumber(input.rel_error).toExponential(1));
    const [text, className] = VERDICTS[input.status] || VERDICTS.fail;
    const verdict = cell(row, text);
    verdict.className = className;
    if (input.status === "pass" && input.near_kink) verdict.textContent += " (near a kink)";
    if (input.reason) verdict.title = input.reason;
    return row;
  });
  tbody.replaceChildren(...rows);
}

/** Each gradient-check status: the words in its row and their class. */
const VERDICTS = {
  pass: ["✓ pass", "pass"],
  fail: ["✗ FAIL", "fail"],
  kink: ["– at a kink: not compared", "skipped"],
  "not finite": ["– not compared", "skipped"],
};

/** x + step · g, elementwise through nested lists (tensor inputs). */
function along(x, g, step) {
  if (Array.isArray(x)) return x.map((xi, i) => along(xi, g[i], step));
  const gi = toNumber(g);
  return typeof x === "number" && Number.isFinite(gi) ? Number((x + step * gi).toPrecision(12)) : x;
}

function sumOfSquares(g) {
  if (Array.isArray(g)) return g.reduce((acc, gi) => acc + sumOfSquares(gi), 0);
  const x = toNumber(g);
  return Number.isFinite(x) ? x * x : 0;
}

/** Inputs moved one small step along their gradient: x += step · dL/dx (elementwise for tensors). */
export function nudgedInputs(inputs, gradients, step = 0.01) {
  const next = {};
  for (const [name, value] of Object.entries(inputs)) next[name] = along(value, gradients[name], step);
  return next;
}

/** The first-order prediction of the output change: step · Σ grad². */
export function predictedChange(gradients, step = 0.01) {
  return step * sumOfSquares(Object.values(gradients));
}

/** The inputs of a backward step predict mode asks about: never a constant. */
export function askedInputs(circuit, step) {
  const byId = indexOf(circuit).nodes;
  return step.backward.inputs.filter((input) => !isConstant(byId.get(input.node)));
}

/** Builds the predict-mode prompt for a backward step: one field per input of the gate. */
export function buildPrediction(form, circuit, step) {
  const byId = indexOf(circuit).nodes;
  const fields = form.querySelector(".predict-fields");
  const b = step.backward;
  form.querySelector(".predict-heading").textContent =
    `Predict: the ${b.symbol} gate has upstream gradient ${fmtAny(b.upstream)}. For each highlighted input: its local gradient, and what it receives (local gradient · upstream)?`;
  const field = (name, text) => {
    const label = document.createElement("label");
    label.textContent = `${text} `;
    const input = document.createElement("input");
    input.type = "text";
    input.inputMode = "decimal";
    input.name = name;
    input.autocomplete = "off";
    label.appendChild(input);
    return label;
  };
  const rows = askedInputs(circuit, step).map((input, k) => {
    const row = document.createElement("div");
    row.className = "predict-row";
    const name = gradName(byId.get(input.node));
    row.append(field(`predict-local-${k}`, `${name}: local gradient`), field(`predict-${k}`, "contribution"));
    return row;
  });
  fields.replaceChildren(...rows);
  form.querySelector("button[type=submit]").disabled = false;
  form.querySelector(".predict-result").textContent = "";
  form.hidden = false;
  fields.querySelector("input")?.focus();
}
