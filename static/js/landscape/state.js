/** The landscape page's view state: its URL-query table, read and written by the shared URL-state table (static/js/common/urlstate.js). */

import { createStore } from "../common/store.js";
import { defaults as defaultsOf, readParams, writeParams } from "../common/urlstate.js";

/**
 * The names in one of the server's tables (losses, variants, datasets, optimizers), from the
 * catalog the landscape page carries on its controls form (data-catalog), so a choice added to
 * a table is valid in links with no change here. Off that page there is no catalog: such an
 * enum then reads only its default (and `extra`, the page's own choices beyond the table).
 */
function tableNames(table, ...extra) {
  const form = globalThis.document?.getElementById("ls-controls");
  const rows = form?.dataset.catalog ? JSON.parse(form.dataset.catalog)[table] : [];
  return [...rows.map((row) => row.name), ...extra];
}

/** Each property: its URL key, kind, default, and for enums the allowed values. */
export const FIELDS = [
  { name: "view", kind: "enum", values: ["1d", "2d", "grad"], def: "1d" },
  // data
  { name: "dataset", kind: "enum", values: tableNames("datasets", "custom"), def: "cs231n-1d" },
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
  { name: "loss", kind: "enum", values: tableNames("losses"), def: "svm" },
  { name: "variant", kind: "enum", values: tableNames("variants"), def: "ww" },
  { name: "delta", kind: "num", def: 1 },
  { name: "reg", kind: "num", def: 0 },
  // slice
  { name: "dir", kind: "enum", values: ["axis", "random"], def: "axis" },
  { name: "axc", kind: "int", def: 0 },
  { name: "axd", kind: "int", def: 0 },
  { name: "rseed", kind: "int", def: 0 },
  // the 2-D plane: two random directions, or the plane of the descent path (its principal directions)
  { name: "plane", kind: "enum", values: ["random", "path"], def: "random" },
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
  { name: "method", kind: "enum", values: tableNames("optimizers", "none"), def: "none" },
  { name: "lr", kind: "num", def: 0.1 },
  { name: "batch", kind: "int", def: 8 },
  { name: "psteps", kind: "int", def: 50 },
  { name: "pseed", kind: "int", def: 0 },
  { name: "pstep", kind: "int", def: -1 },
  { name: "mu", kind: "num", def: 0.9 }, // momentum's μ
  // runs side by side: five step sizes around lr, or every step-size rule at lr
  { name: "cmp", kind: "enum", values: ["off", "steps", "optimizers"], def: "off" },
  // Open as circuit: one example's loss (cex; -1 is the server's pick at W) or the whole loss
  { name: "cscope", kind: "enum", values: ["example", "all"], def: "example" },
  { name: "cex", kind: "int", def: -1 },
];

/** Every property at its default. */
export function defaults() {
  return defaultsOf(FIELDS);
}

/** Reads every property from a query string; unknown keys are ignored, bad values fall back. */
export function readQuery(search) {
  return readParams(FIELDS, search);
}

/** The query string for a state, leaving out properties at their defaults. */
export function writeQuery(state) {
  const text = writeParams(FIELDS, state);
  return text ? `?${text}` : "";
}

/** The page's store, kept in the query: setState is the only path to a redraw, and every change lands in the URL. */
export function createLandscapeStore(win = window) {
  return createStore(FIELDS, { place: "query", win });
}
