/** The URL-state table of both pages: one vocabulary of properties, each read from and written to the URL by its kind. */

// A property: { name (its field in the state), key (in the URL; default: the name), kind, def,
// values (for enums), ok (an extra check of a read value) }. A value that cannot be read, or fails
// its check, falls back to the default, so a hand-edited link never breaks the page.

/** "1,2;3,4" <-> [[1, 2], [3, 4]]; null when the text is not a rectangular finite matrix. */
export function parseMatrix(text) {
  if (!text) return null;
  const rows = text.split(";").map((row) => row.split(",").map(Number));
  const width = rows[0].length;
  const ok = rows.every((r) => r.length === width && r.every(Number.isFinite));
  return ok ? rows : null;
}

// String(v) is the shortest text that reads back as the same double, so links keep every bit;
// only -0 needs help, since String(-0) is "0".
const numberText = (v) => (Object.is(v, -0) ? "-0" : String(v));

export function formatMatrix(rows) {
  return rows.map((r) => r.map(numberText).join(",")).join(";");
}

/** Each kind: read(text, property) -> value, or undefined when the text is not one; write(value) -> text. */
const KINDS = {
  string: { read: (s) => s, write: (v) => v },
  num: {
    read: (s) => {
      const v = Number(s);
      return s.trim() !== "" && Number.isFinite(v) ? v : undefined;
    },
    write: numberText,
  },
  int: {
    read: (s) => {
      const v = Number.parseInt(s, 10);
      return Number.isFinite(v) ? v : undefined;
    },
    write: (v) => String(v),
  },
  bool: { read: (s) => s === "1" || s === "true", write: (v) => (v ? "1" : "0") },
  enum: { read: (s, p) => (p.values.includes(s) ? s : undefined), write: (v) => v },
  // a short list of numbers, "1.25,-40,12" (the circuit diagram's zoom and pan)
  nums: {
    read: (s) => {
      const parts = s.split(",");
      const v = parts.map(Number);
      return parts.every((p) => p.trim() !== "") && v.every(Number.isFinite) ? v : undefined;
    },
    write: (v) => v.map(numberText).join(","),
  },
  json: { read: (s) => JSON.parse(s), write: (v) => JSON.stringify(v) },
  matrix: { read: (s) => parseMatrix(s) ?? undefined, write: formatMatrix },
};

const keyOf = (p) => p.key ?? p.name;

function encode(p, value) {
  return KINDS[p.kind].write(value);
}

/** A fresh state at every property's default (objects are copied, so no two states share one). */
export function defaults(table) {
  return Object.fromEntries(table.map((p) => [p.name, structuredClone(p.def)]));
}

/** Reads a state from URL parameters ("?a=1&b=2", "#a=1&b=2" or "a=1"); unknown keys are ignored. */
export function readParams(table, text) {
  const params = new URLSearchParams(text.replace(/^[#?]/, ""));
  const state = defaults(table);
  for (const p of table) {
    if (!params.has(keyOf(p))) continue;
    let value;
    try {
      value = KINDS[p.kind].read(params.get(keyOf(p)), p);
    } catch {
      value = undefined; // a hand-edited link with a broken value falls back to the default
    }
    if (value !== undefined && (!p.ok || p.ok(value))) state[p.name] = value;
  }
  return state;
}

/** Writes a state as URL parameters (without "?" or "#"); values at their defaults are left out so links stay short. */
export function writeParams(table, state) {
  const params = new URLSearchParams();
  for (const p of table) {
    const value = state[p.name];
    if (value === null || value === undefined) continue;
    if (p.def !== null && p.def !== undefined && encode(p, value) === encode(p, p.def)) continue;
    params.set(keyOf(p), encode(p, value));
  }
  return params.toString();
}
