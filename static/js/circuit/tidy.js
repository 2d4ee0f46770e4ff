/**
 * A fast layered layout for big circuits, where dagre's dummy nodes for long wires make it take
 * seconds (bench/frontend.py): ranks by longest path, leaves stacked in depth-first port order,
 * each gate at the mean height of its inputs, labels on a level run just before the target. Pure.
 */

/**
 * sizes: {id: {w, h}}; label: {w, h}. Returns {boxes: {id: {x, y}}, wires: {edgeId: {points, label}},
 * width, height}, for the circuit's edges plus `outputWire` into `terminal`.
 */
export function tidyPositions(circuit, sizes, label, { terminal, outputWire, margin = 16 } = {}) {
  const inEdges = new Map(circuit.nodes.map((n) => [n.id, []]));
  const consumers = new Map(circuit.nodes.map((n) => [n.id, []]));
  for (const e of circuit.edges) {
    inEdges.get(e.target).push(e);
    consumers.get(e.source).push(e.target);
  }
  for (const list of inEdges.values()) list.sort((a, b) => a.port - b.port);

  // ranks: first each node one right of its rightmost input (longest path), then, walking back
  // from the output, each node pulled right to just before its first consumer (short wires)
  const rank = new Map();
  for (const id of circuit.forward) {
    const ins = inEdges.get(id);
    rank.set(id, ins.length ? 1 + Math.max(...ins.map((e) => rank.get(e.source))) : 0);
  }
  for (let i = circuit.forward.length - 1; i >= 0; i--) {
    const id = circuit.forward[i];
    const users = consumers.get(id);
    if (users.length) rank.set(id, Math.min(...users.map((c) => rank.get(c))) - 1);
  }
  const lowest = Math.min(...rank.values());
  for (const [id, r] of rank) rank.set(id, r - lowest);

  // heights: post-order walk back from the output (iterative: circuits can be deep)
  const slot = 2 * label.h + 10;
  const y = new Map();
  let next = 0;
  const stack = [[circuit.output.node, false]];
  while (stack.length) {
    const [id, expanded] = stack.pop();
    if (y.has(id)) continue;
    const ins = inEdges.get(id);
    if (!ins.length) {
      y.set(id, next++ * slot);
    } else if (expanded) {
      y.set(id, ins.reduce((sum, e) => sum + y.get(e.source), 0) / ins.length);
    } else {
      stack.push([id, true]);
      for (let i = ins.length - 1; i >= 0; i--) if (!y.has(ins[i].source)) stack.push([ins[i].source, false]);
    }
  }
  for (const n of circuit.nodes) if (!y.has(n.id)) y.set(n.id, next++ * slot);

  // within a rank, push nodes apart so a gate's input labels never meet its neighbour's
  const byRank = new Map();
  for (const n of circuit.nodes) {
    const r = rank.get(n.id);
    if (!byRank.has(r)) byRank.set(r, []);
    byRank.get(r).push(n.id);
  }
  for (const ids of byRank.values()) {
    ids.sort((a, b) => y.get(a) - y.get(b));
    for (let i = 1; i < ids.length; i++) {
      const need = (Math.max(1, inEdges.get(ids[i - 1]).length) + Math.max(1, inEdges.get(ids[i]).length)) * (label.h / 2) + 10;
      const gap = Math.max(need, (sizes[ids[i - 1]].h + sizes[ids[i]].h) / 2 + 10);
      if (y.get(ids[i]) < y.get(ids[i - 1]) + gap) y.set(ids[i], y.get(ids[i - 1]) + gap);
    }
  }

  const maxWidth = Math.max(...circuit.nodes.map((n) => sizes[n.id].w));
  const step = maxWidth + label.w + 40;
  const minY = Math.min(...y.values()) - label.h;
  const boxes = {};
  let maxRank = 0;
  for (const n of circuit.nodes) {
    const r = rank.get(n.id);
    maxRank = Math.max(maxRank, r);
    boxes[n.id] = { x: margin + maxWidth / 2 + r * step, y: y.get(n.id) - minY + margin };
  }
  const out = boxes[circuit.output.node];
  boxes[terminal] = { x: out.x + step, y: out.y };

  const wires = {};
  const place = (id, source, target, port, arity) => {
    const s = boxes[source];
    const t = boxes[target];
    const left = t.x - (sizes[target]?.w ?? 0) / 2;
    const ly = t.y + (port - (arity - 1) / 2) * label.h;
    const lx = left - 8 - label.w / 2;
    wires[id] = {
      points: [
        { x: s.x + sizes[source].w / 2, y: s.y },
        { x: lx - label.w / 2, y: ly },
        { x: lx + label.w / 2, y: ly },
        { x: left, y: t.y },
      ],
      label: { x: lx, y: ly },
    };
  };
  for (const e of circuit.edges) place(e.id, e.source, e.target, e.port, inEdges.get(e.target).length);
  place(outputWire, circuit.output.node, terminal, 0, 1);

  const height = Math.max(...Object.values(boxes).map((b) => b.y)) + label.h + margin;
  return { boxes, wires, width: boxes[terminal].x + margin, height };
}
