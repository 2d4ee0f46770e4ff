/** Links between pages: the URL properties one page sets when it opens another, defined once and part of the target's own table. */

import { writeParams } from "./urlstate.js";

/** The circuit page's entry properties (its hash table starts with these; see static/js/circuit/state.js). */
export const CIRCUIT_ENTRY = [
  { name: "expression", key: "e", kind: "string", def: "" },
  { name: "inputs", key: "in", kind: "json", def: {}, ok: (v) => v && typeof v === "object" && !Array.isArray(v) },
];

/** The address of the circuit page showing `expression` with `inputs`. */
export function circuitLink({ expression, inputs }) {
  const params = writeParams(CIRCUIT_ENTRY, { expression, inputs });
  return params ? `/#${params}` : "/";
}
