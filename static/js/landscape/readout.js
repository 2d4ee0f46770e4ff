// The numbers line above the plots: each entry keeps its exact value in data-value for links and tests.
/* global d3 */

const format = (v) => (Number.isFinite(v) ? d3.format(".6~g")(v) : "–");

/** entries: [key, label, value, text?]; value null hides the entry. Built with textContent only. */
export function renderReadout(dl, entries) {
  const shown = entries.filter(([, , value]) => value !== null && value !== undefined);
  dl.replaceChildren(...shown.map(([key, label, value, text]) => {
    const div = document.createElement("div");
    const dt = document.createElement("dt");
    const dd = document.createElement("dd");
    dt.textContent = label;
    dd.textContent = text ?? format(value);
    dd.dataset.key = key;
    dd.dataset.value = typeof value === "number" ? String(value) : JSON.stringify(value);
    div.append(dt, dd);
    return div;
  }));
}

export function interval(left, right) {
  return `[${format(left)}, ${format(right)}]`;
}

export { format };
