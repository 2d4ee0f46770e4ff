// The 1-D view: loss along W + a*D with every kink, the subgradient at W, per-example and per-term lines.
/* global d3 */

const WIDTH = 820;
const HEIGHT = 440;
const MARGIN = { top: 16, right: 24, bottom: 46, left: 64 };
const DOTTED_KINKS = 300; // more kinks than this are drawn as ticks on the axis
const SNAP_PX = 6; // hovering this close to a kink shows that kink's two slopes

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

function fmt(v) {
  return Number.isFinite(v) ? d3.format(".4~g")(v) : String(v);
}

/** Builds the SVG once; `update(slice, options)` redraws it from an API answer. */
export function createPlot1d(container) {
  const svg = d3
    .select(container)
    .append("svg")
    .attr("class", "plot plot1d")
    .attr("viewBox", `0 0 ${WIDTH} ${HEIGHT}`)
    .attr("role", "img")
    .attr("aria-label", "Loss along a 1-D slice");
  const x = d3.scaleLinear().range([MARGIN.left, WIDTH - MARGIN.right]);
  const y = d3.scaleLinear().range([HEIGHT - MARGIN.bottom, MARGIN.top]);
  const gx = svg.append("g").attr("class", "axis axis-x").attr("transform", `translate(0,${HEIGHT - MARGIN.bottom})`);
  const gy = svg.append("g").attr("class", "axis axis-y").attr("transform", `translate(${MARGIN.left},0)`);
  svg.append("text").attr("class", "axis-label").attr("x", (WIDTH + MARGIN.left) / 2).attr("y", HEIGHT - 8).text("a (step along the direction; W at a = 0)");
  svg.append("text").attr("class", "axis-label").attr("transform", `translate(16,${HEIGHT / 2}) rotate(-90)`).text("loss");
  const gTerms = svg.append("g").attr("class", "terms");
  const gExamples = svg.append("g").attr("class", "examples");
  const total = svg.append("path").attr("class", "total-loss");
  const gSub = svg.append("g").attr("class", "subgradient");
  const gKinks = svg.append("g").attr("class", "kinks");
  const minMark = svg.append("circle").attr("class", "minimum-mark").attr("r", 5);
  const origin = svg.append("circle").attr("class", "origin-mark").attr("r", 5);
  const legend = svg.append("g").attr("class", "legend").attr("transform", `translate(${MARGIN.left + 12},${MARGIN.top + 8})`);
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

  function showHover(event) {
    if (!current) return;
    const [px] = d3.pointer(event, svg.node());
    const { alphas, losses, kinks } = current;
    let alpha = x.invert(px);
    const near = kinks.find((k) => Math.abs(x(k.alpha) - px) <= SNAP_PX);
    const rows = [];
    if (near) {
      alpha = near.alpha;
      rows.push(`kink at a = ${fmt(alpha)}`, `slope left ${fmt(near.slope_left)}`, `slope right ${fmt(near.slope_right)}`);
    } else {
      const slope = current.exact ? `${fmt(slopeBetweenKinks(kinks, current.subgradient, alpha))}` : `≈ ${fmt(segmentSlope(alphas, losses, alpha))}`;
      rows.push(`a = ${fmt(alpha)}`, `slope ${slope}`);
    }
    const value = near && Number.isFinite(near.loss) ? near.loss : sampleAt(alphas, losses, alpha);
    rows.splice(1, 0, `loss ${fmt(value)}`);
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
    container.dataset.hover = JSON.stringify({ alpha, loss: value });
  }
  overlay.on("pointermove", showHover).on("pointerleave", () => hover.attr("visibility", "hidden"));

  /**
   * slice: the API's 1-D answer; lossAtW: the loss at a = 0;
   * options: {showExamples, showTerms}.
   */
  function update(slice, lossAtW, { showExamples, showTerms, hasQuadratic }) {
    const { alphas, losses } = slice;
    const kinks = (slice.kinks || []).map((k) => ({ ...k, loss: Number.isFinite(k.loss) ? k.loss : sampleAt(alphas, losses, k.alpha) }));
    const examples = showExamples ? slice.per_example || [] : [];
    const terms = showTerms ? slice.terms || [] : [];
    // between samples the slope is exact only for SVM with reg = 0 (piecewise linear, no kink between)
    current = { alphas, losses, kinks, subgradient: slice.subgradient, exact: slice.exact && !slice.kinks_truncated && !hasQuadratic };
    const shown = [losses, ...examples.map((e) => e.values), ...terms.map((t) => t.values)];
    const hi = d3.max(shown, (v) => d3.max(v));
    const lo = Math.min(0, d3.min(shown, (v) => d3.min(v)));
    x.domain(d3.extent(alphas));
    y.domain([lo, hi + 0.05 * (hi - lo || 1)]).nice();
    gx.call(d3.axisBottom(x));
    gy.call(d3.axisLeft(y));
    total.attr("d", lines(alphas, losses));
    const colour = d3.scaleOrdinal(d3.schemeTableau10);
    gExamples.selectAll("path").data(examples).join("path")
      .attr("class", "example-line").attr("stroke", (d) => colour(d.i))
      .attr("data-example", (d) => d.i).attr("d", (d) => lines(alphas, d.values));
    gTerms.selectAll("path").data(terms).join("path")
      .attr("class", "term-line").attr("stroke", (d) => colour(d.i))
      .attr("data-term", (d) => `${d.i},${d.j}`).attr("d", (d) => lines(alphas, d.values));
    // a few kinks sit on the curve as dots; thousands (cifar-shaped) become a rug above the axis
    const dense = kinks.length > DOTTED_KINKS;
    gKinks.selectAll("circle").data(dense ? [] : kinks).join("circle")
      .attr("class", "kink").attr("r", 4).attr("data-alpha", (d) => d.alpha)
      .attr("cx", (d) => x(d.alpha)).attr("cy", (d) => y(d.loss));
    gKinks.selectAll("line").data(dense ? kinks : []).join("line")
      .attr("class", "kink-tick").attr("data-alpha", (d) => d.alpha)
      .attr("x1", (d) => x(d.alpha)).attr("x2", (d) => x(d.alpha))
      .attr("y1", HEIGHT - MARGIN.bottom).attr("y2", HEIGHT - MARGIN.bottom - 10);
    // the subgradient at W: the two one-sided slopes as rays leaving the current point
    const sub = slice.subgradient;
    const reach = 0.18 * (x.domain()[1] - x.domain()[0]);
    const rays = sub ? [
      { cls: "slope-left", a: -reach, slope: sub.left },
      { cls: "slope-right", a: reach, slope: sub.right },
    ] : [];
    gSub.selectAll("line").data(rays).join("line")
      .attr("class", (d) => `slope-ray ${d.cls}`)
      .attr("data-slope", (d) => d.slope) // the exact one-sided slope, for tests and exports
      .attr("x1", x(0)).attr("y1", y(lossAtW))
      .attr("x2", (d) => x(d.a)).attr("y2", (d) => y(lossAtW + d.slope * d.a));
    const inRange = alphas[0] <= 0 && 0 <= alphas[alphas.length - 1];
    origin.attr("visibility", inRange ? "visible" : "hidden").attr("cx", x(0)).attr("cy", y(lossAtW));
    const keys = [
      ["legend-total", "line", "total loss (mean of L_i, plus reg)"],
      examples.length ? ["legend-example", "line", "each example's L_i"] : null,
      terms.length ? ["legend-term", "line", "each hinge term max(0, ...)"] : null,
      kinks.length && !dense ? ["legend-kink", "dot", "kink (a hinge switches)"] : null,
      dense ? ["legend-kink-tick", "line", `kinks (${kinks.length}), as ticks on the axis`] : null,
      sub ? ["legend-slope", "line", "one-sided slopes at W: the subgradient interval"] : null,
    ].filter(Boolean);
    const rows = legend.selectAll("g.legend-row").data(keys).join((enter) => {
      const g = enter.append("g").attr("class", "legend-row");
      g.append("line").attr("x1", 0).attr("x2", 22).attr("y1", 0).attr("y2", 0);
      g.append("circle").attr("cx", 11).attr("r", 4);
      g.append("text").attr("x", 30).attr("dy", "0.35em");
      return g;
    });
    rows.attr("transform", (d, k) => `translate(0,${k * 17})`);
    rows.select("line").attr("class", (d) => d[0]).attr("visibility", (d) => (d[1] === "line" ? "visible" : "hidden"));
    rows.select("circle").attr("class", (d) => d[0]).attr("visibility", (d) => (d[1] === "dot" ? "visible" : "hidden"));
    rows.select("text").text((d) => d[2]);
    const m = slice.minimum;
    minMark.attr("visibility", m ? "visible" : "hidden").attr("cx", m ? x(m.alpha) : 0).attr("cy", m ? y(m.loss) : 0);
  }

  return { svg: svg.node(), update };
}
