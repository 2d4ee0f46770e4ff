// The numerical-gradient view: each finite difference's relative error against its step h, on log-log axes.
/* global d3 */
import { drawAxis } from "../common/axis.js";

const WIDTH = 820;
const HEIGHT = 440;
const MARGIN = { top: 16, right: 24, bottom: 46, left: 72 };
const FLOOR = 1e-17; // an error of exactly 0 has no place on a log axis: it is drawn here, hollow
const KINDS = [
  { key: "centred", name: "centred (L(W + h) − L(W − h)) / 2h" },
  { key: "forward", name: "forward (L(W + h) − L(W)) / h" },
];

/** Powers of ten from lo to hi (both > 0), every `every` decades. */
export function decades(lo, hi, every = 1) {
  const out = [];
  for (let p = Math.ceil(Math.log10(lo)); p <= Math.floor(Math.log10(hi)); p += every) out.push(10 ** p);
  return out;
}

/** Builds the SVG once; `update(answer)` redraws it from a /numerical-gradient answer. */
export function createPlotGrad(container) {
  const svg = d3.select(container).append("svg").attr("class", "plot plotgrad")
    .attr("viewBox", `0 0 ${WIDTH} ${HEIGHT + 40}`).attr("role", "img")
    .attr("aria-label", "Relative error of the centred and forward differences against the step h");
  const x = d3.scaleLog().range([MARGIN.left, WIDTH - MARGIN.right]);
  const y = d3.scaleLog().range([HEIGHT - MARGIN.bottom, MARGIN.top]);
  const gx = svg.append("g").attr("class", "axis axis-x").attr("transform", `translate(0,${HEIGHT - MARGIN.bottom})`);
  const gy = svg.append("g").attr("class", "axis axis-y").attr("transform", `translate(${MARGIN.left},0)`);
  svg.append("text").attr("class", "axis-label").attr("x", (WIDTH + MARGIN.left) / 2).attr("y", HEIGHT - 8).text("step h");
  svg.append("text").attr("class", "axis-label").attr("transform", `translate(16,${HEIGHT / 2}) rotate(-90)`)
    .text("worst relative error |a − n| / (|a| + |n|)");
  const check = svg.append("g").attr("class", "check-h");
  const checkLine = check.append("line").attr("y1", MARGIN.top).attr("y2", HEIGHT - MARGIN.bottom);
  const checkText = check.append("text").attr("y", MARGIN.top + 12);
  const gLines = svg.append("g").attr("class", "error-lines");
  const gPoints = svg.append("g").attr("class", "error-points");
  const legend = svg.append("g").attr("class", "legend").attr("transform", `translate(${MARGIN.left},${HEIGHT + 10})`);
  const line = d3.line().x((d) => x(d.h)).y((d) => y(Math.max(d.error, FLOOR)));

  function update(answer) {
    const { hs } = answer;
    const positive = [...answer.centred, ...answer.forward].filter((e) => e > 0);
    x.domain(d3.extent(hs));
    y.domain([Math.max(FLOOR, d3.min(positive) ?? FLOOR), Math.max(1, d3.max(positive) ?? 1)]);
    const xs = decades(...x.domain(), 2);
    drawAxis(gx, d3.axisBottom(x).tickValues(xs).tickFormat(d3.format("~e")));
    drawAxis(gy, d3.axisLeft(y).tickValues(decades(...y.domain(), 2)).tickFormat(d3.format("~e")));
    const series = KINDS.map((kind) => ({ ...kind, points: hs.map((h, k) => ({ h, error: answer[kind.key][k], kind: kind.key })) }));
    gLines.selectAll("path").data(series).join("path")
      .attr("class", (d) => `error-line line-${d.key}`).attr("d", (d) => line(d.points));
    gPoints.selectAll("circle").data(series.flatMap((s) => s.points)).join("circle")
      .attr("class", (d) => `error-point point-${d.kind}${d.error > 0 ? "" : " exact"}`)
      .attr("r", 3).attr("data-h", (d) => d.h).attr("data-error", (d) => d.error)
      .attr("cx", (d) => x(d.h)).attr("cy", (d) => y(Math.max(d.error, FLOOR)))
      .selectAll("title").data((d) => [`h = ${d3.format(".3~e")(d.h)}: ${d.error > 0 ? d3.format(".3~e")(d.error) : "0 (exact)"}`])
      .join("title").text((d) => d);
    const at = answer.check_h;
    check.attr("data-h", at).attr("visibility", at >= x.domain()[0] && at <= x.domain()[1] ? "visible" : "hidden");
    checkLine.attr("x1", x(at)).attr("x2", x(at));
    checkText.attr("x", x(at) + 4).text(`the gradient check's h = ${d3.format("~e")(at)}`);
    const keys = [...series.map((s) => ({ cls: `line-${s.key}`, text: s.name })),
      { cls: "check-key", text: "the h the gradient check uses" }];
    const rows = legend.selectAll("g.legend-row").data(keys).join((enter) => {
      const g = enter.append("g").attr("class", "legend-row");
      g.append("line").attr("x1", 0).attr("x2", 22);
      g.append("text").attr("x", 30).attr("dy", "0.35em");
      return g;
    });
    rows.attr("transform", (d, k) => `translate(${k * 250},0)`);
    rows.select("line").attr("class", (d) => d.cls);
    rows.select("text").text((d) => d.text);
    container.dataset.rendered = String(hs.length);
  }

  return { svg: svg.node(), update };
}
