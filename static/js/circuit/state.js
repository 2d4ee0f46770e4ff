/** The circuit page's view state: its URL-hash table, read and written by the shared URL-state table (static/js/common/urlstate.js). */

import { CIRCUIT_ENTRY } from "../common/links.js";
import { defaults, readParams, writeParams } from "../common/urlstate.js";

/** Each property: its field (name), URL key, kind, default, and a check of a read value. */
export const PROPERTIES = [
  ...CIRCUIT_ENTRY,
  { name: "outputGrad", key: "g", kind: "num", def: 1 },
  { name: "tieBreak", key: "tie", kind: "enum", values: ["split", "first"], def: "split" },
  { name: "step", key: "s", kind: "int", def: null, ok: (v) => v >= 0 },
  { name: "speed", key: "sp", kind: "num", def: 1, ok: (v) => v > 0 && v <= 16 },
  { name: "predict", key: "p", kind: "bool", def: false },
  { name: "gradcheck", key: "gc", kind: "bool", def: false },
  { name: "collapse", key: "c", kind: "bool", def: false },
  { name: "present", key: "present", kind: "bool", def: false }, // presentation mode (presentation.js)
  // the diagram's zoom and pan, [scale, x, y], once the reader has moved it (null: fitted)
  { name: "view", key: "v", kind: "nums", def: null, ok: (v) => v.length === 3 && v[0] > 0 },
];

export function defaultState() {
  return defaults(PROPERTIES);
}

/** Reads a state from a URL hash ("#e=...&in=..."); unknown or malformed entries keep their defaults. */
export function readState(hash) {
  return readParams(PROPERTIES, hash);
}

/** Writes a state as a URL hash; defaults are left out so links stay short. */
export function writeState(state) {
  return `#${writeParams(PROPERTIES, state)}`;
}
