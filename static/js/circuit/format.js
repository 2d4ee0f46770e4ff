/** Number formatting shared by the diagram, captions and tables: rounded for display, full on hover. */

/** Parses the API's JSON numbers, where non-finite values arrive as strings. */
export function toNumber(v) {
  if (typeof v === "number") return v;
  if (v === "Infinity") return Infinity;
  if (v === "-Infinity") return -Infinity;
  if (v === "NaN") return NaN;
  return Number(v);
}

/** Rounds for display: 4 significant digits (-11.59, 0.1966), whole numbers up to a million. */
export function fmt(v) {
  const x = toNumber(v);
  if (Number.isNaN(x)) return "NaN";
  if (x === Infinity) return "∞";
  if (x === -Infinity) return "-∞";
  if (x === 0) return "0";
  const ax = Math.abs(x);
  if (ax >= 1e6 || ax < 1e-4) return x.toExponential(2).replace("e+", "e");
  if (ax >= 1e4) return String(Math.round(x));
  let s = x.toPrecision(4);
  if (s.includes(".")) s = s.replace(/0+$/, "").replace(/\.$/, "");
  return s === "-0" ? "0" : s;
}

/**
 * A number as the server's captions write it (app/engine/numbers.py fmt, Python's "%.4g"): 4
 * significant digits rounded half to even on the exact binary value, trailing zeros dropped,
 * an exponent (1.5e-5, 1e30) below 1e-4 or from 1e4 on, "0" for ±0, and NaN, Infinity and
 * -Infinity as words. The compact answer's captions name their numbers, and the reader writes
 * them with this, so the text is the verbose answer's to the character.
 */
export function captionNumber(v) {
  const x = toNumber(v);
  if (Number.isNaN(x)) return "NaN";
  if (x === Infinity) return "Infinity";
  if (x === -Infinity) return "-Infinity";
  if (x === 0) return "0";
  const ax = Math.abs(x);
  // toExponential rounds an exact tie up; Python to the even digit
  const [mantissa, power] = ax.toExponential(3).split("e");
  let digits = mantissa.replace(".", "");
  const exponent = Number(power);
  const n = Number(digits);
  if (n % 2 === 1 && exactlyHalfBelow(ax, n, exponent - 3)) digits = String(n - 1);
  const sign = x < 0 ? "-" : "";
  // the four digits split at the decimal point, trailing zeros dropped from the fraction only
  const joined = (whole, fraction) => {
    const kept = fraction.replace(/0+$/, "");
    return kept ? `${whole}.${kept}` : whole;
  };
  if (exponent < -4 || exponent >= 4) return `${sign}${joined(digits[0], digits.slice(1))}e${exponent}`;
  if (exponent >= 0) return sign + joined(digits.slice(0, exponent + 1), digits.slice(exponent + 1));
  return sign + joined("0", "0".repeat(-exponent - 1) + digits);
}

/** Whether x is exactly (n - 1/2) · 10^k: a tie that toExponential rounded up to n. */
function exactlyHalfBelow(x, n, k) {
  // x = m · 2^q exactly, from its bits
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, x);
  const high = view.getUint32(0);
  const biased = (high >>> 20) & 0x7ff;
  let m = (BigInt(high & 0xfffff) << 32n) | BigInt(view.getUint32(4));
  let q = -1074;
  if (biased !== 0) {
    m |= 1n << 52n;
    q = biased - 1075;
  }
  // m · 2^(q+1) = (2n - 1) · 10^k, both sides made whole numbers
  let left = m;
  let right = BigInt(2 * n - 1);
  if (q + 1 >= 0) left <<= BigInt(q + 1);
  else right <<= BigInt(-(q + 1));
  if (k >= 0) right *= 10n ** BigInt(k);
  else left *= 10n ** BigInt(-k);
  return left === right;
}

/**
 * Text from the server (a rule with its numbers, a warning) spells a non-finite number as a word;
 * the page writes ∞, as fmt does, so one caption never says both "Infinity" and "∞".
 */
export function fmtText(text) {
  return String(text).replace(/(-?)Infinity/g, "$1∞");
}

/** The full value, for <title> hover text and exports. */
export function full(v) {
  const x = toNumber(v);
  return Number.isFinite(x) ? String(x) : fmt(x);
}

/** Formats a value that may be a tensor: tensors show their shape (5×3) instead of a number. */
export function fmtValue(v, shape) {
  // a tensor's shape in brackets, as the captions write it ([3], [5×10]): never a bare 3 that
  // reads as a value beside a scalar's 3.2
  if (shape && shape.length) return `[${shape.join("×")}]`;
  return fmt(v);
}

/** Wraps a negative number in parentheses for use inside a product: 3 · (-4). */
export function paren(v) {
  const s = fmt(v);
  return s.startsWith("-") ? `(${s})` : s;
}

/** The shape of a nested list: [[1, 2, 3], [4, 5, 6]] -> [2, 3]; a number -> []. */
export function shapeOf(v) {
  const shape = [];
  let x = v;
  while (Array.isArray(x)) {
    shape.push(x.length);
    x = x[0];
  }
  return shape;
}

/** A number rounded, a tensor as its shape (4×3), a missing value as a dash. */
export function fmtAny(v) {
  if (v === null || v === undefined) return "—";
  if (Array.isArray(v)) return `[${shapeOf(v).join("×")}]`;
  return fmt(v);
}

/** The full value for hover text: numbers in full, tensors by shape. */
export function fullAny(v) {
  if (Array.isArray(v) || v === null || v === undefined) return fmtAny(v);
  return full(v);
}
