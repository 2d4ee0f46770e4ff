/** The circuit page's sharing and export: copy link, the diagram's own look for the shared exporter, the answer as JSON. */

import { downloadDiagram, downloadText } from "../common/export.js";

// The downloaded SVG is a standalone file, so it carries its own styles (the page's CSS is not there).
const EXPORT_STYLE = `
.wire { fill: none; stroke: #5b6475; stroke-width: 1.5; }
.fork-dot { fill: #1d2330; }
.node .shape { fill: #fff; stroke: #1d2330; stroke-width: 1.5; }
.node.kind-input .shape { fill: #eef3ff; }
.node.kind-const .shape { fill: #ececec; stroke: #8a8f9c; stroke-width: 1.2; }
text { font: 12px system-ui, sans-serif; text-anchor: middle; }
.symbol { font-size: 13px; font-weight: 600; dominant-baseline: middle; }
.value { fill: #1a7f37; }
.grad { fill: #c62828; }
.stage { fill: #5b6475; font-style: italic; font-size: 11px; }
.kink-mark { fill: #f5a623; stroke: #1d2330; stroke-width: 1; }
.hidden, .pulses { display: none; }
`;

/** The export options for the whole diagram (not just the zoomed part), with every label shown. */
function exportOptions(layout) {
  return {
    width: layout.width,
    height: layout.height,
    css: EXPORT_STYLE,
    prepare(copy) {
      copy.querySelector(".viewport")?.removeAttribute("transform");
      for (const hidden of copy.querySelectorAll(".hidden")) hidden.classList.remove("hidden");
    },
  };
}

/** Downloads the diagram as circuit.svg or circuit.png (`kind` "svg" or "png"). */
export function downloadCircuit(svg, layout, kind) {
  return downloadDiagram(svg, `circuit.${kind}`, exportOptions(layout));
}

export function downloadJson(response) {
  downloadText(JSON.stringify(response, null, 2), "application/json", "circuit.json");
}

export async function copyLink(url) {
  if (navigator.clipboard && window.isSecureContext) {
    await navigator.clipboard.writeText(url);
    return true;
  }
  return false;
}
