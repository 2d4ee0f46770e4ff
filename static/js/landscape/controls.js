/** The landscape settings form: every [data-state] input mirrors one state property (the shared binding); sections show by [data-show]. */
import { bindInputs } from "../common/store.js";
import { createThrottle, setProp } from "../common/writes.js";
import { stepParameter } from "./optimizers.js";

const TYPING_DELAY_MS = 300; // numbers and text settle before a request goes out

/** "key=v1,v2 key2=v3" as a test of a state: true when every key's value is one of its listed values. */
export function parseCondition(text) {
  const conds = text.trim().split(/\s+/).map((cond) => {
    const [key, values] = cond.split("=");
    return [key, values.split(",")];
  });
  return (state) => conds.every(([key, values]) => values.includes(String(state[key])));
}

/** "key=v1,v2 key2=v3": true when every key's state value is one of its listed values. */
export function conditionHolds(text, state) {
  return parseCondition(text)(state);
}

/**
 * Wires the form to the store. `shape()` gives the current W's [C, D] (or null) and `currentW()`
 * its values when known, so the W table can be built and filled.
 */
export function createControls(form, store, { shape, currentW, maxTableCells }) {
  const inputs = [...form.querySelectorAll("[data-state]")];
  const timers = new Map();
  const table = form.querySelector("#ls-wtable");
  const tableNote = form.querySelector("#ls-wtable-note");
  const gridOut = form.querySelector("#ls-grid-out");
  const optimizerRows = form.dataset.catalog ? JSON.parse(form.dataset.catalog).optimizers : [];

  const syncInputs = bindInputs(inputs, store, { delay: TYPING_DELAY_MS });

  form.querySelector("#ls-upload").addEventListener("change", async (event) => {
    const file = event.target.files[0];
    if (!file) return;
    const text = await file.text();
    form.querySelector('[data-state="csv"]').value = text; // even while the text box has focus
    store.set({ csv: text, dataset: "custom" });
  });
  form.addEventListener("submit", (event) => event.preventDefault());

  const throttleTable = createThrottle();
  function fillTable(inputs, W) {
    inputs.forEach((input) => {
      const v = W[Number(input.dataset.c)][Number(input.dataset.d)];
      if (document.activeElement !== input && input.valueAsNumber !== v) input.value = String(v);
    });
  }

  /** The W table: one number input per weight, when C x D is small enough to edit by hand. */
  function renderTable(state, throttleMs) {
    const dims = shape();
    const small = dims && dims[0] * dims[1] <= maxTableCells;
    setProp(form.querySelector("#ls-winit-table"), "disabled", Boolean(dims) && !small);
    show(tableNote, Boolean(dims) && !small);
    text(tableNote, dims ? `W is ${dims[0]}×${dims[1]}: too large to edit by hand (at most ${maxTableCells} weights).` : "");
    if (state.winit !== "table" || !small) {
      table.replaceChildren();
      return;
    }
    const [C, D] = dims;
    // start from where W is now when the table is new, the wrong shape, or W was moved by clicks
    const fits = state.W && state.W.length === C && state.W[0].length === D;
    const fold = !fits || state.ca !== 0 || state.cb !== 0;
    const W = fold ? currentW() : state.W;
    if (!W) return;
    if (fold) store.set({ W, ca: 0, cb: 0 }); // redraws on the next microtask
    const existing = table.querySelectorAll("input");
    if (existing.length === C * D) {
      // while training plays, the numbers are written at most every throttleMs (as the examples
      // table's are); the last W always lands
      throttleTable(() => fillTable(existing, W), throttleMs);
      return;
    }
    const grid = document.createElement("table");
    const head = grid.createTHead().insertRow();
    head.append(document.createElement("th"));
    for (let d = 0; d < D; d += 1) {
      const th = document.createElement("th");
      th.textContent = `d${d}`;
      head.append(th);
    }
    const body = grid.createTBody();
    for (let c = 0; c < C; c += 1) {
      const row = body.insertRow();
      const th = document.createElement("th");
      th.textContent = `c${c}`;
      row.append(th);
      for (let d = 0; d < D; d += 1) {
        const input = document.createElement("input");
        input.type = "number";
        input.step = "0.1";
        input.dataset.c = String(c);
        input.dataset.d = String(d);
        input.setAttribute("aria-label", `W[${c}, ${d}]`);
        input.value = String(W[c][d]);
        input.addEventListener("input", () => {
          clearTimeout(timers.get(table));
          timers.set(table, setTimeout(() => {
            const values = [...table.querySelectorAll("input")].map((i) => i.valueAsNumber);
            if (!values.every(Number.isFinite)) return;
            const next = Array.from({ length: C }, (_, r) => values.slice(r * D, (r + 1) * D));
            store.set({ W: next });
          }, TYPING_DELAY_MS));
        });
        row.insertCell().append(input);
      }
    }
    table.replaceChildren(grid);
  }

  /** Mirrors the state into the form (skipping the field being typed in) and shows sections. */
  // sync runs on every redraw (each played training step): only what changed is written, since
  // each attribute written costs a style recalculation of its element and what depends on it
  const show = (el, on) => {
    if (el.hidden === on) el.hidden = !on;
  };
  const text = (el, value) => {
    if (el.textContent !== value) el.textContent = value;
  };
  // the page's sections and tabs are fixed: looked up, and their conditions read, once
  const sections = [...document.querySelectorAll("[data-show]")].map((el) => [el, parseCondition(el.dataset.show)]);
  const anySections = [...document.querySelectorAll("[data-show-any]")].map((el) => {
    const tests = el.dataset.showAny.split("|").map(parseCondition);
    return [el, (state) => tests.some((holds) => holds(state))];
  });
  const tabs = [...document.querySelectorAll("[data-view]")];
  /** `throttleMs`: while training plays, the W table's numbers are written at most this often. */
  function sync(state, { throttleMs = 0 } = {}) {
    syncInputs(state);
    for (const [el, holds] of [...sections, ...anySections]) show(el, holds(state));
    for (const tab of tabs) {
      const selected = String(tab.dataset.view === state.view);
      if (tab.getAttribute("aria-selected") !== selected) tab.setAttribute("aria-selected", selected);
    }
    text(gridOut, `${state.grid}×${state.grid}`);
    const meaning = stepParameter(state.method);
    text(form.querySelector("#ls-lr-name"), meaning.label);
    setProp(form.querySelector("#ls-lr"), "title", meaning.title);
    // the chosen optimizer's update rule, as its row of the server's table writes it out
    const rule = optimizerRows.find((row) => row.name === state.method);
    text(form.querySelector("#ls-rule"), rule ? `Update: ${rule.description}` : "");
    const dims = shape();
    if (dims) {
      setProp(form.querySelector('[data-state="axc"]'), "max", String(dims[0] - 1));
      setProp(form.querySelector('[data-state="axd"]'), "max", String(dims[1] - 1));
    }
    renderTable(state, throttleMs);
  }

  for (const tab of document.querySelectorAll("[data-view]")) {
    tab.addEventListener("click", () => store.set({ view: tab.dataset.view }, { push: true }));
  }

  return { sync };
}
