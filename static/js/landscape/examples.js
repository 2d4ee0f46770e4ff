/** The per-example table beside the data view: features, class, scores, margins (active hinge terms marked) and L_i, from the /loss answer. */
import { classColour } from "./dataview.js";

const fmt = (v) => (Number.isFinite(v) ? Number(v.toPrecision(4)).toString() : String(v));

/** Builds the table in `container`; update() redraws its rows, hover calls onHover(i | null). */
export function createExamplesTable(container, { onHover }) {
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

  /**
   * `X`, `labels` the data, `W` the weights (scores are W·x), `loss` the /loss answer at W (its
   * per_example, margins and active), `hot` the highlighted example, `softmax` to name the
   * margins s_j − s_y (they carry no delta there).
   */
  function update({ X, labels, W, loss, hot, softmax }) {
    const C = W.length;
    const marginLabel = softmax ? "s−s_y " : "m";
    if (shape !== `${C}${marginLabel}`) {
      header(C, marginLabel);
      shape = `${C}${marginLabel}`;
    }
    const rows = X.map((row, i) => {
      const tr = document.createElement("tr");
      tr.dataset.i = String(i);
      if (i === hot) tr.classList.add("hot");
      const add = (text, attrs = {}) => {
        const td = tr.insertCell();
        td.textContent = text;
        for (const [key, value] of Object.entries(attrs)) td.dataset[key] = String(value);
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
      tr.addEventListener("mouseenter", () => onHover(i));
      tr.addEventListener("mouseleave", () => onHover(null));
      return tr;
    });
    body.replaceChildren(...rows);
  }

  /** Marks the hovered example's row without rebuilding the table. */
  function highlight(hot) {
    for (const tr of body.rows) tr.classList.toggle("hot", Number(tr.dataset.i) === hot);
  }

  return { update, highlight };
}
