/** Side panels: the gradient check, the nudge result, the predict-mode prompt. */

import { gradName } from "./caption.js";
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
  if (!gradcheck) {
    tbody.replaceChildren();
    summary.textContent = "Turn on “gradient check” in the options to compare with central differences.";
    return;
  }
  const notCompared = gradcheck.inputs.filter((input) => input.status === "not finite").length;
  const verdictText = !gradcheck.passed
    ? "some inputs FAIL"
    : notCompared
      ? `no input fails; ${notCompared} not compared (a gradient is not finite)`
      : "all inputs pass";
  summary.textContent = `Central differences with h = ${gradcheck.h}: ${verdictText}.`;
  const rows = gradcheck.inputs.map((input) => {
    const row = document.createElement("tr");
    cell(row, input.name, "th").scope = "row";
    cell(row, fmtAny(input.analytic)).title = fullAny(input.analytic);
    cell(row, fmtAny(input.numeric)).title = fullAny(input.numeric);
    cell(row, input.rel_error === null ? "—" : toNumber(input.rel_error).toExponential(1));
    // "not finite": an Infinity/NaN gradient cannot be compared, so it is neither pass nor fail.
    const skipped = input.status === "not finite";
    const verdict = cell(row, skipped ? "– not compared" : input.passed ? "✓ pass" : "✗ FAIL");
    verdict.className = skipped ? "skipped" : input.passed ? "pass" : "fail";
    if (input.near_kink) verdict.textContent += " (near a kink)";
    if (input.reason) verdict.title = input.reason;
    return row;
  });
  tbody.replaceChildren(...rows);
}

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

/** Builds the predict-mode prompt for a backward step: one field per input of the gate. */
export function buildPrediction(form, circuit, step) {
  const byId = indexOf(circuit).nodes;
  const fields = form.querySelector(".predict-fields");
  const b = step.backward;
  form.querySelector(".predict-heading").textContent =
    `Predict: the ${b.symbol} gate has upstream gradient ${fmtAny(b.upstream)}. What will each highlighted input wire receive?`;
  const rows = b.inputs.map((input, k) => {
    const label = document.createElement("label");
    label.textContent = `${gradName(byId.get(input.node))} contribution `;
    const field = document.createElement("input");
    field.type = "text";
    field.inputMode = "decimal";
    field.name = `predict-${k}`;
    field.autocomplete = "off";
    label.appendChild(field);
    return label;
  });
  fields.replaceChildren(...rows);
  form.querySelector("button[type=submit]").disabled = false;
  form.querySelector(".predict-result").textContent = "";
  form.hidden = false;
  fields.querySelector("input")?.focus();
}
