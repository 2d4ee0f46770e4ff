/**
 * The one reader of an evaluate answer. `readAnswer` decodes it once (the compact format the
 * page asks for, or the verbose one) into the circuit every module uses: nodes, edges, steps in
 * the verbose shape, plus one shared index by id. No other module reads the wire format.
 * The format is described in app/engine/encode.py and README "The compact answer".
 */

import { captionNumber } from "./format.js";

const indexes = new WeakMap();

/** The shared {nodes, edges} index of a circuit (built on first use, then kept with it). */
export function indexOf(circuit) {
  let index = indexes.get(circuit);
  if (!index) {
    index = {
      nodes: new Map(circuit.nodes.map((n) => [n.id, n])),
      edges: new Map(circuit.edges.map((e) => [e.id, e])),
    };
    indexes.set(circuit, index);
  }
  return index;
}

/** The node with this id ("n3"). */
export function nodeById(circuit, id) {
  return indexOf(circuit).nodes.get(id);
}

/** The edge with this id ("e7"). */
export function edgeById(circuit, id) {
  return indexOf(circuit).edges.get(id);
}

/**
 * The answer of POST /circuits/evaluate as the page's circuit. `expression` is the one the request
 * sent: a compact answer asked with echo_expression false (as the page asks) does not repeat it,
 * and its excerpts are spans into it.
 */
export function readAnswer(answer, expression) {
  const circuit = answer.format === "compact" ? expand(answer, expression) : answer;
  indexOf(circuit);
  return circuit;
}

// ------------------------------------------------------------------ compact → circuit

