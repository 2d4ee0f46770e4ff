/** The animation controller: the player's clock drives caption, diagram and table; play, step, predict. */

import { captionFor, checkPrediction, gradName } from "./caption.js";
import { fmt, fmtText } from "./format.js";
import { askedInputs, buildPrediction } from "./panels.js";
import { Player } from "./player.js";
import { frameAt } from "./timeline.js";

const $ = (id) => document.getElementById(id);
/** Writes an element's text only when it changed. */
const setText = (el, text) => {
  if (el.textContent !== text) el.textContent = text;
};

export class AnimationController {
  /** view and table are drawn frame by frame; onStop(t) runs when motion stops, onActive(step) when the active step changes. */
  constructor({ view, table, onStop, onActive = () => {} }) {
    this.view = view;
    this.onActive = onActive;
    this.table = table;
    this.circuit = null; // what is drawn, and its timeline (set by load)
    this.timeline = null;
    this.predict = false; // predict mode: stop before each scalar backward step not yet guessed
    this.predicted = new Set(); // the backward steps already guessed
    this.predicting = null; // the step whose guess is being asked, or null
    this.score = { right: 0, asked: 0 }; // predict mode's answers so far (each number counts)
    this.lastActive = -2; // the step the caption and table show (-2: none yet)
    this.uses = []; // the node ids the caption's numbers come from
    this.player = new Player({
      onFrame: (t) => this.drawFrame(t),
      onStop: (t) => {
        this.setPlayLabel();
        onStop(t);
        this.promptIfDue(t); // play goes on into the questions, no silent stop
      },
    });
    const reducedMotion = window.matchMedia("(prefers-reduced-motion: reduce)");
    this.player.reducedMotion = reducedMotion.matches;
    reducedMotion.addEventListener("change", () => {
      this.player.reducedMotion = reducedMotion.matches;
    });
    $("predict-form").addEventListener("submit", (ev) => {
      ev.preventDefault();
      this.submitPrediction();
    });
  }

  /** Shows a new circuit and its timeline; a `fresh` structure forgets the guesses made. */
  load(circuit, timeline, { fresh }) {
    this.circuit = circuit;
    this.timeline = timeline;
    this.lastActive = -2;
    if (fresh) this.predicted.clear();
  }

  /** Turns predict mode on or off; either way the guesses start over. */
  setPredict(on) {
    this.predict = on;
    this.predicted.clear();
    this.score = { right: 0, asked: 0 };
    $("predict-form").hidden = true;
    this.table.conceal(on && this.timeline ? Math.floor(this.player.t + 1e-9) : Infinity);
  }

  /** In predict mode, when the clock stops right before a step still to be guessed, asks. */
  promptIfDue(t) {
    if (this.answered) {
      // the stop after a checked guess: its verdict stays on screen until play or step
      this.answered = false;
      return;
    }
    if (!this.predict || this.predicting !== null || !this.timeline) return;
    const done = Math.floor(t + 1e-9);
    if (Math.abs(t - done) < 1e-9 && this.nextUnpredicted(done) === done) this.askPrediction(done);
  }

  drawFrame(t) {
    const { view, table, timeline, circuit } = this;
    if (!timeline) return;
    const frame = frameAt(timeline, t);
    if (frame.active !== this.lastActive) {
      const caption = captionFor(circuit, timeline, frame.active);
      setText($("caption-heading"), caption.heading);
      // a slider drag redraws the same step with new numbers: its lines stay and only the text
      // that changed is written (a new element, or new text, costs the caption's layout)
      const list = $("caption-lines");
      while (list.children.length > caption.lines.length) list.lastElementChild.remove();
      while (list.children.length < caption.lines.length) list.appendChild(document.createElement("li"));
      caption.lines.forEach((line, i) => setText(list.children[i], line));
      this.uses = caption.uses;
      this.lastActive = frame.active;
      table.sync(frame.active);
      this.onActive(frame.active);
    }
    view.applyFrame(timeline, frame, this.uses);
    // predict mode keeps the table's numbers of the steps not yet reached hidden
    table.conceal(this.predict ? frame.done : Infinity);
    const scrubber = $("scrubber");
    if (scrubber.value !== String(frame.done)) scrubber.value = String(frame.done);
    setText($("step-label"), `step ${frame.done} / ${timeline.steps.length}`);
  }

