/** Writes to the page that cost only when they change something: a property set only when it differs, and a repeated write put off to at most one per interval. */

/**
 * Sets `el[name]` only when it differs. Pages redraw many times a second (a played training
 * step, a slider's drag), and each write costs: a style recalculation, and for a form control,
 * a task of Chromium's autofill that lays the page out again, even for the same value.
 */
export function setProp(el, name, value) {
  if (el[name] !== value) el[name] = value;
}

/**
 * A write of numbers that change faster than they can be read (a table while training plays):
 * `write(fn, everyMs)` runs `fn` now, or, when the last run was under `everyMs` ago, once that
 * much time has passed; a later call replaces a waiting one, so the last write always lands.
 */
export function createThrottle() {
  let ranAt = -Infinity;
  let waiting = null;
  const run = (fn) => {
    ranAt = performance.now();
    fn();
  };
  return function write(fn, everyMs = 0) {
    clearTimeout(waiting);
    waiting = null;
    const wait = ranAt + everyMs - performance.now();
    if (wait > 0) waiting = setTimeout(() => run(fn), wait);
    else run(fn);
  };
}