const KINDS = { i: "input", c: "const", g: "gate" };
// the characters Python's str.split() splits on, so excerpts match the server's `text`
const SPACE = /[\t\n\v\f\r\x1c-\x1f \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+/;

function number(x) {
  if (typeof x === "number") return x;
  if (x === "Infinity") return Infinity;
  if (x === "-Infinity") return -Infinity;
  if (x === "NaN") return NaN;
  return Number(x);
}

/** A computed number back in the answer's spelling (non-finite values as strings). */
function wire(x) {
  if (Array.isArray(x)) return x.map(wire);
  if (Number.isNaN(x)) return "NaN";
  if (x === Infinity) return "Infinity";
  if (x === -Infinity) return "-Infinity";
  return x;
}

/** Elementwise f over two numbers or two nested arrays of the same shape. */
function zip(f, a, b) {
  if (Array.isArray(a)) return a.map((x, i) => zip(f, x, b[i]));
  return f(number(a), number(b));
}

const times = (u, g) => u * g;
const plus = (p, q) => p + q;

function excerpt(chars, start, end) {
  const text =
    end - start > 40
      ? chars.slice(start, start + 26).join("") + " … " + chars.slice(end - 11, end).join("")
      : chars.slice(start, end).join("");
  return text.split(SPACE).filter(Boolean).join(" ");
}

// A template's slots: "{}" is the step's next slot; {u}, {o}, {xJ}, {lJ}, {cJ} (version 2,
// which the page asks for) name one of the step's own numbers (its upstream, its output's
// value, input J's value, local gradient and contribution), written as the server's captions
// write numbers (captionNumber).
const TEMPLATE_SLOT = /\{((?:[uo]|[xlc]\d+)?)\}/;

/** A template split at its slots (text, name, text, ...), with its count of "{}" slots. */
function splitTemplate(template) {
  const pieces = template.split(TEMPLATE_SLOT);
  let slots = 0;
  for (let k = 1; k < pieces.length; k += 2) if (pieces[k] === "") slots++;
  pieces.slots = slots;
  return pieces;
}

/** The step's number a template names: u, o, or x, l, c with a port ("x0", "c1"). */
function stepNumber(ref, upstream, out, xs, inputs) {
  if (ref === "u") return upstream;
  if (ref === "o") return out;
  const port = Number(ref.slice(1));
  if (ref[0] === "x") return xs[port];
  return ref[0] === "l" ? inputs[port].local_grad : inputs[port].contribution;
}

function expand(c, sent) {
  if (c.version !== 1 && c.version !== 2) throw new Error(`compact answer version ${c.version}: this reader reads versions 1 and 2`);
  const expression = c.expression ?? sent;
  if (typeof expression !== "string") throw new Error("readAnswer needs the request's expression to read a compact answer sent without it");
  const { strings, nodes: cols, steps: st } = c;
  const n = cols.kind.length;
  const chars = Array.from(expression); // offsets count code points, as Python does
  const lineStarts = [0];
  chars.forEach((ch, i) => {
    if (ch === "\n") lineStarts.push(i + 1);
  });
  const position = (offset) => {
    let lo = 0;
    let hi = lineStarts.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (lineStarts[mid] <= offset) lo = mid + 1;
      else hi = mid;
    }
    return [lo, offset - lineStarts[lo - 1] + 1];
  };

  const args = [];
  const texts = [];
  const spans = [];
  const names = [];
  const labels = [];
  const nodes = [];
  let at = 0;
  let start = 0;
  for (let i = 0; i < n; i++) {
    const list = [];
    for (let k = 0; k < cols.argc[i]; k++) list.push(i - cols.args[at++]); // sent as distances back
    args.push(list);
    const delta = cols.span[2 * i];
    const length = cols.span[2 * i + 1];
    if (length < 0) {
      spans.push(null);
      texts.push("");
    } else {
      start += delta; // each start is sent as the distance from the previous node's start
      const [line, col] = position(start);
      const [endLine, endCol] = position(start + length);
      spans.push({ line, col, end_line: endLine, end_col: endCol });
      texts.push(excerpt(chars, start, start + length));
    }
    const more = cols.labels[String(i)];
    labels.push(more ? more.map((s) => strings[s]) : cols.label[i] >= 0 ? [strings[cols.label[i]]] : []);
    const ref = cols.name[i];
    names.push(ref >= 0 ? strings[ref] : ref === -1 ? texts[i] : ref === -2 ? `(${texts[i]})` : labels[i][0]);
  }
  const shapes = [];
  for (let i = 0; i < n; i++) {
    const kind = KINDS[cols.kind[i]];
    const op = cols.op[i] < 0 ? null : strings[cols.op[i]];
    const symbol = cols.symbol[i] === -1 ? c.gates[op].symbol : strings[cols.symbol[i]];
    shapes.push(cols.shape[String(i)] || []);
    const param = cols.param[String(i)];
    nodes.push({
      id: `n${i}`,
      kind,
      op,
      symbol,
      label: labels[i].length ? labels[i][0] : kind === "input" ? symbol : null,
      labels: labels[i],
      inputs: args[i].map((a) => `n${a}`),
      value: cols.value[i],
      grad: cols.grad[i],
      shape: shapes[i],
      text: texts[i],
      span: spans[i],
      param: param === undefined ? null : param,
    });
  }

  const edges = [];
  const edgeOf = [];
  for (let i = 0; i < n; i++) {
    edgeOf.push(edges.length);
    args[i].forEach((a, port) => {
      edges.push({
        id: `e${edges.length}`,
        source: `n${a}`,
        target: `n${i}`,
        port,
        value: cols.value[a],
        grad: 0,
        shape: shapes[a],
      });
    });
  }

  const backward = [];
  const templates = []; // each rule template split at its slots, once
  const running = new Map();
  let node = n;
  let localAt = 0;
  let usesAt = 0;
  let refAt = 0;
  let slotAt = 0;
  st.node.forEach((gap, index) => {
    node -= gap; // steps are sent as the distance back from the previous step's node
    const i = node;
    const upstream = cols.grad[i];
    const sent = st.contribution[String(index)];
    const inputs = args[i].map((a, port) => {
      const local = st.local[localAt++];
      // two plain numbers (nearly every step of a scalar circuit) skip zip's generality
      const scalar = typeof upstream === "number" && typeof local === "number";
      const contribution = sent ? sent[port] : wire(scalar ? upstream * local : zip(times, upstream, local));
      const before = running.get(a);
      const sum =
        before === undefined
          ? contribution
          : typeof before === "number" && typeof contribution === "number"
            ? before + contribution
            : zip(plus, before, contribution);
      running.set(a, sum);
      const uses = [];
      for (let k = 0; k < st.usec[usesAt]; k++) {
        const r = st.uses[refAt + k];
        uses.push(`n${r === -1 ? i : r >= 0 ? args[i][r] : -2 - r}`);
      }
      refAt += st.usec[usesAt++];
      const edge = edges[edgeOf[i] + port];
      edge.grad = contribution;
      return {
        node: `n${a}`,
        port,
        edge: edge.id,
        local_grad: local,
        contribution,
        accumulated: wire(sum),
        uses,
      };
    });
    // split keeps each slot's name: text, name, text, ... ("" for "{}"); the caption is
    // written when first read (the page shows a few steps at a time, not thousands)
    const pieces = (templates[st.rule[index]] ??= splitTemplate(c.templates[st.rule[index]]));
    const slotsFrom = slotAt;
    slotAt += pieces.slots;
    const writeRule = () => {
      const wires = [...args[i].map((a) => names[a]), names[i]];
      let rule = pieces[0];
      let at = slotsFrom;
      for (let k = 1; k < pieces.length; k += 2) {
        const ref = pieces[k];
        if (ref === "") {
          const slot = st.slots[at++];
          rule += slot >= 0 ? strings[slot] : wires[-1 - slot];
        } else {
          rule += captionNumber(stepNumber(ref, upstream, cols.value[i], args[i].map((a) => cols.value[a]), inputs));
        }
        rule += pieces[k + 1];
      }
      return rule;
    };
    const kink = st.kink[String(index)];
    backward.push({
      index,
      node: `n${i}`,
      op: nodes[i].op,
      symbol: nodes[i].symbol,
      upstream,
      inputs,
      get rule() {
        const rule = writeRule();
        Object.defineProperty(this, "rule", { value: rule, enumerable: true, writable: true, configurable: true });
        return rule;
      },
      formula: c.gates[nodes[i].op].formula,
      kink: kink
        ? { kind: strings[kink[0]], convention: strings[kink[1]], interval: kink[2], count: kink[3], text: strings[kink[1]] }
        : null,
    });
  });

  const gradients = {};
  for (const nd of nodes) if (nd.kind === "input") gradients[nd.symbol] = nd.grad;
  return {
    expression,
    output: { value: cols.value[c.output], shape: shapes[c.output], node: `n${c.output}` },
    inputs: c.inputs,
    nodes,
    edges,
    forward: nodes.map((nd) => nd.id),
    backward,
    gradients,
    warnings: c.warnings,
    stats: c.stats,
    index_inputs: c.index_inputs,
    gradcheck: c.gradcheck,
  };
}
