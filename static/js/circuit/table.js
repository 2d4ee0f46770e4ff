/** The table of backward steps, kept in sync with the animation; clicking a row jumps to its step. */

import { isConstant, nodeName } from "./caption.js";
import { fmtAny as fmt, fullAny as full } from "./format.js";
import { createThrottle } from "../common/writes.js";
import { indexOf } from "./model.js";

// a big circuit shows a window of steps around the active one, so the page stays quick to draw
const ALL_ROWS_UP_TO = 160;
const WINDOW_STEPS = 30;
// the numbers out of sight are written this long after the last answer (a drag sends several a second)
const SETTLE_MS = 300;
// while a slider is dragged, the numbers are written at most this often (the last always lands):
// a changed cell lays out and repaints the whole table, 10 of the 30 ms that each answer of a
// 200-gate drag cost to render (bench/frontend.py), while the diagram shows every answer
const LIVE_RENUMBER_MS = 200;
// the input column's labels: this many characters, unless two nodes need more to tell them apart
const LABEL_CHARS = 12;

const ORDINALS = ["th", "st", "nd", "rd"];
function ordinal(k) {
  const teen = Math.floor(k / 10) % 10 === 1;
  return `${k}${(!teen && ORDINALS[k % 10]) || "th"}`;
}

/** A long name cut in the middle, so both its start and its end show: "w0*x0…+ w2". */
function shorten(name, limit) {
  if (name.length <= limit) return name;
  const head = Math.ceil((limit - 1) / 2);
  const tail = limit - 1 - head;
  return `${name.slice(0, head).trimEnd()}…${tail > 0 ? name.slice(-tail).trimStart() : ""}`;
}

// where a node's text starts and ends (nested sums of a chain all start at column 1)
const where = (node) => {
  const span = node.span;
  return span ? [span.line, span.col, span.end_line, span.end_col] : [Infinity, Infinity, Infinity, Infinity];
};

/** " (line 1, columns 7–9)": where a node's text stands in the expression, for its tooltip. */
function placeOf(node) {
  const span = node?.span;
  // an input's name is its own, wherever it appears; a gate's text may stand twice
  if (!span || node.kind !== "gate") return "";
  if (span.end_line !== span.line) return ` (lines ${span.line}–${span.end_line})`;
  // end_col is the column just after the text
  return ` (line ${span.line}, columns ${span.col}–${span.end_col - 1})`;
}

/** The ids whose label another id has too, in groups. */
function clashes(labels) {
  const owners = new Map();
  for (const [id, text] of labels) {
    if (owners.has(text)) owners.get(text).push(id);
    else owners.set(text, [id]);
  }
  return [...owners.values()].filter((ids) => ids.length > 1);
}

function byPlace(a, b) {
  const [p, q] = [where(a), where(b)];
  return p[0] - q[0] || p[1] - q[1] || p[2] - q[2] || p[3] - q[3];
}

/**
 * A label for each node that no other node shares: its name (an input's, a stage's, or the
 * gate's source text) cut to `limit` characters, longer where two would read the same
 * ("w0*x0 + w1*x1 + w2" and "w0*x0 + w1*x1" both start "w0*x0 + w1"), and two nodes with the
 * same text (x*y + x*y) told apart by their place in the expression ("x*y, 1st", "x*y, 2nd").
 * Returns id -> { short, full }.
 */