  setPlayLabel() {
    const { player } = this;
    const button = $("play");
    button.textContent = player.playing ? "⏸ pause" : "▶ play";
    button.setAttribute("aria-label", player.playing ? "Pause (space)" : "Play (space)");
    button.setAttribute("aria-pressed", player.playing ? "true" : "false");
  }

  /** In predict mode, the backward step the player must stop before (the next one not yet guessed). */
  nextUnpredicted(from) {
    if (!this.predict || !this.timeline) return Infinity;
    const steps = this.timeline.steps;
    for (let i = from; i < steps.length; i++) {
      // tensor steps are not asked: their gradients are matrices, shown in the heatmaps
      const scalar =
        steps[i].phase === "backward" && steps[i].backward.inputs.every((x) => !Array.isArray(x.contribution));
      // a gate whose inputs are all constants has nothing to ask
      const asks = scalar && askedInputs(this.circuit, steps[i]).length > 0;
      if (asks && !this.predicted.has(i)) return i;
    }
    return Infinity;
  }

  playTo(target) {
    const { player } = this;
    if (this.predicting === null) $("predict-form").hidden = true; // the last verdict was read
    let done = Math.floor(player.t + 1e-9);
    if (done >= player.end && target >= player.end) {
      // play at the end starts over
      this.predicted.clear();
      player.seek(0);
      done = 0;
    }
    const stop = this.nextUnpredicted(done);
    if (stop === done) {
      this.askPrediction(done);
      return;
    }
    const to = Math.min(target, stop);
    if (player.reducedMotion && to - done <= 1) player.seek(to);
    else player.play(to);
    this.setPlayLabel();
  }

  togglePlay() {
    if (this.player.playing) this.player.pause();
    else this.playTo(this.player.end);
    this.setPlayLabel();
  }

  stepForward() {
    this.player.flush();
    const done = Math.floor(this.player.t + 1e-9);
    if (done >= this.player.end) return;
    this.playTo(done + 1);
  }

  stepBack() {
    this.player.back();
  }

  jumpTo(t) {
    $("predict-form").hidden = true;
    this.player.seek(t);
  }

  restart() {
    this.predicted.clear();
    this.jumpTo(0);
  }

  askPrediction(stepIndex) {
    const { timeline } = this;
    const step = timeline.steps[stepIndex];
    this.view.applyFrame(timeline, { ...frameAt(timeline, stepIndex), active: stepIndex }, []);
    this.predicting = stepIndex;
    buildPrediction($("predict-form"), this.circuit, step);
  }

  submitPrediction() {
    const { player } = this;
    const stepIndex = this.predicting;
    if (stepIndex === null) return;
    const step = this.timeline.steps[stepIndex];
    const form = $("predict-form");
    const value = (name) => form.querySelector(`input[name="${name}"]`)?.value ?? "";
    const verdict = (text, truth, what) => {
      const result = checkPrediction(text, truth);
      this.score.asked += 1;
      if (result.ok) this.score.right += 1;
      if (result.ok) return `✓ ${what} ${fmt(truth)}`;
      return `✗ ${what} is ${fmt(truth)} (${result.valid ? `you said ${fmt(result.guess)}` : "no number given"})`;
    };
    const byId = new Map(this.circuit.nodes.map((n) => [n.id, n]));
    const lines = askedInputs(this.circuit, step).map((input, k) => {
      const name = gradName(byId.get(input.node));
      const local = verdict(value(`predict-local-${k}`), input.local_grad, "local gradient");
      const got = verdict(value(`predict-${k}`), input.contribution, "contribution");
      return `${name}: ${local}, ${got}`;
    });
    // the rule that gives the right numbers, then the running score
    if (step.backward.rule) lines.push(`Rule: ${fmtText(step.backward.rule)}`);
    lines.push(`Score: ${this.score.right} of ${this.score.asked} right`);
    form.querySelector(".predict-result").replaceChildren(
      ...lines.map((line) => {
        const p = document.createElement("span");
        p.className = "predict-line";
        p.textContent = line;
        return p;
      }),
    );
    // the verdict stays on screen, but this guess cannot be sent twice
    for (const control of $("predict-form").querySelectorAll("input, button")) control.disabled = true;
    this.predicting = null;
    this.answered = true;
    this.predicted.add(stepIndex);
    this.lastActive = -2;
    if (player.reducedMotion) player.seek(stepIndex + 1);
    else player.play(stepIndex + 1);
    this.setPlayLabel();
  }
}
