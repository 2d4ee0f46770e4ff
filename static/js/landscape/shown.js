/** What the landscape answers on screen say: the slice relative to W, the path step shown, the readout, the CSV. */
import { nearestIndex } from "./plot2d.js";
import { interval } from "./readout.js";

// `current` is the page's set of answers on screen: { plane, loss, slice1, slice2, path }.

/** The slice shifted so the current W sits at (0, 0). */
export function relativeSlice(slice, shift) {
  if (!shift[0] && !shift[1]) return slice;
  const move = (p) => (p ? { ...p, alpha: p.alpha - shift[0], beta: p.beta - shift[1] } : p);
  return {
    ...slice,
    alphas: slice.alphas.map((a) => a - shift[0]),
    betas: slice.betas.map((b) => b - shift[1]),
    minimum: move(slice.minimum),
  };
}

/** How far the range is shifted (large W only): W was moved to (ca, cb) of the seeded W's plane. */
export function shiftOf(current, state) {
  // the plane of a path runs from the W the request sent, at (0, 0) of its own plane
  const ownPlane = state.view === "2d" && current.slice2?.path_plane;
  return current.plane && !current.plane.explicit && !ownPlane ? [state.ca, state.cb] : [0, 0];
}

/** The descent-path step shown: the chosen one, or the last when none is chosen or it is past the end. */
export function pathStep(current, state) {
  const last = current.path ? current.path.losses.length - 1 : 0;
  return state.pstep < 0 || state.pstep > last ? last : state.pstep;
}

/** The numbers line for the answers on screen: [key, label, value, text?] entries. */
export function readoutEntries(current, state) {
  const loss = current.loss;
  const [sa, sb] = shiftOf(current, state);
  const moved = sa !== 0 || sb !== 0;
  const entries = [];
  if (moved && state.view === "2d" && current.slice2) {
    // W itself is not sent for large problems, so its loss is read off the grid, where it lies
    const rel = relativeSlice(current.slice2, [sa, sb]);
    const at = rel.losses[nearestIndex(rel.betas, 0)][nearestIndex(rel.alphas, 0)];
    entries.push(["loss", "loss at W (grid)", at]);
  } else {
    entries.push(["loss", "loss at W", loss?.loss], ["data_loss", "data loss", loss?.data_loss], ["reg_loss", "reg loss", loss?.reg_loss]);
  }
  entries.push(["shape", "W", loss ? `${loss.c}×${loss.d}` : null, loss ? `${loss.c}×${loss.d}, N = ${loss.n}` : null]);
  if (moved) {
    entries.push(["moved", "W moved by", [sa, sb],
      `(${sa}, ${sb}) in the 2-D plane; the 1-D view and descent paths start from the original W`]);
  }
  const s1 = current.slice1;
  if (state.view === "1d" && s1) {
    entries.push(
      ["subgradient", "subgradient along the slice", [s1.subgradient.left, s1.subgradient.right], interval(s1.subgradient.left, s1.subgradient.right)],
      ["kink_count", "kinks in range", s1.exact ? s1.kink_count : null],
      ["minimum", "minimum on the line", s1.minimum.loss, `${s1.minimum.loss.toPrecision(6)} at a = ${s1.minimum.alpha.toPrecision(6)}`],
    );
  }
  const g = current.grad;
  if (state.view === "grad" && g) {
    entries.push(["grad_entries", "weights checked", g.entries, g.sampled ? `${g.entries} (a sample)` : null]);
    for (const key of ["centred", "forward"]) {
      const best = g[key].indexOf(Math.min(...g[key]));
      entries.push([`grad_best_${key}`, `best h, ${key}`, [g.hs[best], g[key][best]],
        `${g.hs[best].toExponential(1)} (error ${g[key][best].toExponential(2)})`]);
    }
  }
  const s2 = current.slice2 && relativeSlice(current.slice2, [sa, sb]);
  if (state.view === "2d" && s2) {
    entries.push(["grid_minimum", "grid minimum", s2.minimum.loss,
      `${s2.minimum.loss.toPrecision(6)} at (${s2.minimum.alpha.toPrecision(4)}, ${s2.minimum.beta.toPrecision(4)})`]);
    const held = s2.path_plane;
    if (held) {
      const pct = (v) => `${(100 * v).toPrecision(4)}%`;
      entries.push(["plane_captured", "the plane holds", held.captured,
        `${pct(held.captured)} of the path's movement (${pct(held.explained[0])} + ${pct(held.explained[1])})`]);
      entries.push(["plane_off", "furthest path point off the plane", held.max_off_plane]);
    }
    if (current.path && state.method !== "none") {
      entries.push(["path_loss", "path loss", current.path.losses[pathStep(current, state)]]);
      entries.push(["path_start", "path start", current.path.losses[0]]);
    }
  }
  return entries;
}

/** The numbers behind the plot on screen as CSV rows (header first), or null when there are none. */
export function csvRows(current, state) {
  if (state.view === "grad") {
    const g = current.grad;
    return g ? [["h", "centred", "forward"], ...g.hs.map((h, k) => [h, g.centred[k], g.forward[k]])] : null;
  }
  if (state.view === "1d" && current.slice1) {
    const s = current.slice1;
    const extra = [...(s.per_example || []).map((e) => [`L_${e.i}`, e.values]), ...(s.terms || []).map((t) => [`term_${t.i}_${t.j}`, t.values])];
    return [["a", "loss", ...extra.map(([name]) => name)], ...s.alphas.map((a, k) => [a, s.losses[k], ...extra.map(([, v]) => v[k])])];
  } else if (current.slice2) {
    const s = relativeSlice(current.slice2, shiftOf(current, state));
    const rows = [["a", "b", "loss"]];
    s.betas.forEach((b, j) => s.alphas.forEach((a, i) => rows.push([a, b, s.losses[j][i]])));
    return rows;
  }
  return null;
}
