/** Lays a circuit out left to right (dagre's layered layout, or tidy.js when big): pure, touches no DOM. */

import * as dagre from "../../vendor/dagre/dagre.esm.js";
import { indexOf } from "./model.js";
import { tidyPositions } from "./tidy.js";

// Wire labels have a fixed size so a slider drag (new numbers, same circuit) keeps the layout.
const LABEL_W = 64;
const LABEL_H = 34; // value above the wire, gradient below
const STAGE_H = 14; // a named stage adds its name above the value
const FORK_STUB = 10; // a fork leaves its node, then splits at a visible dot
export const OUTPUT_TERMINAL = "__output";
export const OUTPUT_WIRE = "__output_wire";

function textWidth(text, px) {
  return Math.ceil(String(text).length * px);
}

// A node whose total gradient is drawn under it (an input, or a gate whose output forks) gets
// this much more room above and below in the layout, so the total never meets a wire's label.
export const TOTAL_H = 18;
const TOTAL_W = 112; // "dw0 = -0.1966 + …" at the total's 11 px

/** Whether a node's total gradient is drawn under it: inputs, and gates whose value forks. */
export function hasTotal(node, outDegree) {
  return node.kind === "input" || (node.kind === "gate" && outDegree > 1);
}

/** Size of a node's box: gates are round when their symbol is short, inputs are labelled boxes.
 * `room` is the height the layout keeps for it (the box plus, with a total, a band each side). */
export function nodeSize(node, outDegree = 0) {
  const size = boxSize(node);
  const total = hasTotal(node, outDegree);
  return {
    ...size,
    room: total ? size.h + 2 * TOTAL_H : size.h,
    roomW: total ? Math.max(size.w, TOTAL_W) : size.w,
  };
}

function boxSize(node) {
  const symbol = node.symbol ?? node.op ?? "?";
  if (node.kind === "gate") {
    const w = Math.max(32, textWidth(symbol, 9) + 14);
    return { w, h: 32, round: w === 32 };
  }
  return { w: Math.max(30, textWidth(symbol, 8) + 14), h: 26, round: false };
}

/** Outgoing edges per node id. */
export function degrees(circuit) {
  const outDegree = new Map();
  for (const e of circuit.edges) outDegree.set(e.source, (outDegree.get(e.source) || 0) + 1);
  return outDegree;
}

/** The stage name that labels a gate's output wire (inputs are labelled by their own box). */
export function stageOf(node) {
  return node && node.kind === "gate" && node.label ? node.label : null;
}

/** A key that changes only when the drawing's structure does (not when numbers change). */
export function structureKey(circuit) {
  const parts = circuit.nodes.map(
    (n) => `${n.id}:${n.kind}:${n.symbol}:${n.label ?? ""}:${(n.shape || []).join("x")}:${(n.inputs || []).join(",")}`,
  );
  return `${circuit.output.node}|${parts.join(";")}`;
}

/** Above this many gates dagre takes too long (bench/frontend.py), and the tidy layout is used. */
export const DAGRE_MAX_GATES = 80;

/**
 * Returns {width, height, nodes: {id: box}, wires: [..], forks: [..], engine} where boxes are
 * centred at (x, y), each wire has polyline `points` from source to target and a `label` box
 * for its numbers.
 */
