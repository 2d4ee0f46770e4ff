// Downloads: a plot as a standalone SVG or a PNG, and the numbers behind it as CSV.

import { saveBlob, svgToPng } from "../common/files.js";

// computed styles copied onto the exported copy, since the page's stylesheet does not travel with it
const STYLE_PROPS = ["fill", "fill-opacity", "stroke", "stroke-width", "stroke-dasharray", "stroke-opacity",
  "opacity", "font-size", "font-family", "font-weight", "text-anchor", "visibility", "image-rendering"];

/** A standalone SVG document for a plot, with its look inlined as presentation attributes. */
export function svgText(svg) {
  const copy = svg.cloneNode(true);
  const originals = [svg, ...svg.querySelectorAll("*")];
  const copies = [copy, ...copy.querySelectorAll("*")];
  originals.forEach((el, k) => {
    const computed = getComputedStyle(el);
    for (const prop of STYLE_PROPS) {
      const value = computed.getPropertyValue(prop);
      if (value) copies[k].setAttribute(prop, value);
    }
  });
  copy.removeAttribute("class");
  copy.querySelectorAll(".hover, .hover-overlay").forEach((el) => el.remove());
  copy.setAttribute("xmlns", "http://www.w3.org/2000/svg");
  const [, , w, h] = svg.getAttribute("viewBox").split(" ");
  copy.setAttribute("width", w);
  copy.setAttribute("height", h);
  const background = document.createElementNS("http://www.w3.org/2000/svg", "rect");
  background.setAttribute("width", w);
  background.setAttribute("height", h);
  background.setAttribute("fill", "#ffffff");
  copy.prepend(background);
  return new XMLSerializer().serializeToString(copy);
}

export function downloadSvg(svg, filename) {
  saveBlob(new Blob([svgText(svg)], { type: "image/svg+xml" }), filename);
}

/** Rasterises the standalone SVG at 2x into a PNG. */
export async function downloadPng(svg, filename) {
  const [, , w, h] = svg.getAttribute("viewBox").split(" ").map(Number);
  saveBlob(await svgToPng(svgText(svg), w, h), filename);
}

/** rows: arrays of cells; the first row is the header. */
export function downloadCsv(rows, filename) {
  const text = rows.map((r) => r.map((c) => (typeof c === "string" && /[",\n]/.test(c) ? `"${c.replaceAll('"', '""')}"` : String(c))).join(",")).join("\n");
  saveBlob(new Blob([`${text}\n`], { type: "text/csv" }), filename);
}
