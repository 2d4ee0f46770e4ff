/** Tensor wires: the value and the gradient as small heatmaps with their numbers, in a dialog. */

import { nodeName } from "./caption.js";
import { fmt, toNumber } from "./format.js";
import { OUTPUT_WIRE } from "./layout.js";
import { edgeById, nodeById } from "./model.js";

/** A nested list of rank 0-3 as rows of numbers (rank 3 is shown as stacked matrices). */
export function asRows(value) {
  if (!Array.isArray(value)) return [[toNumber(value)]];
  if (!Array.isArray(value[0])) return [value.map(toNumber)];
  if (!Array.isArray(value[0][0])) return value.map((row) => row.map(toNumber));
  return value.flatMap((matrix) => matrix.map((row) => row.map(toNumber)));
}

function heatmap(title, rows) {
  const figure = document.createElement("figure");
  const caption = document.createElement("figcaption");
  caption.textContent = title;
  figure.appendChild(caption);
  const table = document.createElement("table");
  table.className = "heatmap";
  const flat = rows.flat().filter(Number.isFinite);
  const extent = Math.max(1e-12, ...flat.map(Math.abs));
  for (const row of rows) {
    const tr = document.createElement("tr");
    for (const v of row) {
      const td = document.createElement("td");
      td.textContent = fmt(v);
      // eleven shade classes by sign and magnitude: CSS carries the colour, the number the meaning
      const level = Number.isFinite(v) ? Math.round((Math.abs(v) / extent) * 5) : 0;
      td.className = `${v < 0 ? "neg" : "pos"}${level}`;
      tr.appendChild(td);
    }
    table.appendChild(tr);
  }
  figure.appendChild(table);
  return figure;
}

export function showHeatmaps(dialog, circuit, edgeId) {
  if (!circuit) return;
  const edge =
    edgeId === OUTPUT_WIRE
      ? {
          value: circuit.output.value,
          grad: nodeById(circuit, circuit.output.node)?.grad,
          shape: circuit.output.shape,
        }
      : edgeById(circuit, edgeId);
  if (!edge) return;
  // the wire is named by what carries it (W1, s = W @ x, the output), then its shape
  const source = edgeId === OUTPUT_WIRE ? nodeById(circuit, circuit.output.node) : nodeById(circuit, edge.source);
  const where = edgeId === OUTPUT_WIRE ? `the output, ${nodeName(source)}` : nodeName(source);
  dialog.querySelector("#heatmap-title").textContent = `Tensor wire ${where}: [${(edge.shape || []).join("×")}]`;
  dialog.querySelector(".heatmaps").replaceChildren(heatmap("value", asRows(edge.value)), heatmap("gradient", asRows(edge.grad)));
  dialog.showModal();
}
