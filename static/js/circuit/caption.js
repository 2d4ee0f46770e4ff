/** Caption text for a step: the gate's rule with the actual numbers, fork sums, kinks. Pure. */

import { fmt, fmtAny, fmtText, paren, shapeOf } from "./format.js";
import { indexOf } from "./model.js";

const INFIX = new Set(["+", "-", "−", "×", "*", "/", "÷", "**", "^"]);

/** How a node is called in captions: an input by its name, a gate by its stage name or source text. */
export function nodeName(node) {
  if (!node) return "?";
  if (node.kind === "input" || node.kind === "const") return String(node.symbol);
  return node.label || node.text || node.symbol;
}

/** A constant (2, the 0 of max(0, s)): it gets no gradient worth showing, asking or adding up. */
export const isConstant = (node) => Boolean(node) && node.kind === "const";

/** "dx" for a plain name, "d(x + y)" for an expression. */
export function gradName(node) {
  const name = nodeName(node);
  return /^[A-Za-z_][A-Za-z0-9_]*$/.test(name) ? `d${name}` : `d(${name})`;
}

function forwardCaption(circuit, byId, step) {
  const node = byId.get(step.node);
  const args = (node.inputs || []).map((id) => byId.get(id));
  const infix = args.length === 2 && INFIX.has(node.symbol);
  // a negative operand is parenthesized between operators (3 · (-4)), not as a call's argument
  const shown = (a) => (Array.isArray(a.value) ? `[${shapeOf(a.value).join("×")}]` : infix ? paren(a.value) : fmt(a.value));
  const values = args.map(shown);
  const expr = infix ? `${values[0]} ${node.symbol} ${values[1]}` : `${node.symbol}(${values.join(", ")})`;
  return {
    heading: `Forward: the ${node.symbol} gate computes ${nodeName(node)}`,
    lines: [`${nodeName(node)} = ${expr} = ${Array.isArray(node.value) ? `[${shapeOf(node.value).join("×")}]` : fmt(node.value)}`],
    uses: [],
    kink: null,
  };
}

function backwardCaption(circuit, byId, timeline, stepIndex, step) {
  const b = step.backward;
  const node = byId.get(b.node);
  const lines = [];
  if (b.rule) lines.push(fmtText(b.rule));
  // contributions each input node has received so far, to show running sums at forks
  const received = new Map();
  const receive = (input) => {
    if (!received.has(input.node)) received.set(input.node, []);
    received.get(input.node).push(input.contribution);
  };
  for (let i = timeline.forwardCount; i < stepIndex; i++) timeline.steps[i].backward.inputs.forEach(receive);
  const uses = new Set();
  const tensor = [b.upstream, ...b.inputs.map((i) => i.contribution)].some(Array.isArray);
  for (const input of b.inputs) {
    for (const id of input.uses || []) uses.add(id);
    // a tensor step's rule (from the server) already states the shapes; numbers are in the heatmaps
    if (tensor) continue;
    const target = byId.get(input.node);
    if (isConstant(target)) continue; // nothing flows on from a constant: no d(2) line
    receive(input); // in port order, so x * x shows both halves of dx arriving
    const name = gradName(target);
    lines.push(
      `${name} += local gradient · upstream = ${paren(input.local_grad)} · ${paren(b.upstream)} = ${fmt(input.contribution)}`,
    );
    const parts = received.get(input.node) || [];
    if (parts.length > 1) {
      const sum = parts.map((c, k) => (k === 0 ? fmt(c) : paren(c))).join(" + ");
      lines.push(`fork: gradients add up, ${name} = ${sum} = ${fmt(input.accumulated)}`);
    }
  }
  const usedValues = [...uses].map((id) => `${nodeName(byId.get(id))} = ${fmtAny(byId.get(id).value)}`);
  if (usedValues.length) lines.push(`uses the cached forward value${usedValues.length > 1 ? "s" : ""}: ${usedValues.join(", ")}`);
  let kink = null;
  if (b.kink) {
    const { kind, text, convention } = b.kink;
    const said = (b.rule || "").includes(convention);
    const detail = text && text !== convention ? `${text}; ` : "";
    kink = said
      ? `kink (${kind}): the gradient is not defined here, so the convention above is used`
      : `kink (${kind}): ${detail}convention: ${convention}`;
    lines.push(kink);
  }
  const number = stepIndex - timeline.forwardCount + 1;
  return {
    heading: `Backward step ${number} of ${timeline.backwardCount}: the ${b.symbol} gate (${nodeName(node)}), upstream gradient ${fmtAny(b.upstream)}`,
    lines,
    uses: [...uses],
    kink,
  };
}

/** The caption of step `active` (-1: before the first step). */
export function captionFor(circuit, timeline, active) {
  if (active < 0) {
    return {
      heading: "Ready",
      lines: ["Press play (or →) to run the forward pass, then the backward pass, one gate at a time."],
      uses: [],
      kink: null,
    };
  }
  const byId = indexOf(circuit).nodes;
  const step = timeline.steps[active];
  return step.phase === "forward"
    ? forwardCaption(circuit, byId, step)
    : backwardCaption(circuit, byId, timeline, active, step);
}

/** Checks a predicted gradient against the true one (client-side, predict mode). */
export function checkPrediction(text, truth) {
  const guess = Number(String(text).trim().replace("−", "-"));
  if (String(text).trim() === "" || !Number.isFinite(guess)) return { ok: false, valid: false };
  const tolerance = 1e-2 * Math.max(1, Math.abs(truth));
  return { ok: Math.abs(guess - truth) <= tolerance, valid: true, guess };
}
