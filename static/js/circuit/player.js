/** One requestAnimationFrame clock for the animation: play, pause, seek; cancellable and flushable in tests. */

export class Player {
  /**
   * onFrame(t) is called with the time in steps; with reduced motion t is always whole, so the
   * drawing jumps from step to step instead of moving.
   */
  constructor({ onFrame, onStop = () => {}, raf, caf, now } = {}) {
    this.onFrame = onFrame;
    this.onStop = onStop;
    this.raf = raf || ((cb) => requestAnimationFrame(cb));
    this.caf = caf || ((id) => cancelAnimationFrame(id));
    this.now = now || (() => performance.now());
    this.t = 0;
    this.end = 0;
    this.target = 0;
    this.speed = 1; // steps per second
    this.reducedMotion = false;
    this.handle = null;
    this.last = 0;
    this.tick = this.tick.bind(this);
  }

  get playing() {
    return this.handle !== null;
  }

  /** Sets the number of steps; keeps t inside. */
  setLength(n) {
    this.end = n;
    if (this.t > n) this.seek(n);
  }

  /** Plays until `target` (default: the end); from the end, it restarts first. */
  play(target = this.end) {
    if (this.t >= this.end && target >= this.end) this.t = 0;
    this.target = Math.min(target, this.end);
    if (this.handle === null) {
      this.last = this.now();
      this.handle = this.raf(this.tick);
    }
    this.emit();
  }

  pause() {
    if (this.handle !== null) this.caf(this.handle);
    this.handle = null;
    this.onStop(this.t);
  }

  /** Jumps to time t (stopping any motion). */
  seek(t) {
    if (this.handle !== null) this.caf(this.handle);
    this.handle = null;
    this.t = Math.min(Math.max(t, 0), this.end);
    this.emit();
    this.onStop(this.t);
  }

  /** Finishes the current motion at once: used by tests and when the user is impatient. */
  flush() {
    if (this.handle === null) return;
    this.seek(this.target);
  }

  tick(time) {
    const now = typeof time === "number" ? time : this.now();
    const dt = Math.max(0, now - this.last) / 1000;
    this.last = now;
    this.t = Math.min(this.t + dt * this.speed, this.target);
    if (this.t >= this.target) {
      this.handle = null;
      this.emit();
      this.onStop(this.t);
      return;
    }
    this.emit();
    this.handle = this.raf(this.tick);
  }

  emit() {
    this.onFrame(this.reducedMotion ? Math.floor(this.t + 1e-9) : this.t);
  }
}
