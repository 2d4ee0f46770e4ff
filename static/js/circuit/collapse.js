/**
 * Collapsing named stages: a stage's private gates (those whose every use is inside the stage)
 * fold into one box named after the stage, e.g. sigy = 1 / (1 + exp(-y)) as a single "sigy"
 * gate. Pure: returns a circuit in the API's shape, so the rest of the page draws it unchanged.
 */

import { toNumber } from "./format.js";
import { indexOf, nodeById } from "./model.js";

/** The private members of each named stage: {stageId: Set of member ids (the stage included)}. */
export function stageMembers(circuit) {
  const byId = indexOf(circuit).nodes;
  const consumers = new Map(circuit.nodes.map((n) => [n.id, []]));
  for (const e of circuit.edges) consumers.get(e.source).push(e.target);
  const members = {};
  // the walk stops at inputs and at other stages, so each stage's members are its own
  for (const stage of circuit.nodes.filter((n) => n.kind === "gate" && n.label)) {
    const inside = new Set([stage.id]);
    const queue = [...(stage.inputs || [])];
    while (queue.length) {
      const id = queue.shift();
      const node = byId.get(id);
      if (inside.has(id) || node.kind === "input" || node.label) continue;
      if (!consumers.get(id).every((c) => inside.has(c))) continue;
      inside.add(id);
      queue.push(...(node.inputs || []));
    }
    // worth a box only when it hides at least one more gate (not just a constant)
    const gates = [...inside].filter((id) => byId.get(id).kind === "gate").length;
    if (gates > 1) members[stage.id] = inside;
  }
  return members;
}

function gateCount(circuit, set) {
  return circuit.nodes.filter((n) => set.has(n.id) && n.kind === "gate").length;
}

/** The circuit with every named stage's private gates folded into one box. */
export function collapseStages(circuit) {
  const members = stageMembers(circuit);
  if (!Object.keys(members).length) return circuit;
  const ownerOf = new Map();
  for (const [stage, set] of Object.entries(members)) for (const id of set) ownerOf.set(id, stage);
  const hidden = (id) => ownerOf.has(id) && ownerOf.get(id) !== id;

  // edges into a stage from outside go to its box; edges between its members disappear
  const edges = [];
  const ports = new Map();
  for (const e of circuit.edges) {
    if (hidden(e.source)) continue; // a private member feeds only its own stage
    const targetStage = ownerOf.get(e.target);
    if (targetStage === undefined) {
      edges.push(e);
      continue;
    }
    const port = ports.get(targetStage) ?? 0;
    ports.set(targetStage, port + 1);
    edges.push({ ...e, target: targetStage, port, original_port: e.port });
  }
  const inputsOf = new Map();
  for (const e of edges) {
    if (!inputsOf.has(e.target)) inputsOf.set(e.target, []);
    inputsOf.get(e.target).push(e);
  }
  for (const list of inputsOf.values()) list.sort((a, b) => a.port - b.port);

  const nodes = circuit.nodes
    .filter((n) => !hidden(n.id))
    .map((n) => {
      if (!members[n.id]) return n;
      return {
        ...n,
        symbol: n.label,
        inputs: (inputsOf.get(n.id) || []).map((e) => e.source),
        collapsed: gateCount(circuit, members[n.id]),
      };
    });

  // the stage's backward steps become one: each outside input receives what flowed along its wire
  const edgeById = new Map(edges.map((e) => [e.id, e]));
  const backward = [];
  for (const b of circuit.backward) {
    if (hidden(b.node)) continue;
    if (!members[b.node]) {
      backward.push({ ...b, inputs: b.inputs.filter((i) => edgeById.has(i.edge)) });
      continue;
    }
    const upstream = toNumber(b.upstream);
    const inputs = (inputsOf.get(b.node) || []).map((e) => ({
      node: e.source,
      port: e.port,
      edge: e.id,
      local_grad: Array.isArray(e.grad) || upstream === 0 ? null : toNumber(e.grad) / upstream,
      contribution: e.grad,
      accumulated: null,
      uses: [],
    }));
    const stage = nodeById(circuit, b.node);
    backward.push({
      ...b,
      symbol: stage.label,
      inputs,
      rule: `stage ${stage.label} (${gateCount(circuit, members[b.node])} gates, collapsed): each input receives ∂${stage.label}/∂input · upstream`,
      formula: null,
      kink: null,
    });
  }
  // running sums, recomputed in this order
  const sums = new Map();
  for (const b of backward) {
    for (const input of b.inputs) {
      if (Array.isArray(input.contribution)) continue;
      const sum = (sums.get(input.node) ?? 0) + toNumber(input.contribution);
      sums.set(input.node, sum);
      input.accumulated = sum;
    }
  }
  backward.forEach((b, index) => {
    b.index = index;
  });
  return {
    ...circuit,
    nodes,
    edges,
    forward: circuit.forward.filter((id) => !hidden(id)),
    backward,
  };
}
