// Descent paths: drawn over the 2-D slice (honest about leaving its plane), played step by step, charted.
/* global d3 */
import { clock } from "../common/clock.js";
import { drawAxis } from "../common/axis.js";

const WIDTH = 420;
const HEIGHT = 240;
const MARGIN = { top: 14, right: 56, bottom: 40, left: 56 };

/** How far a point may leave the plane, relative to the slice's extent, before it is drawn hollow. */
export const OFF_PLANE_HOLLOW = 0.05;

/**
 * Draws the path projected onto the plane, up to `upto`: a point's opacity falls with its distance
 * off the plane, and points further off than OFF_PLANE_HOLLOW of the slice span are drawn hollow.
 */
export function drawPathOverlay(layer, { x, y }, path, upto, shift) {
  const span = Math.abs(x.domain()[1] - x.domain()[0]) || 1;
  const points = path ? path.alphas.slice(0, upto + 1).map((a, k) => ({
    k, a: a - shift[0], b: path.betas[k] - shift[1], off: path.off_plane[k],
  })) : [];
  const line = d3.line().x((d) => x(d.a)).y((d) => y(d.b));
  layer.selectAll("path.path-line").data(points.length ? [points] : []).join("path")
    .attr("class", "path-line").attr("d", line);
  layer.selectAll("circle.path-point").data(points).join("circle")
    .attr("class", (d) => `path-point${d.off / span > OFF_PLANE_HOLLOW ? " off-plane" : ""}`)
    .attr("r", (d) => (d.k === upto ? 5 : 3))
    .attr("opacity", (d) => Math.max(0.25, 1 - d.off / span))
    .attr("cx", (d) => x(d.a)).attr("cy", (d) => y(d.b));
}

/** The loss-vs-step chart with a marker at the shown step, and a one-clock player. */
export function createPathView(container, { onStep }) {
  const svg = d3.select(container).append("svg").attr("class", "plot path-chart")
    .attr("viewBox", `0 0 ${WIDTH} ${HEIGHT}`).attr("role", "img").attr("aria-label", "Loss at each step of the descent path");
  const x = d3.scaleLinear().range([MARGIN.left, WIDTH - MARGIN.right]);
  const y = d3.scaleLinear().range([HEIGHT - MARGIN.bottom, MARGIN.top]);
  const gx = svg.append("g").attr("class", "axis axis-x").attr("transform", `translate(0,${HEIGHT - MARGIN.bottom})`);
  const gy = svg.append("g").attr("class", "axis axis-y").attr("transform", `translate(${MARGIN.left},0)`);
  svg.append("text").attr("class", "axis-label").attr("x", (WIDTH + MARGIN.left) / 2).attr("y", HEIGHT - 6).text("step");
  svg.append("text").attr("class", "axis-label").attr("transform", `translate(14,${HEIGHT / 2}) rotate(-90)`).text("loss");
  const off = d3.scaleLinear().range([HEIGHT - MARGIN.bottom, MARGIN.top]);
  const gOff = svg.append("g").attr("class", "axis axis-off").attr("transform", `translate(${WIDTH - MARGIN.right},0)`);
  svg.append("text").attr("class", "axis-label off-label").attr("transform", `translate(${WIDTH - 10},${HEIGHT / 2}) rotate(90)`).text("off the plane (dashed)");
  const offCurve = svg.append("path").attr("class", "path-off-plane");
  const curve = svg.append("path").attr("class", "path-loss");
  const marker = svg.append("circle").attr("class", "path-marker").attr("r", 5);
  let data = null;
  let timer = null;

  function update(path, step) {
    data = path;
    if (!path) return;
    const losses = path.losses;
    x.domain([0, losses.length - 1]);
    y.domain([Math.min(0, d3.min(losses)), d3.max(losses) || 1]).nice();
    drawAxis(gx, d3.axisBottom(x).ticks(6));
    drawAxis(gy, d3.axisLeft(y).ticks(5));
    curve.attr("d", d3.line().x((d, k) => x(k)).y((d) => y(d))(losses));
    const distances = path.path.off_plane;
    // a path in its own plane is off it only by rounding (1e-16): an axis that deep shows noise
    const far = d3.max(distances);
    off.domain([0, far > 1e-9 ? far : 1]).nice();
    drawAxis(gOff, d3.axisRight(off).ticks(4));
    offCurve.attr("d", d3.line().x((d, k) => x(k)).y((d) => off(d))(distances));
    marker.attr("cx", x(step)).attr("cy", y(losses[step]));
  }

  /** Plays from the shown step to the end, one step per `interval` ms, on the page's one clock. */
  function play(from, interval = 60) {
    stop();
    if (!data) return;
    const last = data.losses.length - 1;
    const start = from >= last ? 0 : from;
    const began = clock.now();
    timer = clock.every((now) => {
      const step = Math.min(last, start + Math.floor(Math.max(0, now - began) / interval));
      if (step >= last) stop();
      onStep(step);
      return timer !== null;
    });
  }

  function stop() {
    if (timer) timer.cancel();
    timer = null;
  }

  return { svg: svg.node(), update, play, stop, playing: () => timer !== null };
}
