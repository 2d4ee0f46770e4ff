/** Runs side by side: the /compare request for the page's state, and the loss-against-step chart with one named line per run. */
/* global d3 */
import { stepParameter } from "./optimizers.js";
import { lossRequest } from "./problem.js";
import { drawAxis } from "../common/axis.js";

const WIDTH = 640;
const HEIGHT = 300;
const MARGIN = { top: 14, right: 20, bottom: 40, left: 64 };
// Five step sizes, half a decade apart, centred on the chosen one: wide enough that "too small"
// and "diverging" usually both show, and each written to three digits as the legend shows it.
const HALF_DECADES = [-2, -1, 0, 1, 2];
// Colours that the page's other marks do not use (the ray red and the kink orange are theirs).
const PALETTE = ["#4e79a7", "#59a14f", "#8e6bbf", "#17becf", "#9c755f", "#e377c2", "#7f7f7f", "#bcbd22", "#1f3b73", "#2ca02c", "#6b4c9a", "#0f7c8c"];
// The chart's top: at least HEADROOM times the highest starting loss, and high enough for every
// run that stays under CLIMB times it; a run that climbs further (growing, diverging) is clipped
// at the top edge (its legend says where it ended) rather than flattening the rest.
const HEADROOM = 2.5;
const CLIMB = 10;

/** The step sizes a comparison around `lr` runs, to three significant digits. */
export function stepSizesAround(lr) {
  return HALF_DECADES.map((k) => Number((lr * 10 ** (k / 2)).toPrecision(3)));
}

/** The optimizers whose number is a step size (random search's is a scale), from the catalog. */
export function stepSizeRules(catalogRows) {
  const stepSize = stepParameter("gd");
  return catalogRows.map((row) => row.name).filter((name) => stepParameter(name) === stepSize);
}

/** The /compare body for the state: five step sizes of one rule, or every step-size rule at one step size. */
export function compareRequest(state, p, catalogRows) {
  const strategy = state.method === "none" ? "gd" : state.method;
  const body = { ...lossRequest(state, p), steps: state.psteps, batch_size: state.batch, optimizer_seed: state.pseed, momentum: state.mu };
  if (state.cmp === "optimizers") return { ...body, strategies: stepSizeRules(catalogRows), step_sizes: [state.lr] };
  return { ...body, strategies: [strategy], step_sizes: stepSizesAround(state.lr) };
}

/** A run's name, as the legend and the hover text give it. */
export function runName(run) {
  return `${run.strategy} · step ${run.step_size}`;
}

function ending(run) {
  return run.diverged ? `diverged after step ${run.steps_taken} (last loss ${run.final_loss.toPrecision(4)})` : `→ ${run.final_loss.toPrecision(6)}`;
}

