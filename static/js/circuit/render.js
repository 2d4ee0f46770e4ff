/** Draws a laid-out circuit as SVG once, then updates numbers and the animation frame by toggling classes. */

import { gradName, isConstant } from "./caption.js";
import { fmt, fmtValue, full } from "./format.js";
import { OUTPUT_WIRE, TOTAL_H, hasTotal, pointAlong } from "./layout.js";
import { indexOf, nodeById } from "./model.js";
import { pulseFraction, revealed } from "./timeline.js";

const SVG = "http://www.w3.org/2000/svg";
const ARROW = "wire-arrow";
// a pulse: a small triangle that points the way it travels (right for values, left for gradients)
const PULSE = "M6,0 L-5,-5.5 L-5,5.5 z";

function el(name, attrs = {}, parent = null) {
  const node = document.createElementNS(SVG, name);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (parent) parent.appendChild(node);
  return node;
}

const ESCAPES = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" };
/** Text made safe to put in markup, as an element's content or an attribute's quoted value. */
function esc(value) {
  return String(value).replace(/[&<>"]/g, (c) => ESCAPES[c]);
}

/** A node's symbol (×, exp, an input's name), drawn in its box. */
function symbolMarkup(node) {
  return `<text class="symbol" y="1">${esc(node.symbol)}</text>`;
}

const FORK_TITLE = "fork: this value feeds several gates; their gradients add up here";

/** Sets a text node's data or an element's text, when it differs from what is there. */
function write(target, words) {
  if (target.nodeType === Node.TEXT_NODE) {
    if (target.data !== words) target.data = words;
  } else if (target.textContent !== words) target.textContent = words;
}

/** A node's tooltip and accessible name; unchanged text is not written again (a redraw for new
 * values passes every node, and most keep theirs). */
function say(node, words) {
  if (node.spoken === words) return;
  node.spoken = words;
  if (node.title) node.title.textContent = words;
  node.g.setAttribute("aria-label", words);
}

/** A node's tooltip, made when the pointer first comes over it: 2,000 gates' <title>s were a
 * fifth of the elements a big drawing parses and styles, and the words are in its aria-label. */
function titled(node) {
  if (node.title) return;
  node.title = el("title");
  node.title.textContent = node.spoken ?? "";
  node.g.prepend(node.title);
}

/** A number to one decimal, as short as it goes ("12", "12.5"): a path of 2,000 gates' wires is
 * built in one go, and toFixed() was a quarter of building its markup. */
function dec1(x) {
  return String(Math.round(x * 10) / 10);
}

function pathOf(points) {
  let d = "";
  for (let i = 0; i < points.length; i++) d += `${i ? "L" : "M"}${dec1(points[i].x)},${dec1(points[i].y)}`;
  return d;
}

/** A wire's label: a text node for the rounded value and gradient, each with a <title> for the full number. */
function labelMarkup(w) {
  const { x, y, stage } = w.label;
  return (
    `<g class="wire-label" data-edge="${esc(w.id)}" data-source="${esc(w.source)}">` +
    (stage ? `<text class="stage" x="${x}" y="${y - 19}">${esc(stage)}</text>` : "") +
    `<text class="value" x="${x}" y="${y - 5}"> <title></title></text>` +
    `<text class="grad" x="${x}" y="${y + 14}"> <title></title></text></g>`
  );
}

export class CircuitView {
  constructor(svg, { onTensorClick = () => {}, legend = null } = {}) {
    this.svg = svg;
    this.onTensorClick = onTensorClick;
    this.legend = legend;
    // the arrowhead every wire ends in: the forward direction (gradients travel against it). Its
    // fill is an attribute, not CSS, so a downloaded SVG keeps it
    const marker = el(
      "marker",
      {
        id: ARROW,
        viewBox: "0 0 10 10",
        refX: 10, // the tip sits on the wire's end, at the target's edge
        refY: 5,
        markerWidth: 7,
        markerHeight: 7,
        markerUnits: "userSpaceOnUse", // the same size on thick (active) wires
        orient: "auto",
      },
      el("defs", {}, svg),
    );
    el("path", { class: "arrowhead", d: "M0,1 L10,5 L0,9 z", fill: "#5b6475" }, marker);
    this.viewport = el("g", { class: "viewport" }, svg);
    svg.addEventListener("pointerover", (ev) => {
      const g = ev.target.closest?.("g.node");
      const node = g && this.nodes.get(g.dataset.node);
      if (node) titled(node);
    });
    this.nodes = new Map();
    this.wires = new Map();
    this.pulses = [];
    this.lastDone = -2;
    this.lastActive = -2;
    this.activeMarked = []; // the node and wires the active step marked
    this.lastUses = [];
  }

  /**
   * Builds the drawing for a new circuit structure; setNumbers() then fills in the numbers. The
   * markup is written as one string and parsed in one insertion: for 2,000 gates (about 30,000
   * elements) the browser's parser is several times quicker than an element and its attributes
   * at a time from script. Each text that setNumbers() fills holds a placeholder text node.
   */
  draw(circuit, layout) {
    this.circuit = null; // the numbers are the next circuit's (setNumbers)
    this.lastApplied = null;
    this.nodes.clear();
    this.wires.clear();
    this.layout = layout;
    this.lastDone = -2;
    this.lastActive = -2;
    this.activeMarked = [];
    this.pulses = [];
    const wires = [];
    const forks = [];
    const nodes = [];
    const outWires = new Map(circuit.nodes.map((n) => [n.id, []]));
    for (const w of layout.wires) {
      wires.push(`<path class="wire" d="${pathOf(w.points)}" data-edge="${esc(w.id)}" marker-end="url(#${ARROW})"/>`);
      if (w.id !== OUTPUT_WIRE) outWires.get(w.source)?.push(w.id);
    }
    for (const f of layout.forks) {
      forks.push(
        `<path class="wire fork-stub" d="${pathOf([f.from, f.at])}"/>` +
          `<circle class="fork-dot" cx="${f.at.x}" cy="${f.at.y}" r="3.5"><title>${FORK_TITLE}</title></circle>`,
      );
    }
    // labels too small to read (an overview, zoom below 0.4) are not drawn (zoom.js), and their
    // markup waits until a zoom shows them (showLabels): they are over half the elements of a big
    // circuit, and parsing, styling and laying out even hidden ones doubled its time to paint.
    // The output's label is always there: it carries the answer's full number in its tooltip
    const far = this.svg.classList.contains("lod-far");
    // the same for the gates' symbols below readable size (lod-tiny): a sixth of what is left
    const tiny = this.svg.classList.contains("lod-tiny");
    this.pendingSymbols = tiny;
    // the node's total gradient: where gradients add up (a fork) or arrive (an input), it is
    // drawn under the node and builds up as the branches arrive (dx = 3 + 3 + 1 = 7)
    const totals = circuit.nodes.map((n) => hasTotal(n, outWires.get(n.id).length));
    circuit.nodes.forEach((n, i) => {
      const box = layout.nodes[n.id];
      const shape = box.round
        ? `<circle class="shape" r="${box.w / 2}"/>`
        : `<rect class="shape" x="${-box.w / 2}" y="${-box.h / 2}" width="${box.w}" height="${box.h}" rx="6"/>`;
      const total = totals[i] ? `<text class="node-total hidden" y="${box.h / 2 + TOTAL_H - 4}"> <title></title></text>` : "";
      nodes.push(
        `<g class="node kind-${esc(n.kind)}" data-node="${esc(n.id)}" transform="translate(${box.x},${box.y})">` +
          `${shape}${tiny ? "" : symbolMarkup(n)}${total}</g>`,
      );
    });
    // an overview's label markup is not even written until a zoom shows it
    const now = (far ? layout.wires.filter((w) => w.id === OUTPUT_WIRE) : layout.wires).map(labelMarkup);
    this.pendingLabels = far ? layout.wires.filter((w) => w.id !== OUTPUT_WIRE) : null;
    this.viewport.innerHTML =
      `<g class="wires">${wires.join("")}</g><g class="forks">${forks.join("")}</g>` +
      `<g class="wire-labels">${now.join("")}</g><g class="nodes">${nodes.join("")}</g>` +
      `<g class="pulses" aria-hidden="true"></g>`;
    const [wireLayer, , labelLayer, nodeLayer, pulseLayer] = this.viewport.children;
    this.labelLayer = labelLayer;
    this.pulseLayer = pulseLayer;
    layout.wires.forEach((w, i) => this.wires.set(w.id, { layout: w, path: wireLayer.children[i], g: null }));
    this.attachLabels();
    circuit.nodes.forEach((n, i) => {
      const g = nodeLayer.children[i];
      const t = totals[i] ? g.lastElementChild : null;
      const total = t ? { t, shown: t.firstChild, title: t.lastChild } : null;
      this.nodes.set(n.id, { g, title: null, total, outWires: outWires.get(n.id), box: layout.nodes[n.id], kink: null });
    });
    this.symbolsOf = circuit.nodes;
  }

  /** Draws the gates' symbols that an overview too small to read them left out. */
  showSymbols() {
    if (!this.pendingSymbols) return;
    this.pendingSymbols = false;
    for (const n of this.symbolsOf) {
      const entry = this.nodes.get(n.id);
      entry?.g.querySelector(".shape").insertAdjacentHTML("afterend", symbolMarkup(n));
    }
  }

  /** Finds the label elements of the wires that have none yet in the label layer (a <g> per wire). */
  attachLabels() {
    for (const g of this.labelLayer.children) {
      const wire = this.wires.get(g.dataset.edge);
      if (!wire || wire.g) continue;
      const grad = g.lastElementChild;
      const value = grad.previousElementSibling;
      Object.assign(wire, {
        g,
        value,
        valueText: value.firstChild,
        valueTitle: value.lastChild,
        grad,
        gradText: grad.firstChild,
        gradTitle: grad.lastChild,
      });
    }
  }

  /** Draws the wire labels that an overview left out, with the numbers and the frame shown. */
  showLabels() {
    this.showSymbols(); // labels are readable at a larger zoom than symbols
    if (!this.pendingLabels) return;
    this.labelLayer.insertAdjacentHTML("beforeend", this.pendingLabels.map(labelMarkup).join(""));
    this.pendingLabels = null;
    this.attachLabels();
    if (!this.circuit) return; // draw() came first: setNumbers() fills them in
    this.setNumbers(this.circuit, this.outputGrad);
    if (this.lastApplied) {
      this.lastUses = []; // the new labels of cached values get their mark too
      this.applyFrame(...this.lastApplied);
    }
  }

  /** Updates the numbers of a circuit with the same structure (e.g. while a slider moves). */
  setNumbers(circuit, outputGrad = 1) {
    this.circuit = circuit;
    this.outputGrad = outputGrad;
    for (const n of circuit.nodes) {
      const entry = this.nodes.get(n.id);
      if (!entry) continue;
      const name = n.kind === "gate" ? n.text || n.symbol : n.symbol;
      const value = `${name}: value ${full(n.value)}`;
      // a constant's gradient is never shown (nothing flows on from it)
      entry.said = { all: n.kind === "const" ? value : `${value}, gradient ${full(n.grad)}`, value };
      say(entry, entry.said.all);
    }
    const { edges, nodes } = indexOf(circuit);
    const out = nodeById(circuit, circuit.output.node);
    for (const [id, w] of this.wires) {
      const e =
        id === OUTPUT_WIRE
          ? { value: circuit.output.value, grad: outputGrad, shape: circuit.output.shape || [] }
          : edges.get(id);
      if (!e) continue;
      const tensor = Boolean(e.shape && e.shape.length);
      // a constant's wire shows its value only: no gradient flows on from it
      w.constant = id !== OUTPUT_WIRE && nodes.get(w.layout.source)?.kind === "const";
      w.tensor = tensor;
      if (!w.g) continue; // not drawn at this zoom (showLabels)
      const grad = id === OUTPUT_WIRE && out ? out.grad : e.grad;
      // only what changed is written: a text node's new data makes the browser lay that text out again
      write(w.valueText, fmtValue(e.value, e.shape));
      write(w.gradText, w.constant ? "" : tensor ? `∇ ${e.shape.join("×")}` : fmt(grad));
      write(w.valueTitle, tensor ? `value: ${e.shape.join("×")} tensor (click for a heatmap)` : `value ${full(e.value)}`);
      write(w.gradTitle, tensor ? `gradient: ${e.shape.join("×")} tensor (click for a heatmap)` : `gradient ${full(grad)}`);
      w.g.classList.toggle("tensor", tensor);
      if (tensor && !w.g.hasAttribute("tabindex")) {
        const { x, y, w: width, h: height } = w.layout.label;
        // a transparent hit area, so the whole label box (not just the glyphs) takes the click
        w.g.insertBefore(
          el("rect", { class: "hit", x: x - width / 2, y: y - height / 2, width, height }),
          w.g.firstChild,
        );
        w.g.setAttribute("tabindex", "0");
        w.g.setAttribute("role", "button");
        w.g.setAttribute("aria-label", `tensor wire ${e.shape.join("×")}: show heatmaps`);
        w.g.addEventListener("click", () => this.onTensorClick(id));
        w.g.addEventListener("keydown", (ev) => {
          if (ev.key === "Enter") this.onTensorClick(id);
        });
      }
    }
    this.markKinks(circuit);
    this.lastDone = -2; // the next frame redraws what the numbers feed (wire labels, totals)
    this.showLegend(circuit);
  }

  /**
   * A gate sitting on a kink at these values (a tie at max, relu or abs at 0) gets a small amber
   * diamond at its corner: its gradient there is a convention, which the tooltip states.
   */
  markKinks(circuit) {
    const kinks = new Map(circuit.backward.filter((b) => b.kink).map((b) => [b.node, b.kink]));
    for (const [id, n] of this.nodes) {
      const kink = kinks.get(id);
      if (kink && !n.kink) {
        const { w, h } = n.box;
        const mark = el("path", { class: "kink-mark", d: "M0,-5 L5,0 L0,5 L-5,0 z" }, n.g);
        mark.setAttribute("transform", `translate(${(w / 2) * (n.box.round ? 0.75 : 1)},${(-h / 2) * (n.box.round ? 0.75 : 1)})`);
        n.kink = { mark, title: el("title", {}, mark) };
      }
      if (n.kink) n.kink.mark.classList.toggle("hidden", !kink);
      if (kink) n.kink.title.textContent = `kink (${kink.kind}): ${kink.text || kink.convention}`;
    }
  }

  /** Shows the legend's entry of each mark this circuit draws (at some step), hides the others. */
  showLegend(circuit) {
    if (!this.legend) return;
    const gates = circuit.nodes.some((n) => n.kind === "gate");
    const present = {
      value: true,
      grad: true,
      arrow: true,
      forward: gates,
      backward: circuit.backward.length > 0,
      active: gates,
      pending: gates,
      fork: this.layout.forks.length > 0,
      // a total is drawn for scalars only (a tensor's gradient is in its heatmap)
      total: circuit.nodes.some((n) => this.nodes.get(n.id)?.total && !Array.isArray(n.value)),
      const: circuit.nodes.some(isConstant),
      cached: circuit.backward.some((b) => b.inputs.some((input) => (input.uses || []).length > 0)),
      tensor: [...this.wires.values()].some((w) => w.tensor),
      kink: circuit.backward.some((b) => b.kink),
    };
    for (const item of this.legend.querySelectorAll("[data-mark]")) item.hidden = !present[item.dataset.mark];
  }

  /** Shows what is known after `frame.done` steps, highlights the active gate and moves its pulses. */
  applyFrame(timeline, frame, uses = []) {
    this.lastApplied = [timeline, frame, uses];
    if (frame.done !== this.lastDone) {
      for (const [id, w] of this.wires) {
        const valueKnown =
          id === OUTPUT_WIRE
            ? revealed(timeline.outputValueStep, frame.done)
            : revealed(timeline.valueStep[w.layout.source], frame.done);
        const gradKnown =
          id === OUTPUT_WIRE
            ? revealed(timeline.outputGradStep, frame.done)
            : revealed(timeline.gradStep[id] ?? Infinity, frame.done);
        w.path.classList.toggle("has-grad", gradKnown && !w.constant);
        if (!w.g) continue;
        w.value.classList.toggle("hidden", !valueKnown);
        w.grad.classList.toggle("hidden", !gradKnown || w.constant);
      }
      const out = this.circuit?.output.node;
      for (const [id, n] of this.nodes) {
        n.g.classList.toggle("pending", !revealed(timeline.valueStep[id], frame.done));
        // the branches whose gradient has come back to this node so far
        const arrived = n.outWires.filter((w) => revealed(timeline.gradStep[w] ?? Infinity, frame.done));
        if (n.total) this.showTotal(id, n, arrived);
        // the tooltip says a gradient only once the backward pass has brought it
        const gradKnown =
          id === out
            ? revealed(timeline.outputGradStep, frame.done)
            : n.outWires.length > 0 && arrived.length === n.outWires.length;
        if (n.said) say(n, gradKnown ? n.said.all : n.said.value);
      }
      this.lastDone = frame.done;
    }
    if (frame.active !== this.lastActive) {
      // only the elements the last step marked are unmarked: a class list's remove() rewrites the
      // attribute even when the class is not there, which on 2,000 gates' wires took milliseconds
      for (const marked of this.activeMarked) marked.classList.remove("active", "forward", "backward");
      this.activeMarked = [];
      const step = timeline.steps[frame.active];
      if (step) {
        const g = this.nodes.get(step.node)?.g;
        if (g) {
          g.classList.add("active");
          this.activeMarked.push(g);
        }
        // the phase picks the look: a value travelling forward (green) or a gradient back (red, dashed)
        for (const id of step.wires) {
          const path = this.wires.get(id)?.path;
          if (!path) continue;
          path.classList.add("active", step.phase);
          this.activeMarked.push(path);
        }
      }
      this.lastActive = frame.active;
    }
    this.highlightUses(uses);
    this.movePulses(timeline, frame);
  }

  /** A node's total so far: the gradients of its outgoing wires that have arrived, added up. */
  showTotal(id, n, arrived) {
    const node = this.circuit && nodeById(this.circuit, id);
    const edges = this.circuit ? indexOf(this.circuit).edges : new Map();
    const parts = arrived.map((w) => edges.get(w)?.grad);
    const scalar = node && !Array.isArray(node.value) && parts.every((g) => !Array.isArray(g));
    if (!scalar || parts.length === 0) {
      n.total.t.classList.add("hidden");
      return;
    }
    const done = arrived.length === n.outWires.length;
    // the server's total once every branch is in (exact); a running sum of what arrived before
    const sum = done ? node.grad : parts.reduce((a, g) => a + Number(g), 0);
    // on the diagram the total so far (a trailing "+ …" while branches are missing), in the
    // tooltip the branches it adds up
    write(n.total.shown, `${gradName(node)} = ${fmt(sum)}${done ? "" : " + …"}`);
    write(
      n.total.title,
      `${gradName(node)} = ${parts.length > 1 ? `${parts.map(fmt).join(" + ")} = ` : ""}${fmt(sum)}` +
        (done ? "" : ` so far (${n.outWires.length - parts.length} of ${n.outWires.length} branches to come)`),
    );
    n.total.t.classList.toggle("partial", !done);
    n.total.t.classList.remove("hidden");
  }

  highlightUses(uses) {
    if (uses.join() === this.lastUses.join()) return;
    for (const id of this.lastUses) this.nodes.get(id)?.g.classList.remove("uses");
    for (const w of this.wires.values()) w.g?.classList.remove("uses");
    for (const id of uses) this.nodes.get(id)?.g.classList.add("uses");
    const set = new Set(uses);
    for (const w of this.wires.values()) if (set.has(w.layout.source)) w.g?.classList.add("uses");
    this.lastUses = [...uses];
  }

  movePulses(timeline, frame) {
    const step = frame.moving ? timeline.steps[frame.active] : null;
    const wires = step ? step.wires : [];
    while (this.pulses.length < wires.length) {
      this.pulses.push(el("path", { class: "pulse", d: PULSE }, this.pulseLayer));
    }
    this.pulses.forEach((c, i) => {
      if (i >= wires.length) {
        c.classList.add("hidden");
        return;
      }
      const w = this.wires.get(wires[i]);
      const f = pulseFraction(step, frame.progress);
      const p = pointAlong(w.layout.points, f);
      // the wire's direction here (source to target); a gradient points the other way
      const a = pointAlong(w.layout.points, Math.max(0, f - 0.02));
      const b = pointAlong(w.layout.points, Math.min(1, f + 0.02));
      const angle = (Math.atan2(b.y - a.y, b.x - a.x) * 180) / Math.PI + (step.phase === "forward" ? 0 : 180);
      c.setAttribute("transform", `translate(${p.x.toFixed(1)},${p.y.toFixed(1)}) rotate(${angle.toFixed(0)})`);
      c.classList.toggle("forward", step.phase === "forward");
      c.classList.remove("hidden");
    });
  }

  setStale(stale) {
    this.svg.classList.toggle("stale", stale);
  }
}
