// The 1-D view: loss along W + a*D with every kink, the subgradient at W, per-example and per-term lines.
/* global d3 */
import { drawAxis } from "../common/axis.js";

const WIDTH = 820;
const HEIGHT = 440; // the plot; the legend goes below it, outside the data
const MARGIN = { top: 16, right: 24, bottom: 46, left: 64 };
const DOTTED_KINKS = 300; // more kinks than this are drawn as ticks on the axis
const SNAP_PX = 6; // hovering or clicking this close to a kink means that kink
const LINE_NEAR_PX = 10; // hovering this close (in height) to an example's line highlights that example everywhere
const LEGEND = { columns: 3, row: 18, top: 12, maxRows: 9 };

/**
 * Line colours: none is the rays' red (--grad), the kinks' orange (--active) or the minimum's
 * green (--value), so a line is never mistaken for a mark. An example's terms share its colour
 * and are dashed, each class with its own dash.
 */
export const LINE_COLOURS = ["#4e79a7", "#8e6bbf", "#2a9d8f", "#9c755f", "#1f3a93", "#7f7f7f", "#b07aa1", "#17becf", "#6b6b2a"];
const TERM_DASHES = ["6 3", "2 3", "9 3 2 3", "4 4 1 4"];

/** Linear interpolation of the sampled curve at `alpha` (exact between kinks when reg = 0). */
export function sampleAt(alphas, values, alpha) {
  const i = d3.bisectLeft(alphas, alpha);
  if (i <= 0) return values[0];
  if (i >= alphas.length) return values[values.length - 1];
  const t = (alpha - alphas[i - 1]) / (alphas[i] - alphas[i - 1]);
  return values[i - 1] + t * (values[i] - values[i - 1]);
}

/** The slope of the sampled curve on the segment holding `alpha`. */
export function segmentSlope(alphas, values, alpha) {
  const i = Math.min(Math.max(d3.bisectLeft(alphas, alpha), 1), alphas.length - 1);
  return (values[i] - values[i - 1]) / (alphas[i] - alphas[i - 1]);
}

/** The exact slope of a piecewise-linear slice at a point that is not a kink: the right slope of
 * the last kink before it, else the left slope of the first kink, else the constant slope. */
export function slopeBetweenKinks(kinks, subgradient, alpha) {
  const i = d3.bisector((k) => k.alpha).right(kinks, alpha);
  if (i > 0) return kinks[i - 1].slope_right;
  return kinks.length ? kinks[0].slope_left : subgradient.right;
}

/** The kink within `px` pixels of pixel `at` (the nearest), or null. */
export function kinkNear(kinks, toPixel, at, px = SNAP_PX) {
  let best = null;
  for (const k of kinks) {
    const d = Math.abs(toPixel(k.alpha) - at);
    if (d <= px && (!best || d < best.d)) best = { kink: k, d };
  }
  return best ? best.kink : null;
}

/** The plotted lines, each with the name the legend and the hover give it. */
export function namedLines(losses, examples, terms) {
  return [
    { key: "total", name: "total loss", values: losses },
    ...examples.map((e) => ({ key: `L_${e.i}`, name: `L_${e.i}`, values: e.values, i: e.i })),
    ...terms.map((t) => ({ key: `term_${t.i}_${t.j}`, name: `L_${t.i}, term j=${t.j}`, values: t.values, i: t.i, j: t.j })),
  ];
}

function fmt(v) {
  return Number.isFinite(v) ? d3.format(".4~g")(v) : String(v);
}

/**
 * Builds the SVG once; `update(slice, lossAtW, options)` redraws it from an API answer.
 * `onPick(alpha)` gets a click's a (a kink's own a when the click is within SNAP_PX of it).
 * `highlight`, the shared hovered-example channel (highlight.js): its example's L_i and term lines
 * stand out and the rest fade; hovering nearest an example's line sets it.
 */
