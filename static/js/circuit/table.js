/** The table of backward steps, kept in sync with the animation; clicking a row jumps to its step. */

import { nodeName } from "./caption.js";
import { fmtAny as fmt, fullAny as full } from "./format.js";

function cell(row, content, tag = "td") {
  const c = document.createElement(tag);
  c.textContent = content;
  row.appendChild(c);
  return c;
}

export class StepsTable {
  constructor(tbody, { onJump }) {
    this.tbody = tbody;
    this.onJump = onJump;
    this.rows = [];
    this.current = -1;
  }

  /** One row per (gate, input) pair of each backward step. */
  draw(circuit, timeline) {
    const byId = new Map(circuit.nodes.map((n) => [n.id, n]));
    const rows = [];
    const fragment = document.createDocumentFragment();
    timeline.steps.forEach((step, stepIndex) => {
      if (step.phase !== "backward") return;
      const b = step.backward;
      b.inputs.forEach((input, k) => {
        const row = document.createElement("tr");
        row.dataset.step = String(stepIndex);
        row.tabIndex = 0;
        cell(row, k === 0 ? String(b.index + 1) : "", "th").setAttribute("scope", "row");
        const gate = byId.get(b.node);
        cell(row, k === 0 ? `${b.symbol}${gate.label ? ` ${gate.label}` : ""}` : "").title = nodeName(gate);
        cell(row, fmt(b.upstream)).title = full(b.upstream);
        const name = nodeName(byId.get(input.node));
        cell(row, name.length > 14 ? `${name.slice(0, 13)}…` : name).title = name;
        cell(row, fmt(input.local_grad)).title = full(input.local_grad);
        cell(row, fmt(input.contribution)).title = full(input.contribution);
        cell(row, fmt(input.accumulated)).title = full(input.accumulated);
        const jump = () => this.onJump(stepIndex + 1);
        row.addEventListener("click", jump);
        row.addEventListener("keydown", (ev) => {
          if (ev.key === "Enter") jump();
        });
        row.setAttribute("aria-label", `jump to backward step ${b.index + 1}`);
        rows.push(row);
        fragment.appendChild(row);
      });
    });
    this.tbody.replaceChildren(fragment);
    this.rows = rows;
    this.current = -2;
  }

  /** Marks the rows of the active step; earlier rows are marked done. */
  sync(active) {
    if (active === this.current) return;
    this.current = active;
    for (const row of this.rows) {
      const step = Number(row.dataset.step);
      row.classList.toggle("current", step === active);
      row.classList.toggle("done", step < active);
      if (step === active) row.setAttribute("aria-current", "step");
      else row.removeAttribute("aria-current");
    }
  }
}
