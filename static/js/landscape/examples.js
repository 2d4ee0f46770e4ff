/** The per-example table beside the data view: features, class, scores, margins (active hinge terms marked) and L_i, from the /loss answer. */
import { createThrottle } from "../common/writes.js";
import { classColour } from "./dataview.js";

const fmt = (v) => (Number.isFinite(v) ? Number(v.toPrecision(4)).toString() : String(v));

/**
 * Builds the table in `container`; update() refills its rows. `highlight` is the shared hovered-
 * example channel (highlight.js): hovering or focusing a row sets it, and the row it names is marked.
 */
export function createExamplesTable(container, { highlight }) {
  const table = document.createElement("table");
  table.className = "ls-examples";
  // rows and cells are laid out as grids (landscape.css), which hides their table roles
  table.setAttribute("role", "table");
  const head = table.createTHead().insertRow();
  const body = table.createTBody();
  table.tHead.setAttribute("role", "rowgroup");
  head.setAttribute("role", "row");
  body.setAttribute("role", "rowgroup");
  container.replaceChildren(table);
  let shape = "";

  // the columns' widths, fixed (rows are grids, not table layout: see landscape.css): index,
  // two features, the class, C scores, C margins, L_i; a number is at most 10 characters
  // (toPrecision(4), sign and exponent)
  function header(C, marginLabel) {
    table.style.setProperty("--ex-cols", `6ch 10ch 10ch 4ch repeat(${2 * C}, 10ch) 10ch`);
    const cells = ["i", "x0", "x1", "y", ...Array.from({ length: C }, (_, c) => `s${c}`), ...Array.from({ length: C }, (_, c) => `${marginLabel}${c}`), "L_i"];
    head.replaceChildren(...cells.map((text) => {
      const th = document.createElement("th");
      th.setAttribute("role", "columnheader");
      th.textContent = text;
      return th;
    }));
  }

  /** Row i, made once and kept: a redraw (a training step) refills its cells, so focus stays on it. */
  function rowFor(i) {
    if (body.rows[i]) return body.rows[i];
    const tr = body.insertRow();
    tr.setAttribute("role", "row");
    tr.dataset.i = String(i);
    tr.tabIndex = 0; // keyboard users reach each example, and focus highlights it as hover does
    tr.setAttribute("aria-label", `example ${i}`);
    tr.addEventListener("mouseenter", () => highlight.set(i));
    tr.addEventListener("mouseleave", () => highlight.set(null));
    tr.addEventListener("focus", () => highlight.set(i));
    tr.addEventListener("blur", () => highlight.set(null));
    return tr;
  }

  // Each cell is written only when its text or marks change, and only rows in or near the
  // scroll box are written at all: a training step changes every score, and rewriting 300 rows
  // (3,000 cells) cost more than the rest of the page's redraw. Rows left stale are written when
  // they scroll near the view.
  let latest = null; // the arguments of the last update
  const stale = new Set();
  const NEAR_ROWS = 5; // rows written beyond each edge of the scroll box

  function setCell(td, text, data, classes) {
    // the cell's one text node is changed in place: replacing it (textContent) is a node
    // removed and one inserted, each a style invalidation
    const node = td.firstChild;
    if (node?.nodeType === Node.TEXT_NODE && !node.nextSibling) {
      if (node.nodeValue !== text) node.nodeValue = text;
    } else td.textContent = text;
    for (const [key, value] of Object.entries(data)) {
      const v = String(value);
      if (td.dataset[key] !== v) td.dataset[key] = v;
    }
    for (const [name, on] of Object.entries(classes)) {
      if (td.classList.contains(name) !== on) td.classList.toggle(name, on);
    }
  }

  /** Writes row i from the last update. */
  function fill(i) {
    const { X, labels, W, loss } = latest;
    const C = W.length;
    const row = X[i];
    const tr = rowFor(i);
    const width = 5 + 2 * C;
    if (tr.cells.length !== width) {
      tr.replaceChildren(...Array.from({ length: width }, () => {
        const td = document.createElement("td");
        td.setAttribute("role", "cell");
        return td;
      }));
    }
    const cells = tr.cells;
    setCell(cells[0], String(i), {}, {});
    setCell(cells[1], fmt(row[0]), {}, {});
    setCell(cells[2], fmt(row[1]), {}, {});
    setCell(cells[3], String(labels[i]), {}, {});
    cells[3].style.color = classColour(labels[i]);
    for (let c = 0; c < C; c += 1) {
      setCell(cells[4 + c], fmt(W[c].reduce((sum, w, d) => sum + w * row[d], 0)), { c }, {});
    }
    for (let c = 0; c < C; c += 1) {
      const margin = loss.margins?.[i]?.[c];
      // an active term carries gradient: for the SVM a violated margin, max(0, ·) > 0
      setCell(cells[4 + C + c], c === labels[i] ? "—" : fmt(margin), { c, value: margin ?? "" }, {
        margin: true,
        active: c !== labels[i] && Boolean(loss.active?.[i]?.[c]),
      });
    }
    setCell(cells[4 + 2 * C], fmt(loss.per_example[i]), { value: loss.per_example[i] }, { li: true });
    stale.delete(i);
  }

  // The rows in view, measured where layout is clean (a scroll event, a ResizeObserver
  // callback) and kept: measuring during an update would force a layout in the middle of the
  // redraw. Rows are found by their drawn places (a binary search), not by a row height, since
  // rows out of view keep an estimated height (content-visibility) until drawn.
  let seen = null; // [first, last) in view, or null: not measured (every row is written)
  function measure() {
    const rows = body.rows;
    const view = container.getBoundingClientRect();
    if (!rows.length || !view.height) {
      seen = null;
      return;
    }
    const firstBelow = (edge) => { // the first row whose bottom is below `edge`
      let lo = 0;
      let hi = rows.length;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (rows[mid].getBoundingClientRect().bottom <= edge) lo = mid + 1;
        else hi = mid;
      }
      return lo;
    };
    seen = [firstBelow(view.top), Math.min(rows.length, firstBelow(view.bottom) + 1)];
  }
  new ResizeObserver(measure).observe(container);

  /** The rows in or near the scroll box: [first, last). */
  function nearRows(count) {
    if (!seen) return [0, count];
    return [Math.max(0, seen[0] - NEAR_ROWS), Math.min(count, seen[1] + NEAR_ROWS)];
  }

  container.addEventListener("scroll", () => {
    measure();
    if (!latest || !stale.size) return;
    const [first, last] = nearRows(latest.X.length);
    for (let i = first; i < last; i += 1) if (stale.has(i)) fill(i);
  }, { passive: true });

  const throttle = createThrottle();
  /**
   * `data`: `X`, `labels` the data, `W` the weights (scores are W·x), `loss` the /loss answer at
   * W (its per_example, margins and active), `softmax` to name the margins s_j − s_y (they carry
   * no delta there).
   */
  function update(data, { throttleMs = 0 } = {}) {
    // while training plays, the table is written at most every throttleMs (its numbers,
    // changing twenty times a second, cannot be read, and writing them was a third of a
    // step's redraw); the last update always lands
    throttle(() => write(data), throttleMs);
  }

  function write({ X, labels, W, loss, softmax }) {
    const C = W.length;
    const marginLabel = softmax ? "s−s_y " : "m";
    if (shape !== `${C}${marginLabel}`) {
      header(C, marginLabel);
      shape = `${C}${marginLabel}`;
    }
    latest = { X, labels, W, loss };
    while (body.rows.length > X.length) body.deleteRow(-1);
    const made = body.rows.length;
    const [first, last] = nearRows(X.length);
    stale.clear();
    for (let i = 0; i < X.length; i += 1) {
      // a new row is written at once wherever it is, so every row has its height
      if (i >= made || (i >= first && i < last)) fill(i);
      else stale.add(i);
    }
    mark(highlight.get());
  }

  /** Marks the highlighted example's row: a class toggle, no rebuild. */
  function mark(hot) {
    for (const tr of body.querySelectorAll("tr.hot")) if (Number(tr.dataset.i) !== hot) tr.classList.remove("hot");
    if (hot !== null && body.rows[hot]) body.rows[hot].classList.add("hot");
  }
  highlight.subscribe(mark);

  return { update };
}
