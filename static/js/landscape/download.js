// Downloads: a plot as a standalone SVG or a PNG, and the numbers behind it as CSV.

// computed styles copied onto the exported copy, since the page's stylesheet does not travel with it
const STYLE_PROPS = ["fill", "fill-opacity", "stroke", "stroke-width", "stroke-dasharray", "stroke-opacity",
  "opacity", "font-size", "font-family", "font-weight", "text-anchor", "visibility", "image-rendering"];

function save(blob, filename) {
  const url = URL.createObjectURL(blob);
  const a = document.createElement("a");
  a.href = url;
  a.download = filename;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

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
  save(new Blob([svgText(svg)], { type: "image/svg+xml" }), filename);
}

/** Rasterises the standalone SVG at 2x into a PNG. */
export function downloadPng(svg, filename) {
  const text = svgText(svg);
  const [, , w, h] = svg.getAttribute("viewBox").split(" ").map(Number);
  const image = new Image();
  const url = URL.createObjectURL(new Blob([text], { type: "image/svg+xml" }));
  image.onload = () => {
    const canvas = document.createElement("canvas");
    canvas.width = 2 * w;
    canvas.height = 2 * h;
    const ctx = canvas.getContext("2d");
    ctx.scale(2, 2);
    ctx.drawImage(image, 0, 0, w, h);
    URL.revokeObjectURL(url);
    canvas.toBlob((blob) => save(blob, filename), "image/png");
  };
  image.src = url;
}

/** rows: arrays of cells; the first row is the header. */
export function downloadCsv(rows, filename) {
  const text = rows.map((r) => r.map((c) => (typeof c === "string" && /[",\n]/.test(c) ? `"${c.replaceAll('"', '""')}"` : String(c))).join(",")).join("\n");
  save(new Blob([`${text}\n`], { type: "text/csv" }), filename);
}
