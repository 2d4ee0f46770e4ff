// The numbers line above the plots: each entry keeps its exact value in data-value for links and tests.
/* global d3 */

const format = (v) => (Number.isFinite(v) ? d3.format(".6~g")(v) : "–");

/** entries: [key, label, value, text?]; value null hides the entry. Built with textContent only. */
export function renderReadout(dl, entries) {
  const shown = entries.filter(([, , value]) => value !== null && value !== undefined);
  // the same entries as drawn (each training step): only the texts and values that changed
  const drawn = [...dl.querySelectorAll("dd")];
  if (drawn.length === shown.length && drawn.every((dd, i) => dd.dataset.key === shown[i][0])) {
    shown.forEach(([, label, value, text], i) => {
      const dd = drawn[i];
      const dt = dd.previousElementSibling;
      const shownText = text ?? format(value);
      const data = typeof value === "number" ? String(value) : JSON.stringify(value);
      if (dt.textContent !== label) dt.textContent = label;
      if (dd.textContent !== shownText) dd.textContent = shownText;
      if (dd.dataset.value !== data) dd.dataset.value = data;
    });
    return;
  }
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
