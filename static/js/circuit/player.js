/** The circuit animation's player: play, pause, seek and flush on the page's one clock (static/js/common/clock.js). */

import { Clock, clock as pageClock } from "../common/clock.js";

export class Player {
  /**
   * onFrame(t) is called with the time in steps; with reduced motion t is always whole, so the
   * drawing jumps from step to step instead of moving. raf, caf and now (for tests) give the
   * player a clock of its own instead of the page's.
   */
  constructor({ onFrame, onStop = () => {}, raf, caf, now, clock } = {}) {
    this.onFrame = onFrame;
    this.onStop = onStop;
    this.clock = clock || (raf || caf || now ? new Clock({ raf, caf, now }) : pageClock);
    this.t = 0;
    this.end = 0;
    this.target = 0;
    this.speed = 1; // steps per second
    this.reducedMotion = false;
    this.timer = null;
    this.last = 0;
  }

  get playing() {
    return this.timer !== null;
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
    if (this.timer === null) {
      this.last = this.clock.now();
      this.timer = this.clock.every((now) => this.tick(now));
    }
    this.emit();
  }

  stopTimer() {
    if (this.timer !== null) this.timer.cancel();
    this.timer = null;
  }

  pause() {
    this.stopTimer();
    this.onStop(this.t);
  }

  /** Jumps to time t (stopping any motion). */
  seek(t) {
    this.stopTimer();
    this.t = Math.min(Math.max(t, 0), this.end);
    this.emit();
    this.onStop(this.t);
  }

  /**
   * Goes back one step from the step shown: paused mid-step at 2.4 the counter reads 2, so back
   * is 1 (going to 2, the start of the motion, would leave the counter as it was).
   */
  back() {
    this.seek(Math.max(0, Math.floor(this.t + 1e-9) - 1));
  }

  /** Finishes the current motion at once: used by tests and when the user is impatient. */
  flush() {
    if (this.timer === null) return;
    this.seek(this.target);
  }

  /** One frame: moves t on by the time since the last one; false when the target is reached. */
  tick(now) {
    const dt = Math.max(0, now - this.last) / 1000;
    this.last = now;
    this.t = Math.min(this.t + dt * this.speed, this.target);
    if (this.t >= this.target) {
      this.stopTimer();
      this.emit();
      this.onStop(this.t);
      return false;
    }
    this.emit();
    return true;
  }

  emit() {
    this.onFrame(this.reducedMotion ? Math.floor(this.t + 1e-9) : this.t);
  }
}
