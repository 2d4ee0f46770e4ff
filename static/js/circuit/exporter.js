/** Sharing and export: copy link, and downloads of the diagram (SVG, PNG) and the API response (JSON). */

import { saveBlob, svgToPng } from "../common/files.js";

// The downloaded SVG is a standalone file, so it carries its own styles (the page's CSS is not there).
const EXPORT_STYLE = `
.wire { fill: none; stroke: #5b6475; stroke-width: 1.5; }
.fork-dot { fill: #1d2330; }
.node .shape { fill: #fff; stroke: #1d2330; stroke-width: 1.5; }
.node.kind-input .shape { fill: #eef3ff; }
.node.kind-const .shape { fill: #f4f4f4; stroke-dasharray: 3 2; }
text { font: 12px system-ui, sans-serif; text-anchor: middle; }
.symbol { font-size: 13px; font-weight: 600; dominant-baseline: middle; }
.value { fill: #1a7f37; }
.grad { fill: #c62828; }
.stage { fill: #5b6475; font-style: italic; font-size: 11px; }
.hidden, .pulses { display: none; }
`;

/** A standalone copy of the whole diagram (not just the zoomed part), with every label shown. */
export function standaloneSvg(svg, layout) {
  const copy = svg.cloneNode(true);
  copy.setAttribute("xmlns", "http://www.w3.org/2000/svg");
  copy.setAttribute("viewBox", `0 0 ${Math.ceil(layout.width)} ${Math.ceil(layout.height)}`);
  copy.setAttribute("width", String(Math.ceil(layout.width)));
  copy.setAttribute("height", String(Math.ceil(layout.height)));
  copy.removeAttribute("class");
  copy.querySelector(".viewport")?.removeAttribute("transform");
  for (const hidden of copy.querySelectorAll(".hidden")) hidden.classList.remove("hidden");
  const style = document.createElementNS("http://www.w3.org/2000/svg", "style");
  style.textContent = EXPORT_STYLE;
  copy.insertBefore(style, copy.firstChild);
  return new XMLSerializer().serializeToString(copy);
}

export function downloadSvg(svg, layout) {
  saveBlob(new Blob([standaloneSvg(svg, layout)], { type: "image/svg+xml" }), "circuit.svg");
}

export async function downloadPng(svg, layout) {
  saveBlob(await svgToPng(standaloneSvg(svg, layout), layout.width, layout.height), "circuit.png");
}

export function downloadJson(response) {
  saveBlob(new Blob([JSON.stringify(response, null, 2)], { type: "application/json" }), "circuit.json");
}

export async function copyLink(url) {
  if (navigator.clipboard && window.isSecureContext) {
    await navigator.clipboard.writeText(url);
    return true;
  }
  return false;
}