export function uniqueLabels(nodes, limit = LABEL_CHARS) {
  const byId = new Map(nodes.map((node) => [node.id, node]));
  const byText = new Map();
  for (const node of byId.values()) {
    const name = nodeName(node);
    if (byText.has(name)) byText.get(name).push(node);
    else byText.set(name, [node]);
  }
  const full = new Map();
  for (const [name, group] of byText) {
    if (group.length === 1) full.set(group[0].id, name);
    else group.sort(byPlace).forEach((node, k) => full.set(node.id, `${name}, ${ordinal(k + 1)}`));
  }
  const labels = new Map([...full].map(([id, name]) => [id, shorten(name, limit)]));
  // the labels that clash get longer, a few times; a long chain's nested sums can read alike far
  // into their text (((x + x) + x) + …), and those are then numbered in the expression's order
  let size = limit;
  for (let round = 0; round < 4; round++) {
    const clashing = clashes(labels).flat();
    if (!clashing.length) break;
    size += 6;
    for (const id of clashing) labels.set(id, shorten(full.get(id), size));
  }
  for (const ids of clashes(labels)) {
    const group = ids.map((id) => byId.get(id)).sort(byPlace);
    group.forEach((node, k) => labels.set(node.id, `${labels.get(node.id)}, ${ordinal(k + 1)}`));
  }
  // the node's id settles what could still clash (a name that itself ends in ", 2nd")
  for (const ids of clashes(labels)) for (const id of ids) labels.set(id, `${labels.get(id)} [${id}]`);
  return new Map([...labels].map(([id, text]) => [id, { short: text, full: full.get(id) }]));
}

function cell(row, content, tag = "td") {
  const c = document.createElement(tag);
  c.textContent = content;
  row.appendChild(c);
  return c;
}

/** A gradient's cell: its number and full-precision tooltip, which predict mode can hide. */
function number(row, value) {
  const c = cell(row, fmt(value));
  c.title = full(value);
  c.className = "num";
  c.dataset.text = c.textContent;
  c.dataset.title = c.title;
  return c;
}

export class StepsTable {
  constructor(tbody, { onJump }) {
    this.tbody = tbody;
    this.onJump = onJump;
    this.rows = [];
    this.current = -2;
    this.window = null;
    // the rows near the table's scroll box: a slider moves every gradient, and the numbers of the
    // rows far out of sight are written when they come near, not on each answer (a changed cell
    // costs its row's layout; most of a 200-gate table is out of sight)
    this.near = new Set();
    this.observer = null;
    this.renumberSoon = createThrottle();
    this.tbody.addEventListener("click", (ev) => this.jumpFrom(ev.target));
    this.tbody.addEventListener("keydown", (ev) => {
      if (ev.key === "Enter") this.jumpFrom(ev.target);
    });
  }

  jumpFrom(target) {
    const row = target.closest && target.closest("tr[data-step]");
    if (row) this.onJump(Number(row.dataset.step) + 1);
  }

  /**
   * Keeps the circuit; rows are built for all steps, or for a window when there are many. With
   * `fresh` false (the same structure with new numbers, as while a slider moves) the rows on
   * screen stay and only their numbers change.
   */
  draw(circuit, timeline, { fresh = true, live = false } = {}) {
    // the same structure may come from other text ("a*b" and "a * b"), which the labels show
    const texts = circuit.nodes.map((n) => `${nodeName(n)}@${where(n).join(",")}`).join("\n");
    const same = !fresh && this.window && texts === this.texts;
    this.texts = texts;
    this.circuit = circuit;
    this.timeline = timeline;
    this.byId = indexOf(circuit).nodes;
    if (same) {
      this.renumberSoon(() => this.renumber(), live ? LIVE_RENUMBER_MS : 0);
      return;
    }
    const backward = timeline.steps.filter((s) => s.phase === "backward");
    this.rowCount = backward.reduce((n, s) => n + this.rowsOf(s.backward).length, 0);
    this.windowed = this.rowCount > ALL_ROWS_UP_TO;
    this.window = null;
    this.current = -2;
    if (!this.windowed) this.build(timeline.forwardCount, timeline.steps.length);
  }

  /** The inputs a step lists: its gate's inputs but constants (nothing flows on from a 2), or
   * all of them when every input is a constant. */
  rowsOf(b) {
    const learnable = b.inputs.filter((input) => !isConstant(this.byId.get(input.node)));
    return learnable.length ? learnable : b.inputs;
  }

