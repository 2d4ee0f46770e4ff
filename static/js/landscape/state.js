// View state of the landscape page: one table of properties drives reading and writing the URL.

/** Each property: its URL key, kind, default, and for enums the allowed values. */
export const FIELDS = [
  { name: "view", kind: "enum", values: ["1d", "2d"], def: "1d" },
  // data
  { name: "dataset", kind: "enum", values: ["cs231n-1d", "toy-2d", "blobs", "cifar-shaped", "custom"], def: "cs231n-1d" },
  { name: "n", kind: "int", def: 30 },
  { name: "d", kind: "int", def: 2 },
  { name: "c", kind: "int", def: 3 },
  { name: "dseed", kind: "int", def: 0 },
  { name: "csv", kind: "string", def: "" },
  { name: "bias", kind: "bool", def: false },
  // weights
  { name: "winit", kind: "enum", values: ["seed", "zeros", "table"], def: "seed" },
  { name: "wseed", kind: "int", def: 0 },
  { name: "W", kind: "matrix", def: null },
  // loss
  { name: "loss", kind: "enum", values: ["svm", "softmax"], def: "svm" },
  { name: "variant", kind: "enum", values: ["ww", "ova", "structured"], def: "ww" },
  { name: "delta", kind: "num", def: 1 },
  { name: "reg", kind: "num", def: 0 },
  // slice
  { name: "dir", kind: "enum", values: ["axis", "random"], def: "axis" },
  { name: "axc", kind: "int", def: 0 },
  { name: "axd", kind: "int", def: 0 },
  { name: "rseed", kind: "int", def: 0 },
  { name: "lo", kind: "num", def: -3 },
  { name: "hi", kind: "num", def: 3 },
  { name: "steps", kind: "int", def: 201 },
  { name: "grid", kind: "int", def: 51 },
  { name: "li", kind: "bool", def: true },
  { name: "terms", kind: "bool", def: false },
  // where W sits in the 2-D slice plane after clicks (the plane is kept, W moves in it)
  { name: "ca", kind: "num", def: 0 },
  { name: "cb", kind: "num", def: 0 },
  // descent path
  { name: "method", kind: "enum", values: ["none", "random_search", "random_local_search", "gd", "sgd"], def: "none" },
  { name: "lr", kind: "num", def: 0.1 },
  { name: "batch", kind: "int", def: 8 },
  { name: "psteps", kind: "int", def: 50 },
  { name: "pseed", kind: "int", def: 0 },
  { name: "pstep", kind: "int", def: -1 },
];

const BY_NAME = new Map(FIELDS.map((f) => [f.name, f]));

/** "1,2;3,4" <-> [[1, 2], [3, 4]]; null when the text is not a rectangular finite matrix. */
export function parseMatrix(text) {
  if (!text) return null;
  const rows = text.split(";").map((row) => row.split(",").map(Number));
  const width = rows[0].length;
  const ok = rows.every((r) => r.length === width && r.every(Number.isFinite));
  return ok ? rows : null;
}

export function formatMatrix(rows) {
  return rows.map((r) => r.map((v) => String(v)).join(",")).join(";");
}

function parseValue(field, text) {
  switch (field.kind) {
    case "enum":
      return field.values.includes(text) ? text : field.def;
    case "int": {
      const v = Number.parseInt(text, 10);
      return Number.isFinite(v) ? v : field.def;
    }
    case "num": {
      const v = Number(text);
      return text !== "" && Number.isFinite(v) ? v : field.def;
    }
    case "bool":
      return text === "1" || text === "true";
    case "matrix":
      return parseMatrix(text);
    default:
      return text;
  }
}

function formatValue(field, value) {
  if (field.kind === "bool") return value ? "1" : "0";
  if (field.kind === "matrix") return formatMatrix(value);
  return String(value);
}

function isDefault(field, value) {
  if (field.kind === "matrix") return value === null;
  return value === field.def;
}

export function defaults() {
  return Object.fromEntries(FIELDS.map((f) => [f.name, f.def]));
}

/** Reads every property from a query string; unknown keys are ignored, bad values fall back. */
export function readQuery(search) {
  const params = new URLSearchParams(search);
  const state = defaults();
  for (const field of FIELDS) {
    if (params.has(field.name)) state[field.name] = parseValue(field, params.get(field.name));
  }
  return state;
}

/** The query string for a state, leaving out properties at their defaults. */
export function writeQuery(state) {
  const params = new URLSearchParams();
  for (const field of FIELDS) {
    const value = state[field.name];
    if (value !== undefined && !isDefault(field, value)) params.set(field.name, formatValue(field, value));
  }
  const text = params.toString();
  return text ? `?${text}` : "";
}

/** The page's store: setState is the only path to a redraw, and every change lands in the URL. */
export function createStore(win = window) {
  let state = readQuery(win.location.search);
  const listeners = [];
  function emit(changed) {
    for (const fn of listeners) fn(state, changed);
  }
  win.addEventListener("popstate", () => {
    state = readQuery(win.location.search);
    emit(new Set(FIELDS.map((f) => f.name)));
  });
  return {
    get: () => state,
    subscribe(fn) {
      listeners.push(fn);
    },
    /** Merges a patch; pushes a history entry when `push` (a deliberate move), else replaces. */
    set(patch, { push = false } = {}) {
      const changed = new Set();
      for (const [key, value] of Object.entries(patch)) {
        if (!BY_NAME.has(key)) throw new Error(`unknown state property ${key}`);
        if (JSON.stringify(state[key]) !== JSON.stringify(value)) changed.add(key);
      }
      if (changed.size === 0) return;
      state = { ...state, ...patch };
      const url = `${win.location.pathname}${writeQuery(state)}`;
      if (push) win.history.pushState(null, "", url);
      else win.history.replaceState(null, "", url);
      emit(changed);
    },
  };
}
