/** One requestAnimationFrame clock for every animation on a page: cancellable, and flushable in tests. */

/**
 * Timers run on one shared frame loop: `every(tick)` calls tick(now) on each frame until the tick
 * returns false or the returned handle is cancelled. When no timer is left the frame request is
 * cancelled too, so an idle page asks for no frames. raf, caf and now can be replaced in tests.
 */
export class Clock {
  constructor({ raf, caf, now } = {}) {
    this.raf = raf || ((cb) => requestAnimationFrame(cb));
    this.caf = caf || ((id) => cancelAnimationFrame(id));
    this.now = now || (() => performance.now());
    this.timers = new Set();
    this.handle = null;
    this.frame = this.frame.bind(this);
  }

  every(tick) {
    const timer = { tick };
    this.timers.add(timer);
    if (this.handle === null) this.handle = this.raf(this.frame);
    return { cancel: () => this.cancel(timer) };
  }

  cancel(timer) {
    this.timers.delete(timer);
    if (this.timers.size === 0 && this.handle !== null) {
      this.caf(this.handle);
      this.handle = null;
    }
  }

  /** Runs every timer once, now, without waiting for a frame (tests, and impatient users). */
  flush(time = this.now()) {
    for (const timer of [...this.timers]) {
      if (this.timers.has(timer) && timer.tick(time) === false) this.cancel(timer);
    }
  }

  frame(time) {
    this.handle = null;
    this.flush(typeof time === "number" ? time : this.now());
    if (this.timers.size > 0 && this.handle === null) this.handle = this.raf(this.frame);
  }
}

/** The page's one clock, shared by every animation on it. */
export const clock = new Clock();
