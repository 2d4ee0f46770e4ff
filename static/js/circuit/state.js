/** The view state and its URL round-trip: one table of properties drives both reading and writing. */

const json = {
  read: (s) => JSON.parse(s),
  write: (v) => JSON.stringify(v),
};
const num = { read: (s) => Number(s), write: (v) => String(v) };
const int = { read: (s) => Number.parseInt(s, 10), write: (v) => String(v) };
const bool = { read: (s) => s === "1", write: (v) => (v ? "1" : "0") };
const str = { read: (s) => s, write: (v) => v };

/** key in the URL, field in the state, codec, default, and a check of a read value. */
const PROPERTIES = [
  { key: "e", field: "expression", codec: str, dflt: "" },
  { key: "in", field: "inputs", codec: json, dflt: {}, ok: (v) => v && typeof v === "object" && !Array.isArray(v) },
  { key: "g", field: "outputGrad", codec: num, dflt: 1, ok: Number.isFinite },
  { key: "tie", field: "tieBreak", codec: str, dflt: "split", ok: (v) => v === "split" || v === "first" },
  { key: "s", field: "step", codec: int, dflt: null, ok: (v) => Number.isInteger(v) && v >= 0 },
  { key: "sp", field: "speed", codec: num, dflt: 1, ok: (v) => Number.isFinite(v) && v > 0 && v <= 16 },
  { key: "p", field: "predict", codec: bool, dflt: false },
  { key: "gc", field: "gradcheck", codec: bool, dflt: false },
  { key: "c", field: "collapse", codec: bool, dflt: false },
];

export function defaultState() {
  const state = {};
  for (const p of PROPERTIES) state[p.field] = structuredClone(p.dflt);
  return state;
}

/** Reads a state from a URL hash ("#e=...&in=..."); unknown or malformed entries keep their defaults. */
export function readState(hash) {
  const params = new URLSearchParams(hash.replace(/^#/, ""));
  const state = defaultState();
  for (const p of PROPERTIES) {
    if (!params.has(p.key)) continue;
    try {
      const value = p.codec.read(params.get(p.key));
      if (!p.ok || p.ok(value)) state[p.field] = value;
    } catch {
      // a hand-edited link with a broken value falls back to the default
    }
  }
  return state;
}

/** Writes a state as a URL hash; defaults are left out so links stay short. */
export function writeState(state) {
  const params = new URLSearchParams();
  for (const p of PROPERTIES) {
    const value = state[p.field];
    if (value === null || value === undefined) continue;
    if (p.codec.write(value) === p.codec.write(p.dflt ?? "")) continue;
    params.set(p.key, p.codec.write(value));
  }
  return `#${params.toString()}`;
}
