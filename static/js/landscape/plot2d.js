// The 2-D view: a heatmap (low loss blue, high red) with contours, a colour bar, and W at the origin.
/* global d3 */
import { drawAxis } from "../common/axis.js";

const WIDTH = 640;
const HEIGHT = 540;
const MARGIN = { top: 16, right: 110, bottom: 46, left: 64 };
const BAR = { width: 16, gap: 24 };
const LEVELS = 256; // colour levels of the heatmap

/** Low loss blue, high loss red, as in the notes. */
export function lossColour(min, max) {
  return d3.scaleSequential((t) => d3.interpolateRdBu(1 - t)).domain([min, max === min ? min + 1 : max]);
}

/** Index of the grid value nearest to v in an evenly spaced ascending array. */
export function nearestIndex(values, v) {
  const step = (values[values.length - 1] - values[0]) / (values.length - 1);
  return Math.min(values.length - 1, Math.max(0, Math.round((v - values[0]) / step)));
}

/**
 * Builds the SVG once; `update(slice)` redraws. Coordinates shown are relative to the current W
 * (`slice.alphas`/`betas` are already shifted so W is at (0, 0)). `onPick(i, j)` gets a clicked cell.
 */
export function createPlot2d(container, { onPick }) {
  const svg = d3
    .select(container)
    .append("svg")
    .attr("class", "plot plot2d")
    .attr("viewBox", `0 0 ${WIDTH} ${HEIGHT}`)
    .attr("role", "img")
    .attr("aria-label", "Loss over a 2-D slice: click, or use the arrow keys, to move W");
  const size = Math.min(WIDTH - MARGIN.left - MARGIN.right, HEIGHT - MARGIN.top - MARGIN.bottom);
  const x = d3.scaleLinear().range([MARGIN.left, MARGIN.left + size]);
  const y = d3.scaleLinear().range([MARGIN.top + size, MARGIN.top]);
  const defs = svg.append("defs");
  const clipId = `clip-${Math.random().toString(36).slice(2)}`;
  defs.append("clipPath").attr("id", clipId).append("rect")
    .attr("x", MARGIN.left).attr("y", MARGIN.top).attr("width", size).attr("height", size);
  const gradId = `bar-${clipId}`;
  const gradient = defs.append("linearGradient").attr("id", gradId).attr("x1", 0).attr("x2", 0).attr("y1", 1).attr("y2", 0);
  const plotArea = svg.append("g").attr("clip-path", `url(#${clipId})`);
  const image = plotArea.append("image").attr("class", "heatmap").attr("preserveAspectRatio", "none");
  const gContours = plotArea.append("g").attr("class", "contours");
  const minMark = plotArea.append("path").attr("class", "minimum-mark").attr("d", d3.symbol(d3.symbolCross, 90)());
  const origin = plotArea.append("circle").attr("class", "origin-mark").attr("r", 6);
  const gPath = plotArea.append("g").attr("class", "descent-path");
  const gx = svg.append("g").attr("class", "axis axis-x").attr("transform", `translate(0,${MARGIN.top + size})`);
  const gy = svg.append("g").attr("class", "axis axis-y").attr("transform", `translate(${MARGIN.left},0)`);
  const labelA = svg.append("text").attr("class", "axis-label axis-label-a").attr("x", MARGIN.left + size / 2).attr("y", MARGIN.top + size + 38);
  const labelB = svg.append("text").attr("class", "axis-label axis-label-b").attr("transform", `translate(18,${MARGIN.top + size / 2}) rotate(-90)`);
  const barX = MARGIN.left + size + BAR.gap;
  svg.append("rect").attr("class", "colour-bar").attr("x", barX).attr("y", MARGIN.top)
    .attr("width", BAR.width).attr("height", size).attr("fill", `url(#${gradId})`);
  const gBar = svg.append("g").attr("class", "axis axis-bar").attr("transform", `translate(${barX + BAR.width},0)`);
  svg.append("text").attr("class", "axis-label").attr("x", barX).attr("y", MARGIN.top + size + 38).text("loss");
  const canvas = document.createElement("canvas");
  let current = null;

  // keyboard: arrow keys move W one grid cell within the plane
  const STEPS = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, 1], ArrowDown: [0, -1] };
  svg.attr("tabindex", 0).on("keydown", (event) => {
    const move = STEPS[event.key];
    if (!current || !move) return;
    event.preventDefault();
    const i = nearestIndex(current.alphas, 0) + move[0];
    const j = nearestIndex(current.betas, 0) + move[1];
    if (i >= 0 && i < current.alphas.length && j >= 0 && j < current.betas.length) onPick(i, j);
  });
  svg.on("click", (event) => {
    if (!current) return;
    const [px, py] = d3.pointer(event, svg.node());
    if (px < x.range()[0] || px > x.range()[1] || py < y.range()[1] || py > y.range()[0]) return;
    onPick(nearestIndex(current.alphas, x.invert(px)), nearestIndex(current.betas, y.invert(py)));
  });

  /** `pathPlane`: the plane is the descent path's own (its principal directions), not random. */
  function update(slice, { pathPlane = false } = {}) {
    const { alphas, betas, losses } = slice;
    labelA.text(pathPlane ? "a (the path's first principal direction)" : "a (along direction 1)");
    labelB.text(pathPlane ? "b (the path's second principal direction)" : "b (along direction 2)");
    const n = alphas.length;
    const m = betas.length;
    const flat = losses.flat();
    const [lo, hi] = d3.extent(flat);
    const colour = lossColour(lo, hi);
    const da = (alphas[n - 1] - alphas[0]) / (n - 1);
    const db = (betas[m - 1] - betas[0]) / (m - 1);
    x.domain([alphas[0] - da / 2, alphas[n - 1] + da / 2]);
    y.domain([betas[0] - db / 2, betas[m - 1] + db / 2]);
    current = { alphas, betas, losses };
    // one canvas pixel per grid cell; row j (beta j) is drawn bottom-up. Colours come from a
    // 256-entry table, since parsing a colour string per cell costs more than the rest of the draw.
    const table = d3.range(LEVELS).map((k) => d3.rgb(colour(lo + (k / (LEVELS - 1)) * (hi - lo))));
    const toLevel = hi > lo ? (LEVELS - 1) / (hi - lo) : 0;
    canvas.width = n;
    canvas.height = m;
    const ctx = canvas.getContext("2d");
    const img = ctx.createImageData(n, m);
    for (let j = 0; j < m; j += 1) {
      const row = losses[j];
      for (let i = 0; i < n; i += 1) {
        const c = table[Math.round((row[i] - lo) * toLevel)];
        const k = 4 * ((m - 1 - j) * n + i);
        img.data[k] = c.r;
        img.data[k + 1] = c.g;
        img.data[k + 2] = c.b;
        img.data[k + 3] = 255;
      }
    }
    ctx.putImageData(img, 0, 0);
    image.attr("href", canvas.toDataURL("image/png"))
      .attr("x", x.range()[0]).attr("y", y.range()[1]).attr("width", size).attr("height", size);
    // contours: d3 treats value k as the cell [k, k+1], so a grid coordinate g sits at alpha0 + (g - 0.5) da
    const thresholds = d3.ticks(lo, hi, 12).filter((t) => t > lo && t < hi);
    const project = d3.geoTransform({
      point(gxv, gyv) {
        this.stream.point(x(alphas[0] + (gxv - 0.5) * da), y(betas[0] + (gyv - 0.5) * db));
      },
    });
    const geo = d3.geoPath(project);
    const contours = d3.contours().size([n, m]).thresholds(thresholds)(flat);
    gContours.selectAll("path").data(contours).join("path")
      .attr("class", "contour").attr("data-level", (d) => d.value).attr("d", geo);
    drawAxis(gx, d3.axisBottom(x).ticks(6));
    drawAxis(gy, d3.axisLeft(y).ticks(6));
    gradient.selectAll("stop").data(d3.range(11)).join("stop")
      .attr("offset", (d) => d / 10).attr("stop-color", (d) => colour(lo + (d / 10) * (hi - lo)));
    drawAxis(gBar, d3.axisRight(d3.scaleLinear().domain([lo, hi]).range([MARGIN.top + size, MARGIN.top])).ticks(6));
    origin.attr("cx", x(0)).attr("cy", y(0));
    const mn = slice.minimum;
    minMark.attr("visibility", mn ? "visible" : "hidden")
      .attr("transform", mn ? `translate(${x(mn.alpha)},${y(mn.beta)}) rotate(45)` : null);
    container.dataset.rendered = String(Date.now());
  }

  return { svg: svg.node(), update, pathLayer: gPath, scales: () => ({ x, y }) };
}