export function createPlot1d(container, { onPick, highlight = null } = {}) {
  const svg = d3
    .select(container)
    .append("svg")
    .attr("class", "plot plot1d")
    .attr("viewBox", `0 0 ${WIDTH} ${HEIGHT}`)
    .attr("role", "img")
    .attr("aria-label", "Loss along a 1-D slice: click to move W there (onto a kink when close to one)");
  const x = d3.scaleLinear().range([MARGIN.left, WIDTH - MARGIN.right]);
  const y = d3.scaleLinear().range([HEIGHT - MARGIN.bottom, MARGIN.top]);
  const gx = svg.append("g").attr("class", "axis axis-x").attr("transform", `translate(0,${HEIGHT - MARGIN.bottom})`);
  const gy = svg.append("g").attr("class", "axis axis-y").attr("transform", `translate(${MARGIN.left},0)`);
  const xLabel = svg.append("text").attr("class", "axis-label axis-label-x").attr("x", (WIDTH + MARGIN.left) / 2).attr("y", HEIGHT - 8);
  svg.append("text").attr("class", "axis-label").attr("transform", `translate(16,${HEIGHT / 2}) rotate(-90)`).text("loss");
  const gTerms = svg.append("g").attr("class", "terms");
  const gExamples = svg.append("g").attr("class", "examples");
  const total = svg.append("path").attr("class", "total-loss");
  const gFan = svg.append("g").attr("class", "subgradient-fan");
  const gSub = svg.append("g").attr("class", "subgradient");
  const minMark = svg.append("circle").attr("class", "minimum-mark").attr("r", 7); // its ring shows around a kink on it
  const origin = svg.append("circle").attr("class", "origin-mark").attr("r", 5);
  // kinks last among the marks, so a kink under W or the minimum still shows
  const gKinks = svg.append("g").attr("class", "kinks");
  const gSlopeText = svg.append("g").attr("class", "slope-labels");
  const legend = svg.append("g").attr("class", "legend").attr("transform", `translate(${MARGIN.left},${HEIGHT + LEGEND.top})`);
  const hover = svg.append("g").attr("class", "hover").attr("visibility", "hidden");
  const rule = hover.append("line").attr("class", "hover-rule");
  const dot = hover.append("circle").attr("class", "hover-dot").attr("r", 4);
  const tipBox = hover.append("rect").attr("class", "tooltip-box");
  const tip = hover.append("text").attr("class", "tooltip");
  const overlay = svg.append("rect").attr("class", "hover-overlay").attr("x", MARGIN.left).attr("y", MARGIN.top)
    .attr("width", WIDTH - MARGIN.left - MARGIN.right).attr("height", HEIGHT - MARGIN.top - MARGIN.bottom);
  const line = d3.line().x((d) => x(d[0])).y((d) => y(d[1]));
  let current = null;

  function lines(alphas, values) {
    return line(alphas.map((a, i) => [a, values[i]]));
  }

  /** The plotted line nearest the pointer's height at `alpha`. */
  function nearestLine(alpha, py) {
    let best = null;
    for (const l of current.named) {
      const v = sampleAt(current.alphas, l.values, alpha);
      const d = Math.abs(y(v) - py);
      if (!best || d < best.d) best = { line: l, value: v, d };
    }
    return best;
  }

  function showHover(event) {
    if (!current) return;
    const [px, py] = d3.pointer(event, svg.node());
    const { alphas, losses, kinks, weight } = current;
    let alpha = x.invert(px);
    const near = kinkNear(kinks, x, px);
    const rows = [];
    if (near) {
      alpha = near.alpha;
      rows.push(`kink at a = ${fmt(alpha)}`, `slope left ${fmt(near.slope_left)}`, `slope right ${fmt(near.slope_right)}`);
    } else {
      const slope = current.exact ? `${fmt(slopeBetweenKinks(kinks, current.subgradient, alpha))}` : `≈ ${fmt(segmentSlope(alphas, losses, alpha))}`;
      rows.push(`a = ${fmt(alpha)}`, `slope ${slope}`);
    }
    if (weight) rows.splice(1, 0, `${weight.name} = ${fmt(weight.value + alpha)}`);
    const value = near && Number.isFinite(near.loss) ? near.loss : sampleAt(alphas, losses, alpha);
    rows.splice(1, 0, `loss ${fmt(value)}`);
    const nearest = nearestLine(alpha, py);
    if (nearest && nearest.line.key !== "total") rows.push(`nearest line: ${nearest.line.name} = ${fmt(nearest.value)}`);
    hover.attr("visibility", "visible");
    rule.attr("x1", x(alpha)).attr("x2", x(alpha)).attr("y1", MARGIN.top).attr("y2", HEIGHT - MARGIN.bottom);
    dot.attr("cx", x(alpha)).attr("cy", y(value));
    const right = x(alpha) > WIDTH / 2;
    tip.attr("x", x(alpha) + (right ? -10 : 10)).attr("y", MARGIN.top + 14)
      .attr("text-anchor", right ? "end" : "start");
    tip.selectAll("tspan").data(rows).join("tspan")
      .attr("x", x(alpha) + (right ? -10 : 10)).attr("dy", (d, i) => (i ? "1.2em" : 0)).text((d) => d);
    const box = tip.node().getBBox();
    tipBox.attr("x", box.x - 4).attr("y", box.y - 3).attr("width", box.width + 8).attr("height", box.height + 6);
    gExamples.selectAll("path").classed("highlight", (d) => nearest?.line.key === `L_${d.i}`);
    gTerms.selectAll("path").classed("highlight", (d) => nearest?.line.key === `term_${d.i}_${d.j}`);
    // the total line names no example; far from every line, none is meant
    highlight?.set(nearest && nearest.d <= LINE_NEAR_PX ? nearest.line.i ?? null : null);
    container.dataset.hover = JSON.stringify({ alpha, loss: value, line: nearest?.line.name ?? null });
  }
  function hideHover() {
    hover.attr("visibility", "hidden");
    svg.selectAll(".highlight").classed("highlight", false);
  }
  overlay.on("pointermove", showHover).on("pointerleave", () => {
    hideHover();
    highlight?.set(null);
  });

  /** Marks example `hot`'s lines (L_i, its terms, their legend rows) and fades the others: classes only. */
  function mark(hot) {
    const mine = (d) => d.i === hot;
    const lit = gExamples.selectAll("path").classed("hot", mine).filter(mine).size()
      + gTerms.selectAll("path").classed("hot", mine).filter(mine).size();
    const prefix = `term_${hot}_`;
    legend.selectAll("g.legend-row").classed("hot", (d) => hot !== null && (d.key === `L_${hot}` || Boolean(d.key?.startsWith(prefix))));
    // fade the rest only when this example has a line to stand out
    svg.classed("has-hot", lit > 0);
  }
  highlight?.subscribe(mark);
  overlay.on("click", (event) => {
    if (!current || !onPick) return;
    const [px] = d3.pointer(event, svg.node());
    const near = kinkNear(current.kinks, x, px);
    onPick(near ? near.alpha : x.invert(px), Boolean(near));
  });

  /** The legend below the plot, in columns; past its rows, a line says how many more there are. */
  function drawLegend(keys) {
    const perColumn = Math.ceil(keys.length / LEGEND.columns);
    const capacity = LEGEND.columns * LEGEND.maxRows;
    const shown = keys.length > capacity ? [...keys.slice(0, capacity - 1), { cls: "legend-more", mark: "none", text: `… and ${keys.length - capacity + 1} more lines (hover to name them)` }] : keys;
    const rowsPerColumn = Math.min(perColumn, LEGEND.maxRows);
    const columnWidth = (WIDTH - MARGIN.left - MARGIN.right) / LEGEND.columns;
    const rows = legend.selectAll("g.legend-row").data(shown).join((enter) => {
      const g = enter.append("g").attr("class", "legend-row");
      g.append("line").attr("x1", 0).attr("x2", 22).attr("y1", 0).attr("y2", 0);
      g.append("circle").attr("cx", 11).attr("r", 4.5);
      g.append("text").attr("x", 30).attr("dy", "0.35em");
      return g;
    });
    // a row is written only when it differs: every training step redraws the legend, and only a
    // number or two in it change
    rows.each(function (d, k) {
      const key = JSON.stringify([k, rowsPerColumn, d]);
      if (this.__drawn === key) return;
      this.__drawn = key;
      const row = d3.select(this);
      row.attr("transform", `translate(${Math.floor(k / rowsPerColumn) * columnWidth},${(k % rowsPerColumn) * LEGEND.row})`)
        .attr("data-key", d.key ?? d.cls);
      row.select("line").attr("class", d.cls).attr("visibility", d.mark === "line" ? "visible" : "hidden")
        .attr("stroke", d.colour ?? null).attr("stroke-dasharray", d.dash ?? null);
      row.select("circle").attr("class", d.cls).attr("visibility", d.mark === "dot" ? "visible" : "hidden");
      row.select("text").text(d.text);
    });
    const height = HEIGHT + LEGEND.top + rowsPerColumn * LEGEND.row;
    const box = `0 0 ${WIDTH} ${height}`;
    if (svg.attr("viewBox") !== box) svg.attr("viewBox", box);
  }

  /**
   * slice: the API's 1-D answer; lossAtW: the loss at a = 0; options: {showExamples,
   * showTerms, hasQuadratic, weight}: `weight` {name, value} when the direction is one weight,
   * whose own value the x-axis then shows.
   */
  function update(slice, lossAtW, { showExamples, showTerms, hasQuadratic, weight = null }) {
    hideHover(); // what it said was about the line before this one
    const { alphas, losses } = slice;
    const kinks = (slice.kinks || []).map((k) => ({ ...k, loss: Number.isFinite(k.loss) ? k.loss : sampleAt(alphas, losses, k.alpha) }));
    const examples = showExamples ? slice.per_example || [] : [];
    const terms = showTerms ? slice.terms || [] : [];
    const named = namedLines(losses, examples, terms);
    // between samples the slope is exact only for SVM with reg = 0 (piecewise linear, no kink between)
    current = { alphas, losses, kinks, named, weight, subgradient: slice.subgradient, exact: slice.exact && !slice.kinks_truncated && !hasQuadratic };
    const hi = d3.max(named, (l) => d3.max(l.values));
    const lo = Math.min(0, d3.min(named, (l) => d3.min(l.values)));
    x.domain(d3.extent(alphas));
    y.domain([lo, hi + 0.05 * (hi - lo || 1)]).nice();
    // one weight: the axis shows that weight's own value, W[c, d] + a (the scale stays in a)
    const shownX = weight ? x.copy().domain(x.domain().map((a) => weight.value + a)) : x;
    drawAxis(gx, d3.axisBottom(shownX));
    drawAxis(gy, d3.axisLeft(y));
    xLabel.text(weight ? `${weight.name}: the weight's value (now ${fmt(weight.value)})` : "a (step along the direction; W at a = 0)");
    total.attr("d", lines(alphas, losses));
    const colour = (i) => LINE_COLOURS[i % LINE_COLOURS.length];
    const dash = (j) => TERM_DASHES[j % TERM_DASHES.length];
    gExamples.selectAll("path").data(examples).join("path")
      .attr("class", "example-line").attr("stroke", (d) => colour(d.i))
      .attr("data-example", (d) => d.i).attr("d", (d) => lines(alphas, d.values))
      .selectAll("title").data((d) => [`L_${d.i}`]).join("title").text((d) => d);
    gTerms.selectAll("path").data(terms).join("path")
      .attr("class", "term-line").attr("stroke", (d) => colour(d.i)).attr("stroke-dasharray", (d) => dash(d.j))
      .attr("data-term", (d) => `${d.i},${d.j}`).attr("d", (d) => lines(alphas, d.values))
      .selectAll("title").data((d) => [`L_${d.i}, term j=${d.j}`]).join("title").text((d) => d);
    // a few kinks sit on the curve as dots; thousands (cifar-shaped) become a rug above the axis
    const dense = kinks.length > DOTTED_KINKS;
    gKinks.selectAll("circle").data(dense ? [] : kinks).join("circle")
      .attr("class", "kink").attr("r", 4).attr("data-alpha", (d) => d.alpha)
      .attr("cx", (d) => x(d.alpha)).attr("cy", (d) => y(d.loss));
    // the ticks are one path: hundreds of kinks (blobs with N = 300 has 362), each its own
    // element, cost most of a training step's redraw of this plot
    const base = HEIGHT - MARGIN.bottom;
    gKinks.selectAll("path").data(dense ? [kinks] : []).join("path")
      .attr("class", "kink-tick").attr("data-count", (d) => d.length)
      .attr("d", (d) => d.map((k) => `M${x(k.alpha).toFixed(2)},${base}v-10`).join(""));
    // the subgradient at W: the two one-sided slopes as rays leaving the current point, and at
    // a kink (the slopes differ) the fan of every slope between them, which a ray on the curve hides
    const sub = slice.subgradient;
    const reach = 0.18 * (x.domain()[1] - x.domain()[0]);
    const rays = sub ? [
      { cls: "slope-left", a: -reach, slope: sub.left, label: "left slope" },
      { cls: "slope-right", a: reach, slope: sub.right, label: "right slope" },
    ] : [];
    gSub.selectAll("line").data(rays).join("line")
      .attr("class", (d) => `slope-ray ${d.cls}`)
      .attr("data-slope", (d) => d.slope) // the exact one-sided slope, for tests and exports
      .attr("x1", x(0)).attr("y1", y(lossAtW))
      .attr("x2", (d) => x(d.a)).attr("y2", (d) => y(lossAtW + d.slope * d.a));
    const opens = sub && sub.right - sub.left > 1e-12 * Math.max(1, Math.abs(sub.left), Math.abs(sub.right));
    const wedge = (a) => [[0, lossAtW], [a, lossAtW + sub.left * a], [a, lossAtW + sub.right * a]];
    gFan.selectAll("path").data(opens ? [-reach, reach] : []).join("path")
      .attr("class", "fan").attr("d", (a) => `${line(wedge(a))}Z`);
    gSlopeText.selectAll("text").data(rays).join("text")
      .attr("class", (d) => `slope-label ${d.cls}`).attr("data-slope", (d) => d.slope)
      .attr("x", (d) => x(d.a) + (d.a < 0 ? -4 : 4)).attr("y", (d) => y(lossAtW + d.slope * d.a) + (d.a < 0 ? -6 : 14))
      .attr("text-anchor", (d) => (d.a < 0 ? "end" : "start"))
      .text((d) => `${d.label} ${fmt(d.slope)}`);
    const inRange = alphas[0] <= 0 && 0 <= alphas[alphas.length - 1];
    origin.attr("visibility", inRange ? "visible" : "hidden").attr("cx", x(0)).attr("cy", y(lossAtW));
    const m = slice.minimum;
    minMark.attr("visibility", m ? "visible" : "hidden").attr("cx", m ? x(m.alpha) : 0).attr("cy", m ? y(m.loss) : 0);
    const at = weight ? `${weight.name} = ${fmt(weight.value)}` : "a = 0";
    drawLegend([
      { cls: "legend-total", mark: "line", text: "total loss (mean of L_i, plus reg)", key: "total" },
      ...examples.map((e) => ({ cls: "legend-example", mark: "line", colour: colour(e.i), text: `L_${e.i}`, key: `L_${e.i}` })),
      ...terms.map((t) => ({ cls: "legend-term", mark: "line", colour: colour(t.i), dash: dash(t.j), text: `L_${t.i}, term j=${t.j}`, key: `term_${t.i}_${t.j}` })),
      { cls: "legend-origin", mark: "dot", text: `W (${at})` },
      m ? { cls: "legend-minimum", mark: "dot", text: `minimum on the line (${fmt(m.loss)})` } : null,
      kinks.length && !dense ? { cls: "legend-kink", mark: "dot", text: `kink (a hinge switches): ${kinks.length}` } : null,
      dense ? { cls: "legend-kink-tick", mark: "line", text: `kinks (${kinks.length}), as ticks on the axis` } : null,
      sub ? { cls: "legend-slope", mark: "line", text: "one-sided slopes at W" } : null,
      opens ? { cls: "legend-fan", mark: "line", text: "subgradient interval (W at a kink)" } : null,
    ].filter(Boolean));
    mark(highlight?.get() ?? null);
  }

  return { svg: svg.node(), update };
}
