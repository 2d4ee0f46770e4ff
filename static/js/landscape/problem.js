// Turns the view state into landscape API request bodies: data, weights, loss, and the slice plane.

/**
 * Up to this many weights the page draws random directions itself and sends W and the directions
 * explicitly, so a click can move W within the plane exactly. Larger W (cifar-shaped is 10 x 3073)
 * use the API's seeded directions and recentre by shifting the slice's range instead.
 */
export const EXPLICIT_WEIGHTS_LIMIT = 2000;

/** A small seeded generator (mulberry32) with Box-Muller normals: the same seed, the same plane. */
export function gaussianStream(seed) {
  let s = (seed >>> 0) ^ 0x9e3779b9;
  const uniform = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return () => {
    const u = 1 - uniform();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * uniform());
  };
}

export function randomMatrix(rows, cols, next) {
  return Array.from({ length: rows }, () => Array.from({ length: cols }, () => next()));
}

/** W + a*D1 + b*D2, entry by entry. */
export function moveInPlane(W, D1, D2, a, b) {
  return W.map((row, c) => row.map((w, d) => w + a * D1[c][d] + b * D2[c][d]));
}

/** The `dataset` field. */
export function datasetSpec(state) {
  switch (state.dataset) {
    case "blobs":
      return { name: "blobs", n: state.n, d: state.d, c: state.c, seed: state.dseed };
    case "cifar-shaped":
      return { name: "cifar-shaped", n: state.n, seed: state.dseed };
    case "custom":
      return { csv: state.csv }; // parsed by the API, whose errors name the line
    default:
      return { name: state.dataset };
  }
}

/** Fields every request shares, except the weights. */
export function lossFields(state) {
  return {
    dataset: datasetSpec(state),
    bias: state.bias,
    loss: state.loss,
    variant: state.variant,
    delta: state.delta,
    reg: state.reg,
  };
}

/** The first /loss request of a problem: its answer gives W0 (seeded or given), C, D and N. */
export function baseLossRequest(state) {
  // the one request whose W the page reads (W0, drawn from the seed): asked for explicitly
  const body = { ...lossFields(state), seed: state.wseed, include_W: true };
  if (state.winit === "table" && state.W) body.W = state.W;
  // data that may have two features comes back too, for the data view (built-ins are drawn
  // on the server, so the page has no other copy of their points)
  const twoFeatureData = state.dataset === "toy-2d" || state.dataset === "custom" || (state.dataset === "blobs" && state.d === 2);
  if (twoFeatureData) body.include_data = true;
  return body;
}

/**
 * The plane and the current W for slices, paths and circuits. `base` is the /loss answer for W0.
 * Returns {explicit, W, D1, D2, shift}: with explicit directions, W is the moved W and shift is 0;
 * otherwise requests keep W0 and shift the range by (ca, cb).
 */
export function plane(state, base) {
  const C = base.c;
  const D = base.d;
  const W0 = state.winit === "zeros" ? randomMatrix(C, D, () => 0) : base.W;
  if (C * D <= EXPLICIT_WEIGHTS_LIMIT) {
    const next = gaussianStream(state.rseed);
    const D1 = randomMatrix(C, D, next);
    const D2 = randomMatrix(C, D, next);
    return { explicit: true, W: moveInPlane(W0, D1, D2, state.ca, state.cb), D1, D2, shift: [0, 0] };
  }
  return { explicit: false, W: W0, D1: null, D2: null, shift: [state.ca, state.cb] };
}

function weightsField(state, p) {
  if (p.explicit || state.winit !== "seed") return { W: p.W };
  return { seed: state.wseed };
}

export function lossRequest(state, p) {
  return { ...lossFields(state), ...weightsField(state, p) };
}

/** The numerical gradient's errors against h, at the current W (the API's default steps). */
export function numericalGradientRequest(state, p) {
  return lossRequest(state, p);
}

export function slice1dRequest(state, p) {
  const body = { ...lossRequest(state, p), dims: 1, range: [state.lo, state.hi], steps: state.steps };
  if (state.dir === "axis") Object.assign(body, { direction: "axis", axis: [state.axc, state.axd] });
  else if (p.explicit) body.direction = p.D1;
  else Object.assign(body, { direction: "random", direction_seed: state.rseed });
  return body;
}

function planeFields(state, p) {
  return p.explicit ? { directions: [p.D1, p.D2] } : { directions: ["random", "random"], direction_seed: state.rseed };
}

/** True when the 2-D slice is taken in the plane of the descent path (which needs a path). */
export function inPathPlane(state) {
  return state.plane === "path" && state.method !== "none";
}

function runFields(state) {
  return { strategy: state.method, steps: state.psteps, step_size: state.lr, batch_size: state.batch, optimizer_seed: state.pseed, momentum: state.mu };
}

export function slice2dRequest(state, p) {
  if (inPathPlane(state)) {
    // the path runs from the current W and the slice is taken in its plane, in one request
    const range = [state.lo, state.hi];
    return { ...lossRequest(state, p), dims: 2, plane: "path", path: runFields(state), range, beta_range: range, steps: state.grid };
  }
  const [sa, sb] = p.shift;
  return {
    ...lossRequest(state, p),
    ...planeFields(state, p),
    dims: 2,
    range: [state.lo + sa, state.hi + sa],
    beta_range: [state.lo + sb, state.hi + sb],
    steps: state.grid,
  };
}

export function optimizeRequest(state, p) {
  return {
    ...lossRequest(state, p),
    ...planeFields(state, p),
    ...runFields(state),
  };
}