/** The chart: loss against step, a line per run, a ✕ where a run diverged, a legend, hover names. */
export function createCompareChart(container, legendBox) {
  const svg = d3.select(container).append("svg").attr("class", "plot compare-chart")
    .attr("viewBox", `0 0 ${WIDTH} ${HEIGHT}`).attr("role", "img").attr("aria-label", "Loss at each step of each run");
  const x = d3.scaleLinear().range([MARGIN.left, WIDTH - MARGIN.right]);
  const y = d3.scaleLinear().range([HEIGHT - MARGIN.bottom, MARGIN.top]);
  const clipId = "compare-clip";
  svg.append("clipPath").attr("id", clipId).append("rect")
    .attr("x", MARGIN.left).attr("y", MARGIN.top - 2)
    .attr("width", WIDTH - MARGIN.left - MARGIN.right).attr("height", HEIGHT - MARGIN.top - MARGIN.bottom + 4);
  const gx = svg.append("g").attr("class", "axis axis-x").attr("transform", `translate(0,${HEIGHT - MARGIN.bottom})`);
  const gy = svg.append("g").attr("class", "axis axis-y").attr("transform", `translate(${MARGIN.left},0)`);
  svg.append("text").attr("class", "axis-label").attr("x", (WIDTH + MARGIN.left) / 2).attr("y", HEIGHT - 6).text("step");
  svg.append("text").attr("class", "axis-label").attr("transform", `translate(16,${HEIGHT / 2}) rotate(-90)`).text("loss");
  const lines = svg.append("g").attr("class", "compare-lines").attr("clip-path", `url(#${clipId})`);
  const marks = svg.append("g").attr("class", "compare-marks");
  const hoverText = svg.append("text").attr("class", "compare-hover").attr("x", MARGIN.left + 8).attr("y", MARGIN.top + 12);
  const overlay = svg.append("rect").attr("class", "hover-overlay")
    .attr("x", MARGIN.left).attr("y", MARGIN.top)
    .attr("width", WIDTH - MARGIN.left - MARGIN.right).attr("height", HEIGHT - MARGIN.top - MARGIN.bottom);
  let runs = [];

  function highlight(index) {
    lines.selectAll("path.run-line").classed("hot", (d) => d.index === index);
    d3.select(legendBox).selectAll("li").classed("hot", (d) => d.index === index);
    hoverText.text(index === null ? "" : runName(runs[index]));
  }

  overlay.on("mousemove", (event) => {
    if (!runs.length) return;
    const [mx, my] = d3.pointer(event, svg.node());
    const step = Math.round(x.invert(mx));
    // the run drawn nearest the pointer at that step (a run that ended earlier, at its end)
    let best = null;
    for (const run of runs) {
      const k = Math.max(0, Math.min(step, run.losses.length - 1));
      const gap = Math.abs(y(Math.min(run.losses[k], y.domain()[1])) - my);
      if (!best || gap < best.gap) best = { gap, run, k };
    }
    highlight(best.run.index);
    hoverText.text(`${runName(best.run)}: loss ${best.run.losses[best.k].toPrecision(5)} at step ${best.k}`);
  });
  overlay.on("mouseleave", () => highlight(null));

  /** Draws the runs of a /compare answer (or clears the chart for null). */
  function update(answer) {
    runs = answer ? answer.runs.map((run, index) => ({ ...run, index, colour: PALETTE[index % PALETTE.length] })) : [];
    const longest = d3.max(runs, (run) => run.losses.length - 1) || 1;
    const start = d3.max(runs, (run) => run.losses[0]) || 1;
    const low = Math.min(0, d3.min(runs, (run) => d3.min(run.losses)) ?? 0);
    x.domain([0, longest]);
    const bounded = runs.map((run) => d3.max(run.losses)).filter((high) => high <= start * CLIMB);
    y.domain([low, Math.max(start * HEADROOM, d3.max(bounded) ?? 0)]).nice();
    drawAxis(gx, d3.axisBottom(x).ticks(8));
    drawAxis(gy, d3.axisLeft(y).ticks(6));
    const top = y.domain()[1];
    // a loss far past the top is drawn at a bounded height, so a diverging line leaves the
    // chart steeply instead of becoming a number SVG cannot place
    const clamp = (v) => Math.min(v, top * 10);
    const line = d3.line().x((d, k) => x(k)).y((d) => y(clamp(d)));
    lines.selectAll("path.run-line").data(runs).join("path")
      .attr("class", "run-line")
      .attr("data-run", (d) => d.index)
      .attr("data-final-loss", (d) => d.final_loss)
      .attr("stroke", (d) => d.colour)
      .attr("d", (d) => line(d.losses))
      .selectAll("title").data((d) => [d]).join("title").text((d) => `${runName(d)} ${ending(d)}`);
    marks.selectAll("g.diverged-mark").data(runs.filter((run) => run.diverged)).join((enter) => {
      const g = enter.append("g").attr("class", "diverged-mark");
      g.append("path").attr("d", "M-5,-5L5,5M-5,5L5,-5");
      g.append("title");
      return g;
    })
      .attr("data-run", (d) => d.index)
      .attr("stroke", (d) => d.colour)
      .attr("transform", (d) => `translate(${x(d.steps_taken)},${y(Math.min(d.final_loss, top))})`)
      .select("title").text((d) => `${runName(d)}: ${ending(d)}`);
    const items = d3.select(legendBox).selectAll("li").data(runs).join((enter) => {
      const li = enter.append("li");
      li.append("span").attr("class", "swatch");
      li.append("span").attr("class", "run-name");
      li.append("span").attr("class", "run-end");
      return li;
    });
    items.attr("data-run", (d) => d.index).attr("data-diverged", (d) => String(d.diverged))
      .on("mouseenter", (event, d) => highlight(d.index)).on("mouseleave", () => highlight(null));
    items.select(".swatch").style("background", (d) => d.colour);
    items.select(".run-name").text((d) => runName(d));
    items.select(".run-end").attr("data-value", (d) => d.final_loss).text((d) => ending(d));
  }

  return { svg: svg.node(), update };
}
