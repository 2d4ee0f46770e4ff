/** The data view of two-feature data: points by class, W's decision regions and score-zero lines; click adds, drag moves, shift-click deletes. */
/* global d3 */
import { drawAxis } from "../common/axis.js";

const SIZE = 420;
const MARGIN = { top: 12, right: 12, bottom: 40, left: 48 };
const CELLS = 48; // the regions are a CELLS x CELLS raster: coarse, but each cell's class is exact at its centre
// Class colours (none the ray red or the kink orange); regions use them faded.
export const CLASS_COLOURS = ["#4e79a7", "#59a14f", "#8e6bbf", "#17becf", "#9c755f", "#e377c2", "#7f7f7f", "#bcbd22", "#1f3b73", "#2ca02c"];
export const classColour = (c) => CLASS_COLOURS[c % CLASS_COLOURS.length];
const CLASS_RGB = CLASS_COLOURS.map((hex) => [1, 3, 5].map((k) => parseInt(hex.slice(k, k + 2), 16)));

/**
 * Whether X is two-feature data the view can draw: D = 2, or D = 3 with a last column of ones
 * (the bias trick, from the data set itself or from `bias`). Returns {bias} or null.
 */
export function twoFeatures(X) {
  if (!X?.length) return null;
  const D = X[0].length;
  if (D === 2) return { bias: false };
  if (D === 3 && X.every((row) => row[2] === 1)) return { bias: true };
  return null;
}

/** Class c's score at (x0, x1): W[c]·(x0, x1, 1 when there is a bias column). */
export function score(W, c, x0, x1, bias) {
  return W[c][0] * x0 + W[c][1] * x1 + (bias ? W[c][2] : 0);
}

/** The class with the highest score at (x0, x1); the lowest index wins a tie, as numpy's argmax. */
export function argmaxClass(W, x0, x1, bias) {
  let best = 0;
  for (let c = 1; c < W.length; c += 1) if (score(W, c, x0, x1, bias) > score(W, best, x0, x1, bias)) best = c;
  return best;
}

/**
 * The piece of the line p + t·d inside the box ex × ey (Liang–Barsky): its two ends, or null
 * when the line misses the box.
 */
export function insideView(p, d, ex, ey) {
  let lo = -Infinity;
  let hi = Infinity;
  for (const [start, step, [min, max]] of [[p[0], d[0], ex], [p[1], d[1], ey]]) {
    if (step === 0) {
      if (start < min || start > max) return null;
      continue;
    }
    const [t1, t2] = [(min - start) / step, (max - start) / step].sort((u, v) => u - v);
    lo = Math.max(lo, t1);
    hi = Math.min(hi, t2);
  }
  if (!(lo <= hi)) return null;
  return [[p[0] + lo * d[0], p[1] + lo * d[1]], [p[0] + hi * d[0], p[1] + hi * d[1]]];
}

/** The axes' extent: the points' range with a margin, the same scale on both axes. */
function extent(X) {
  const xs = X.map((row) => row[0]);
  const ys = X.map((row) => row[1]);
  const cx = (d3.min(xs) + d3.max(xs)) / 2;
  const cy = (d3.min(ys) + d3.max(ys)) / 2;
  const half = Math.max(d3.max(xs) - d3.min(xs), d3.max(ys) - d3.min(ys), 1) * 0.65;
  return [[cx - half, cx + half], [cy - half, cy + half]];
}

/**
 * Builds the view in `container`. `onEdit(X, labels)` gets edited data; `highlight` is the shared
 * hovered-example channel (highlight.js): hovering a point sets it, and the point it names is ringed.
 */
