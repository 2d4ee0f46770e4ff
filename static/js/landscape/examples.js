/** The per-example table beside the data view: features, class, scores, margins (active hinge terms marked) and L_i, from the /loss answer. */
import { classColour } from "./dataview.js";

const fmt = (v) => (Number.isFinite(v) ? Number(v.toPrecision(4)).toString() : String(v));

/**
 * Builds the table in `container`; update() refills its rows. `highlight` is the shared hovered-
 * example channel (highlight.js): hovering or focusing a row sets it, and the row it names is marked.
 */
export function createExamplesTable(container, { highlight }) {
  const table = document.createElement("table");
  table.className = "ls-examples";
  const head = table.createTHead().insertRow();
  const body = table.createTBody();
  container.replaceChildren(table);
  let shape = "";

  function header(C, marginLabel) {
    const cells = ["i", "x0", "x1", "y", ...Array.from({ length: C }, (_, c) => `s${c}`), ...Array.from({ length: C }, (_, c) => `${marginLabel}${c}`), "L_i"];
    head.replaceChildren(...cells.map((text) => {
      const th = document.createElement("th");
      th.textContent = text;
      return th;
    }));
  }

  /** Row i, made once and kept: a redraw (a training step) refills its cells, so focus stays on it. */
  function rowFor(i) {
    if (body.rows[i]) return body.rows[i];
    const tr = body.insertRow();
    tr.dataset.i = String(i);
    tr.tabIndex = 0; // keyboard users reach each example, and focus highlights it as hover does
    tr.setAttribute("aria-label", `example ${i}`);
    tr.addEventListener("mouseenter", () => highlight.set(i));
    tr.addEventListener("mouseleave", () => highlight.set(null));
    tr.addEventListener("focus", () => highlight.set(i));
    tr.addEventListener("blur", () => highlight.set(null));
    return tr;
  }

  /**
   * `X`, `labels` the data, `W` the weights (scores are W·x), `loss` the /loss answer at W (its
   * per_example, margins and active), `softmax` to name the margins s_j − s_y (they carry no
   * delta there).
   */
  function update({ X, labels, W, loss, softmax }) {
    const C = W.length;
    const marginLabel = softmax ? "s−s_y " : "m";
    if (shape !== `${C}${marginLabel}`) {
      header(C, marginLabel);
      shape = `${C}${marginLabel}`;
    }
    while (body.rows.length > X.length) body.deleteRow(-1);
    X.forEach((row, i) => {
      const tr = rowFor(i);
      const cells = [];
      const add = (text, attrs = {}) => {
        const td = document.createElement("td");
        td.textContent = text;
        for (const [key, value] of Object.entries(attrs)) td.dataset[key] = String(value);
        cells.push(td);
        return td;
      };
      add(String(i));
      add(fmt(row[0]));
      add(fmt(row[1]));
      add(String(labels[i])).style.color = classColour(labels[i]);
      for (let c = 0; c < C; c += 1) {
        add(fmt(W[c].reduce((sum, w, d) => sum + w * row[d], 0)), { c });
      }
      for (let c = 0; c < C; c += 1) {
        const margin = loss.margins?.[i]?.[c];
        const cell = add(c === labels[i] ? "—" : fmt(margin), { c, value: margin ?? "" });
        cell.classList.add("margin");
        // an active term carries gradient: for the SVM a violated margin, max(0, ·) > 0
        if (c !== labels[i] && loss.active?.[i]?.[c]) cell.classList.add("active");
      }
      add(fmt(loss.per_example[i]), { value: loss.per_example[i] }).classList.add("li");
      tr.replaceChildren(...cells);
    });
    mark(highlight.get());
  }

  /** Marks the highlighted example's row: a class toggle, no rebuild. */
  function mark(hot) {
    for (const tr of body.rows) tr.classList.toggle("hot", Number(tr.dataset.i) === hot);
  }
  highlight.subscribe(mark);

  return { update };
}