export function layoutCircuit(circuit, options = {}) {
  const byId = indexOf(circuit).nodes;
  const gates = circuit.nodes.filter((n) => n.kind === "gate").length;
  const engine = options.engine ?? (gates > DAGRE_MAX_GATES ? "tidy" : "dagre");
  const placed = engine === "tidy" ? placeTidy(circuit, byId) : placeDagre(circuit, byId, options);

  const nodes = {};
  for (const n of circuit.nodes) {
    const box = placed.boxes[n.id];
    const size = nodeSize(n);
    nodes[n.id] = { id: n.id, x: box.x, y: box.y, w: size.w, h: size.h, round: size.round };
  }

  const outDegree = degrees(circuit);
  const forks = [];
  const forkPoint = new Map();
  for (const [id, degree] of outDegree) {
    if (degree < 2) continue;
    const box = nodes[id];
    const point = { x: box.x + box.w / 2 + FORK_STUB, y: box.y };
    forkPoint.set(id, point);
    forks.push({ node: id, from: { x: box.x + box.w / 2, y: box.y }, at: point });
  }

  const wires = [];
  const addWire = (id, source, target, port) => {
    const w = placed.wires[id];
    let points = w.points.map((p) => ({ x: p.x, y: p.y }));
    // a node laid out with room for its total is wider than its box: reach the box itself
    const from = nodes[source];
    if (from && points[0].x > from.x + from.w / 2 + 0.5) points.unshift({ x: from.x + from.w / 2, y: from.y });
    const to = nodes[target];
    const last = points[points.length - 1];
    if (to && last.x < to.x - to.w / 2 - 0.5) points.push({ x: to.x - to.w / 2, y: last.y });
    const fork = forkPoint.get(source);
    if (fork) points = [fork, ...points.slice(1)];
    const stage = stageOf(byId.get(source));
    const h = stage ? LABEL_H + STAGE_H : LABEL_H;
    wires.push({ id, source, target, port, points, label: { x: w.label.x, y: w.label.y, w: LABEL_W, h, stage } });
  };
  for (const e of circuit.edges) addWire(e.id, e.source, e.target, e.port);
  addWire(OUTPUT_WIRE, circuit.output.node, OUTPUT_TERMINAL, 0);
  return { width: placed.width, height: placed.height, nodes, wires, forks, engine };
}

function placeTidy(circuit, byId) {
  const sizes = {};
  const outDegree = degrees(circuit);
  for (const n of circuit.nodes) {
    const size = nodeSize(n, outDegree.get(n.id));
    sizes[n.id] = { ...size, w: size.roomW, h: size.room };
  }
  const anyStage = circuit.nodes.some((n) => stageOf(n));
  const label = { w: LABEL_W, h: anyStage ? LABEL_H + STAGE_H : LABEL_H };
  return tidyPositions(circuit, sizes, label, { terminal: OUTPUT_TERMINAL, outputWire: OUTPUT_WIRE });
}

function placeDagre(circuit, byId, options) {
  const g = new dagre.graphlib.Graph({ multigraph: true });
  g.setGraph({
    rankdir: "LR",
    nodesep: options.nodesep ?? 14,
    ranksep: options.ranksep ?? 26,
    edgesep: 8,
    marginx: 16,
    marginy: 16,
  });
  g.setDefaultEdgeLabel(() => ({}));
  const outDegree = degrees(circuit);
  for (const n of circuit.nodes) {
    const size = nodeSize(n, outDegree.get(n.id));
    g.setNode(n.id, { width: size.roomW, height: size.room });
  }
  g.setNode(OUTPUT_TERMINAL, { width: 2, height: 2 });

  const labelHeight = (sourceId) => (stageOf(byId.get(sourceId)) ? LABEL_H + STAGE_H : LABEL_H);
  // edges are added in port order so dagre's initial ordering puts input 0 above input 1
  const edges = [...circuit.edges].sort((a, b) => (a.target === b.target ? a.port - b.port : 0));
  for (const e of edges) {
    g.setEdge(e.source, e.target, { width: LABEL_W, height: labelHeight(e.source), labelpos: "c" }, e.id);
  }
  const out = circuit.output.node;
  g.setEdge(out, OUTPUT_TERMINAL, { width: LABEL_W, height: labelHeight(out), labelpos: "c" }, OUTPUT_WIRE);
  const edgeIndex = indexOf(circuit).edges;
  dagre.layout(g, { customOrder: (graph, defaultOrder) => portOrder(graph, defaultOrder, edgeIndex) });

  const boxes = {};
  for (const n of circuit.nodes) boxes[n.id] = g.node(n.id);
  const wires = {};
  for (const e of [...edges, { id: OUTPUT_WIRE, source: out, target: OUTPUT_TERMINAL }]) {
    const edge = g.edge({ v: e.source, w: e.target, name: e.id });
    wires[e.id] = { points: edge.points, label: { x: edge.x, y: edge.y } };
  }
  const graph = g.graph();
  return { boxes, wires, width: graph.width, height: graph.height };
}

/**
 * Orders each layer by a depth-first walk back from the output, taking a gate's inputs in port
 * order, so input 0 is drawn above input 1 and a tree has no crossings. Where forks make a
 * circuit a DAG, dagre's own barycenter ordering is kept if it has fewer crossings.
 */