  build(from, to) {
    const { timeline, byId } = this;
    const fragment = document.createDocumentFragment();
    const rows = [];
    this.numbers = []; // each row's number cells, which renumber() fills in again
    const first = timeline.forwardCount;
    if (this.windowed) fragment.appendChild(this.note(from - first, to - first, timeline.backwardCount));
    // labels unique among the rows on screen (all of them, or a big circuit's window: its
    // thousands of long nested texts are not worth comparing when 60 steps are shown)
    const named = new Map();
    for (let i = from; i < to; i++) {
      for (const input of this.rowsOf(timeline.steps[i].backward)) named.set(input.node, byId.get(input.node));
    }
    this.labels = uniqueLabels([...named.values()].filter(Boolean));
    for (let stepIndex = from; stepIndex < to; stepIndex++) {
      const b = timeline.steps[stepIndex].backward;
      const gate = byId.get(b.node);
      this.rowsOf(b).forEach((input, k) => {
        const row = document.createElement("tr");
        row.dataset.step = String(stepIndex);
        row.tabIndex = 0;
        cell(row, k === 0 ? String(b.index + 1) : "", "th").setAttribute("scope", "row");
        const stage = gate.label && gate.label !== b.symbol ? ` ${gate.label}` : "";
        cell(row, k === 0 ? `${b.symbol}${stage}` : "").title = nodeName(gate);
        const numbers = [number(row, b.upstream)];
        const label = this.labels.get(input.node) || { short: "?", full: "?" };
        const place = placeOf(byId.get(input.node));
        const named = cell(row, label.short);
        named.title = `${label.full}${place}`;
        named.dataset.node = input.node;
        numbers.push(number(row, input.local_grad), number(row, input.contribution), number(row, input.accumulated));
        this.numbers.push({ step: stepIndex, k, cells: numbers, row, due: null });
        row.setAttribute("aria-label", `jump to backward step ${b.index + 1}`);
        rows.push(row);
        fragment.appendChild(row);
      });
    }
    this.tbody.replaceChildren(fragment);
    this.rows = rows;
    this.window = [from, to];
    this.watch();
    const hidden = this.concealedFrom;
    this.concealedFrom = undefined;
    if (hidden !== undefined) this.conceal(hidden);
  }

  /** Watches which rows are near the table's scroll box (all of them count as near without one). */
  watch() {
    this.observer?.disconnect();
    this.near.clear();
    const box = this.tbody.closest(".table-scroll");
    if (!box || typeof IntersectionObserver === "undefined") {
      this.observer = null;
      return;
    }
    // only the rows in the box count: a slider drag rewrites the numbers of each near row on every
    // answer, and a box's height above and below as well tripled that (bench/frontend.py). A row
    // scrolled into view gets its numbers as it arrives, and every row gets them once the answers
    // stop (SETTLE_MS)
    this.observer = new IntersectionObserver((entries) => this.approach(entries), { root: box });
    for (const row of this.rows) this.observer.observe(row);
  }

  approach(entries) {
    let arrived = false;
    for (const { target, isIntersecting } of entries) {
      if (isIntersecting) {
        arrived = arrived || !this.near.has(target);
        this.near.add(target);
      } else this.near.delete(target);
    }
    if (arrived) for (const entry of this.numbers) if (entry.due && this.near.has(entry.row)) this.write(entry);
  }

  isNear(row) {
    return !this.observer || this.near.has(row);
  }

  /** Puts the timeline's numbers into the rows near the scroll box; the others get theirs when they come near. */
  renumber() {
    for (const entry of this.numbers) {
      const b = this.timeline.steps[entry.step].backward;
      const input = this.rowsOf(b)[entry.k];
      entry.due = [b.upstream, input.local_grad, input.contribution, input.accumulated];
      if (this.isNear(entry.row)) this.write(entry);
    }
    // once the numbers stop moving, the rows out of sight get theirs too (a screen reader or a
    // text search reads them without scrolling the box)
    clearTimeout(this.settling);
    this.settling = setTimeout(() => {
      for (const entry of this.numbers) if (entry.due) this.write(entry);
    }, SETTLE_MS);
  }

