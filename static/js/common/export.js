/** The one exporter of both pages: a diagram as a standalone SVG or a PNG, and any text (JSON, CSV) as a download. */

const SVG_NS = "http://www.w3.org/2000/svg";

/** Offers `blob` as a download named `filename`. */
export function saveBlob(blob, filename) {
  const url = URL.createObjectURL(blob);
  const a = document.createElement("a");
  a.href = url;
  a.download = filename;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

/** Draws SVG source of size width×height onto a white canvas at `scale`; resolves to a PNG Blob. */
export function svgToPng(source, width, height, scale = 2) {
  return new Promise((resolve, reject) => {
    const url = URL.createObjectURL(new Blob([source], { type: "image/svg+xml" }));
    const image = new Image();
    image.onload = () => {
      const canvas = document.createElement("canvas");
      canvas.width = Math.ceil(width * scale);
      canvas.height = Math.ceil(height * scale);
      const ctx = canvas.getContext("2d");
      ctx.fillStyle = "#ffffff";
      ctx.fillRect(0, 0, canvas.width, canvas.height);
      ctx.drawImage(image, 0, 0, canvas.width, canvas.height);
      URL.revokeObjectURL(url);
      canvas.toBlob((blob) => (blob ? resolve(blob) : reject(new Error("PNG export failed"))), "image/png");
    };
    image.onerror = () => {
      URL.revokeObjectURL(url);
      reject(new Error("PNG export failed"));
    };
    image.src = url;
  });
}

/**
 * A standalone SVG document for an on-page <svg>, which the page's stylesheet does not travel with.
 * Options: width and height (default: the viewBox's), `css` (a <style> carried inside), `inline`
 * (computed style properties copied onto each element as attributes), `background` (a colour
 * drawn under everything), and `prepare(copy)` (the page's own changes to the copy).
 */
export function standaloneSvg(svg, { width, height, css = "", inline = [], background = null, prepare = () => {} } = {}) {
  const box = (svg.getAttribute("viewBox") || "").split(/[\s,]+/).map(Number);
  const w = Math.ceil(width ?? box[2]);
  const h = Math.ceil(height ?? box[3]);
  const copy = svg.cloneNode(true);
  if (inline.length) {
    const originals = [svg, ...svg.querySelectorAll("*")];
    const copies = [copy, ...copy.querySelectorAll("*")];
    originals.forEach((el, k) => {
      const computed = getComputedStyle(el);
      for (const prop of inline) {
        const value = computed.getPropertyValue(prop);
        if (value) copies[k].setAttribute(prop, value);
      }
    });
  }
  prepare(copy);
  copy.removeAttribute("class");
  copy.setAttribute("xmlns", SVG_NS);
  copy.setAttribute("viewBox", `0 0 ${w} ${h}`);
  copy.setAttribute("width", String(w));
  copy.setAttribute("height", String(h));
  if (background) {
    const rect = document.createElementNS(SVG_NS, "rect");
    rect.setAttribute("width", String(w));
    rect.setAttribute("height", String(h));
    rect.setAttribute("fill", background);
    copy.prepend(rect);
  }
  if (css) {
    const style = document.createElementNS(SVG_NS, "style");
    style.textContent = css;
    copy.prepend(style);
  }
  return { source: new XMLSerializer().serializeToString(copy), width: w, height: h };
}

/** Downloads the diagram as `filename`: SVG or, when the name ends in .png, rasterised at 2x. */
export async function downloadDiagram(svg, filename, options = {}) {
  const { source, width, height } = standaloneSvg(svg, options);
  if (filename.endsWith(".png")) saveBlob(await svgToPng(source, width, height), filename);
  else saveBlob(new Blob([source], { type: "image/svg+xml" }), filename);
}

/** Downloads `text` (JSON, CSV…) of MIME type `type` as `filename`. */
export function downloadText(text, type, filename) {
  saveBlob(new Blob([text], { type }), filename);
}

/** rows: arrays of cells, the first row the header -> CSV text, quoting cells that need it. */
export function csvText(rows) {
  const cell = (c) => (typeof c === "string" && /[",\n]/.test(c) ? `"${c.replaceAll('"', '""')}"` : String(c));
  return `${rows.map((r) => r.map(cell).join(",")).join("\n")}\n`;
}