function portOrder(g, defaultOrder, edgeIndex) {
  const port = (pred, node) => {
    const label = g.node(pred);
    const name = label.edgeObj ? label.edgeObj.name : g.edge(pred, node)?.name;
    return edgeIndex.get(name)?.port ?? 0;
  };
  const layers = new Map();
  const seen = new Set();
  const sinks = g.nodes().filter((v) => (g.successors(v) || []).length === 0);
  const stack = [...sinks].reverse();
  while (stack.length) {
    const v = stack.pop();
    if (seen.has(v)) continue;
    seen.add(v);
    const rank = g.node(v).rank;
    if (!layers.has(rank)) layers.set(rank, []);
    layers.get(rank).push(v);
    const preds = [...(g.predecessors(v) || [])].sort((a, b) => port(a, v) - port(b, v));
    for (let i = preds.length - 1; i >= 0; i--) if (!seen.has(preds[i])) stack.push(preds[i]);
  }
  for (const v of g.nodes()) {
    if (seen.has(v)) continue;
    const rank = g.node(v).rank;
    if (!layers.has(rank)) layers.set(rank, []);
    layers.get(rank).push(v);
  }
  const mine = new Map();
  for (const list of layers.values()) list.forEach((v, i) => mine.set(v, i));
  defaultOrder(g);
  const theirs = new Map(g.nodes().map((v) => [v, g.node(v).order]));
  if (layeredCrossings(g, mine) <= layeredCrossings(g, theirs)) {
    for (const [v, order] of mine) g.node(v).order = order;
  }
}

/** Crossings between adjacent layers for a given order (counts inverted edge pairs). */
function layeredCrossings(g, order) {
  const byRank = new Map();
  for (const e of g.edges()) {
    const rank = g.node(e.v).rank;
    if (!byRank.has(rank)) byRank.set(rank, []);
    byRank.get(rank).push([order.get(e.v), order.get(e.w)]);
  }
  let count = 0;
  for (const pairs of byRank.values()) {
    pairs.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
    for (let i = 0; i < pairs.length; i++) {
      for (let j = i + 1; j < pairs.length; j++) {
        if (pairs[j][0] > pairs[i][0] && pairs[j][1] < pairs[i][1]) count++;
      }
    }
  }
  return count;
}

/** The point a fraction of the way along a polyline (by length): used to move gradient pulses. */
export function pointAlong(points, fraction) {
  if (points.length === 1) return { ...points[0] };
  const lengths = [];
  let total = 0;
  for (let i = 1; i < points.length; i++) {
    const d = Math.hypot(points[i].x - points[i - 1].x, points[i].y - points[i - 1].y);
    lengths.push(d);
    total += d;
  }
  let target = Math.min(Math.max(fraction, 0), 1) * total;
  for (let i = 0; i < lengths.length; i++) {
    if (target <= lengths[i] || i === lengths.length - 1) {
      const f = lengths[i] === 0 ? 0 : Math.min(target / lengths[i], 1);
      return {
        x: points[i].x + (points[i + 1].x - points[i].x) * f,
        y: points[i].y + (points[i + 1].y - points[i].y) * f,
      };
    }
    target -= lengths[i];
  }
  return { ...points[points.length - 1] };
}

/** Number of pairwise crossings between wire segments: a layout-quality check used by the tests. */
export function countCrossings(layout) {
  const segs = [];
  for (const w of layout.wires) {
    for (let i = 1; i < w.points.length; i++) segs.push({ wire: w, a: w.points[i - 1], b: w.points[i] });
  }
  const cross = (p, q, r) => (q.x - p.x) * (r.y - p.y) - (q.y - p.y) * (r.x - p.x);
  let count = 0;
  for (let i = 0; i < segs.length; i++) {
    for (let j = i + 1; j < segs.length; j++) {
      const s = segs[i];
      const t = segs[j];
      if (s.wire === t.wire) continue;
      const d1 = cross(s.a, s.b, t.a);
      const d2 = cross(s.a, s.b, t.b);
      const d3 = cross(t.a, t.b, s.a);
      const d4 = cross(t.a, t.b, s.b);
      if (d1 * d2 < 0 && d3 * d4 < 0) count++;
    }
  }
  return count;
}
