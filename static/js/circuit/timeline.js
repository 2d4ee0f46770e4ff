/** The animation as data: the steps of a circuit's forward and backward passes, and the frame at time t. Pure. */

import { indexOf } from "./model.js";

/**
 * Steps: one forward step per gate (inputs and constants are known from the start), then one
 * backward step per entry of the server's `backward` list, in the server's order.
 * Each element of the drawing is revealed by one step: `valueStep[node]`, `gradStep[edge]`
 * (-1 means known from the start).
 */
export function buildTimeline(circuit) {
  const byId = indexOf(circuit).nodes;
  const inEdges = new Map();
  for (const e of circuit.edges) {
    if (!inEdges.has(e.target)) inEdges.set(e.target, []);
    inEdges.get(e.target).push(e);
  }
  for (const list of inEdges.values()) list.sort((a, b) => a.port - b.port);

  const steps = [];
  const valueStep = {};
  for (const id of circuit.forward) {
    const node = byId.get(id);
    if (!node || node.kind !== "gate") {
      valueStep[id] = -1;
      continue;
    }
    valueStep[id] = steps.length;
    steps.push({ phase: "forward", node: id, wires: (inEdges.get(id) || []).map((e) => e.id) });
  }
  const forwardCount = steps.length;

  const gradStep = {};
  for (const b of circuit.backward) {
    const index = steps.length;
    for (const input of b.inputs) gradStep[input.edge] = index;
    steps.push({ phase: "backward", node: b.node, backward: b, wires: b.inputs.map((i) => i.edge) });
  }
  return {
    steps,
    forwardCount,
    backwardCount: steps.length - forwardCount,
    valueStep,
    gradStep,
    // the output wire's gradient (the seed, usually 1) appears when the backward pass begins
    outputGradStep: forwardCount - 1,
    outputValueStep: valueStep[circuit.output.node] ?? -1,
  };
}

/**
 * The frame at time t (in steps, 0..steps.length): `done` steps are complete, `active` is the step
 * in progress or just completed (-1 before the first), `progress` is how far its pulse has moved.
 */
export function frameAt(timeline, t) {
  const n = timeline.steps.length;
  const clamped = Math.min(Math.max(t, 0), n);
  const done = Math.floor(clamped);
  const moving = clamped > done;
  return {
    t: clamped,
    done,
    active: moving ? done : done - 1,
    progress: moving ? clamped - done : done > 0 ? 1 : 0,
    moving,
  };
}

/** Whether the element revealed by `revealStep` is visible after `done` steps. */
export function revealed(revealStep, done) {
  return revealStep === undefined || revealStep < done;
}

/** The backward-pass step number (0-based) that reveals a given backward entry. */
export function stepOfBackward(timeline, index) {
  return timeline.forwardCount + index;
}

/** A pulse position along a step's wires: forward fills flow left to right, gradients right to left. */
export function pulseFraction(step, progress) {
  return step.phase === "forward" ? progress : 1 - progress;
}