  /** Writes an entry's due numbers into its cells; the cells that keep theirs are not touched. */
  write(entry) {
    const hidden = this.concealedFrom;
    const values = entry.due;
    entry.due = null;
    values.forEach((value, i) => {
      const c = entry.cells[i];
      const [text, title] = [fmt(value), full(value)];
      // a slider moves a few numbers at a time: the cells that keep theirs are not touched
      if (text === c.dataset.text && title === c.dataset.title) return;
      c.dataset.text = text;
      c.dataset.title = title;
      // predict mode's hidden answers stay hidden
      if (hidden !== undefined && entry.step >= hidden) return;
      c.textContent = text;
      c.title = title;
    });
  }

  /** Hides the numbers (and their tooltips) of the steps from `fromStep` on, as "?": predict
   * mode's answers stay out of sight until the animation reaches them. Infinity shows all. */
  conceal(fromStep) {
    if (fromStep === this.concealedFrom || !this.rows) return;
    // the numbers not yet written go in first: the cells shown again read them
    for (const entry of this.numbers ?? []) if (entry.due) this.write(entry);
    this.concealedFrom = fromStep;
    for (const row of this.rows) {
      const hide = Number(row.dataset.step) >= fromStep;
      row.classList.toggle("concealed", hide);
      for (const c of row.querySelectorAll("td.num")) {
        c.textContent = hide ? "?" : c.dataset.text;
        if (hide) c.removeAttribute("title");
        else c.title = c.dataset.title;
      }
    }
  }

  note(from, to, total) {
    const row = document.createElement("tr");
    row.className = "window-note";
    const c = cell(row, `Backward steps ${from + 1}–${to} of ${total}; the rest follow the animation.`);
    c.colSpan = 7;
    return row;
  }

  /** Marks the rows of the active step; earlier rows are marked done. */
  sync(active) {
    if (active === this.current || !this.timeline) return;
    this.current = active;
    if (this.windowed) {
      const { forwardCount, steps } = this.timeline;
      const focus = Math.max(active, forwardCount);
      if (!this.window || focus < this.window[0] || focus >= this.window[1]) {
        const from = Math.max(forwardCount, Math.min(focus - 10, steps.length - WINDOW_STEPS));
        this.build(from, Math.min(steps.length, from + WINDOW_STEPS));
      }
    }
    let first = null;
    for (const row of this.rows) {
      const step = Number(row.dataset.step);
      row.classList.toggle("current", step === active);
      row.classList.toggle("done", step < active);
      if (step === active) {
        row.setAttribute("aria-current", "step");
        first = first || row;
      } else row.removeAttribute("aria-current");
    }
    if (first) this.reveal(first);
  }

  /**
   * Scrolls the table's own box (never the page) so the current row is in view, once the frame
   * that draws this step is painted: measuring the row before then would make the browser lay out
   * the page in the middle of the redraw (the new diagram included), and after the paint the
   * layout is already done. The table follows a frame later; only the latest row is scrolled to.
   */
  reveal(row) {
    const due = !this.revealing;
    this.revealing = row;
    if (!due) return;
    requestAnimationFrame(() =>
      setTimeout(() => {
        const latest = this.revealing;
        this.revealing = null;
        if (latest.isConnected) this.scrollTo(latest);
      }),
    );
  }

  scrollTo(row) {
    const box = this.tbody.closest(".table-scroll");
    if (!box) return;
    const header = this.tbody.parentElement.tHead?.offsetHeight ?? 0;
    const top = row.offsetTop - header;
    const bottom = row.offsetTop + row.offsetHeight * 2;
    if (top < box.scrollTop) box.scrollTop = top;
    else if (bottom > box.scrollTop + box.clientHeight) box.scrollTop = bottom - box.clientHeight;
  }
}