export function createDataView(container, { onEdit, highlight }) {
  const inner = SIZE - MARGIN.left - MARGIN.right;
  // Two stacked SVGs with one viewBox: behind, what W moves (the regions and the zero lines),
  // redrawn every training step; in front, on its own compositing layer (landscape.css), the
  // axes and the points, which stay as they are while W moves. In one SVG, every step
  // rasterized the 300 points of blobs again: about half the page's raster work per step.
  const back = d3.select(container).append("svg").attr("class", "dataview-back")
    .attr("viewBox", `0 0 ${SIZE} ${SIZE}`).attr("aria-hidden", "true");
  const svg = d3.select(container).append("svg").attr("class", "plot dataview")
    .attr("viewBox", `0 0 ${SIZE} ${SIZE}`).attr("role", "img").attr("aria-label", "The data, W's decision regions and each class's score-zero line");
  const x = d3.scaleLinear().range([MARGIN.left, MARGIN.left + inner]);
  const y = d3.scaleLinear().range([MARGIN.top + inner, MARGIN.top]);
  back.append("clipPath").attr("id", "dataview-clip").append("rect")
    .attr("x", MARGIN.left).attr("y", MARGIN.top).attr("width", inner).attr("height", inner);
  const regions = back.append("g").attr("class", "regions");
  // The regions are one image of CELLS x CELLS pixels, scaled up without smoothing: as 2,304
  // rects they cost the software rasterizer most of a training step (tens of ms each frame).
  // data-classes holds each cell's class (character code 48 + class: "0", "1", …), row by row
  // from the top, for tests and readers.
  const regionImage = regions.append("image").attr("class", "region-image")
    .attr("x", MARGIN.left).attr("y", MARGIN.top)
    .attr("width", SIZE - MARGIN.left - MARGIN.right).attr("height", SIZE - MARGIN.top - MARGIN.bottom)
    .attr("preserveAspectRatio", "none");
  const regionCanvas = document.createElement("canvas");
  regionCanvas.width = CELLS;
  regionCanvas.height = CELLS;
  let drawnClasses = "";
  const zeroLines = back.append("g").attr("class", "zero-lines").attr("clip-path", "url(#dataview-clip)");
  // the front's click target over the plot area: a click where no point is adds one
  const hit = svg.append("rect").attr("class", "region-hit")
    .attr("x", MARGIN.left).attr("y", MARGIN.top).attr("width", inner).attr("height", inner);
  const gx = svg.append("g").attr("class", "axis axis-x").attr("transform", `translate(0,${MARGIN.top + inner})`);
  const gy = svg.append("g").attr("class", "axis axis-y").attr("transform", `translate(${MARGIN.left},0)`);
  svg.append("text").attr("class", "axis-label").attr("x", MARGIN.left + inner / 2).attr("y", SIZE - 6).text("x0 (feature 0)");
  svg.append("text").attr("class", "axis-label").attr("transform", `translate(12,${MARGIN.top + inner / 2}) rotate(-90)`).text("x1 (feature 1)");
  const points = svg.append("g").attr("class", "points");
  let shown = null; // {X, y, W, bias, addClass}
  let pointsKey = ""; // the points and axes drawn last
  let centres = null; // the regions' cell centres for those axes
  let frozen = null; // the axes while a point is dragged, so the view does not move under it

  function edited(X, labels) {
    onEdit(X.map((row) => row.slice()), labels.slice());
  }

  hit.on("click", (event) => {
    if (!shown) return;
    const [px, py] = d3.pointer(event, svg.node());
    const round = (v) => Number(v.toPrecision(4));
    const row = [round(x.invert(px)), round(y.invert(py))];
    if (shown.bias) row.push(1);
    edited([...shown.X, row], [...shown.y, shown.addClass]);
  });

  const drag = d3.drag()
    .on("start", () => { frozen = [x.domain(), y.domain()]; })
    .on("drag", function (event, d) {
      d3.select(this).attr("cx", event.x).attr("cy", event.y);
      d.moved = [x.invert(event.x), y.invert(event.y)];
    })
    .on("end", (event, d) => {
      frozen = null;
      if (!d.moved) return;
      pointsKey = ""; // the dragged circle sits where the pointer left it: the redraw places it
      const X = shown.X.map((row) => row.slice());
      X[d.i][0] = Number(d.moved[0].toPrecision(4));
      X[d.i][1] = Number(d.moved[1].toPrecision(4));
      edited(X, shown.y);
    });

  /** Draws the data and W (the highlighted example keeps its ring). */
  function update({ X, labels, W, bias, addClass }) {
    shown = { X, y: labels, W, bias, addClass };
    const [ex, ey] = frozen ?? extent(X);
    x.domain(ex);
    y.domain(ey);
    // the same points on the same axes (every training step: only W moves) are left as they are
    const key = JSON.stringify([ex, ey, X, labels]);
    const samePoints = key === pointsKey;
    pointsKey = key;
    if (!samePoints) {
      drawAxis(gx, d3.axisBottom(x).ticks(6));
      drawAxis(gy, d3.axisLeft(y).ticks(6));
    }
    if (!samePoints || !centres) {
      // each cell's centre in the data's coordinates, kept while the axes stay (every training step)
      const step = inner / CELLS;
      const along = (scale, start) => Float64Array.from({ length: CELLS }, (_, i) => scale.invert(start + (i + 0.5) * step));
      centres = { x0: along(x, MARGIN.left), x1: along(y, MARGIN.top) };
    }
    let classes = "";
    for (let j = 0; j < CELLS; j += 1) {
      for (let i = 0; i < CELLS; i += 1) {
        classes += String.fromCharCode(48 + argmaxClass(W, centres.x0[i], centres.x1[j], bias)); // "0", "1", …
      }
    }
    if (classes !== drawnClasses) { // a step that moves no boundary across a cell's centre draws nothing
      drawnClasses = classes;
      const ctx = regionCanvas.getContext("2d");
      const pixels = ctx.createImageData(CELLS, CELLS);
      for (let k = 0; k < classes.length; k += 1) {
        const [r, g, b] = CLASS_RGB[(classes.charCodeAt(k) - 48) % CLASS_RGB.length];
        pixels.data.set([r, g, b, 255], 4 * k);
      }
      ctx.putImageData(pixels, 0, 0);
      regionImage.attr("href", regionCanvas.toDataURL("image/png")).attr("data-classes", classes);
    }
    // class c's score is zero on a line: its piece inside the view (a dashed line drawn far
    // beyond it and clipped cost the rasterizer every one of its dashes, most of a training step)
    const linesData = W.map((row, c) => {
      const [a, b] = row;
      const k = bias ? row[2] : 0;
      if (a === 0 && b === 0) return null;
      const norm = a * a + b * b;
      const p0 = [(-k * a) / norm, (-k * b) / norm]; // the line's point nearest the origin
      const piece = insideView(p0, [b, -a], ex, ey);
      return piece && { c, x1: piece[0][0], y1: piece[0][1], x2: piece[1][0], y2: piece[1][1] };
    }).filter(Boolean);
    zeroLines.selectAll("line").data(linesData).join((enter) => enter.append("line").call((l) => l.append("title")))
      .attr("class", "zero-line").attr("data-class", (d) => d.c).attr("stroke", (d) => classColour(d.c))
      .attr("x1", (d) => x(d.x1)).attr("y1", (d) => y(d.y1)).attr("x2", (d) => x(d.x2)).attr("y2", (d) => y(d.y2))
      .select("title").text((d) => `class ${d.c}'s score is 0 here`);
    if (!samePoints) drawPoints(X, labels);
    mark(highlight.get());
  }

  function drawPoints(X, labels) {
    const data = X.map((row, i) => ({ i, x0: row[0], x1: row[1], c: labels[i] }));
    points.selectAll("circle").data(data).join((enter) => enter.append("circle").call((c) => c.append("title")))
      .attr("class", "point")
      .attr("data-i", (d) => d.i).attr("data-class", (d) => d.c)
      .attr("cx", (d) => x(d.x0)).attr("cy", (d) => y(d.x1))
      .attr("fill", (d) => classColour(d.c))
      .on("mouseenter", (event, d) => highlight.set(d.i)).on("mouseleave", () => highlight.set(null))
      .on("click", (event, d) => {
        event.stopPropagation();
        if (!event.shiftKey) return;
        edited(shown.X.filter((_, i) => i !== d.i), shown.y.filter((_, i) => i !== d.i));
      })
      .call(drag)
      .select("title").text((d) => `example ${d.i}: (${d.x0}, ${d.x1}), class ${d.c}`);
  }

  /** Rings the highlighted example's point: a class and a radius on the points that change. */
  function mark(hot) {
    points.selectAll("circle").each(function (d) {
      const on = d.i === hot;
      if (this.classList.contains("hot") === on && this.hasAttribute("r")) return;
      this.classList.toggle("hot", on);
      this.setAttribute("r", on ? 8 : 6);
    });
  }
  highlight.subscribe(mark);

  return { svg: svg.node(), update };
}

/** CSV text of edited data: the features (without a bias column the API appends itself), then the label. */
export function dataCsv(X, labels, appendedBias) {
  const lines = X.map((row, i) => [...(appendedBias ? row.slice(0, -1) : row), labels[i]].join(","));
  return `${lines.join("\n")}\n`;
}
