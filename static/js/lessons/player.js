/** The lesson player: one step at a time (its prose, its live view in an iframe, its questions), with back/next, a link per step and the student's progress. */
import { isAbort } from "../common/api.js";
import { embeddedLink, liveLink, searchWithStep, stepFromSearch } from "./address.js";
import { checkAnswer, fetchLesson } from "./api.js";
import { createProgress } from "./progress.js";
import { showProse } from "./prose.js";
import { showQuestions } from "./questions.js";

const $ = (id) => document.getElementById(id);
const lessonId = decodeURIComponent(location.pathname.replace(/\/+$/, "").split("/").pop());
const progress = createProgress().lesson(lessonId);
let frame = $("step-view");
let lesson = null;
let current = -1;
let framed = null; // the view link the iframe was last opened at (the student may have moved it since)

/** The view a step shows: its own, or the last one before it (a step without a view keeps it). */
function viewOf(step) {
  for (let k = step; k >= 0; k -= 1) if (lesson.steps[k].view) return lesson.steps[k].view;
  return null;
}

/** The live view's link now: read from the iframe (same origin), without its embed=1. */
function currentViewLink() {
  try {
    const where = frame.contentWindow?.location;
    if (!where || where.href === "about:blank") return null;
    return liveLink(where);
  } catch {
    return null; // not (yet) our origin
  }
}

function showView(step) {
  const view = viewOf(step);
  $("lesson-view").hidden = !view;
  if (!view) return;
  // the same view as the step before stays as the student left it
  if (view.link !== framed) {
    framed = view.link;
    // a new iframe rather than a new src: an iframe's later navigations join the page's history,
    // and Back must go to the previous step, not to the previous view
    const fresh = document.createElement("iframe");
    fresh.id = frame.id;
    fresh.className = frame.className;
    fresh.title = view.page === "landscape" ? "Live view: the loss landscape" : "Live view: the circuit";
    fresh.src = embeddedLink(view.link);
    fresh.dataset.link = view.link;
    frame.replaceWith(fresh);
    frame = fresh;
  }
  $("view-open").href = view.link;
}

function showStepList() {
  const list = $("lesson-steps");
  list.replaceChildren(
    ...lesson.steps.map((step, k) => {
      const item = document.createElement("li");
      const link = document.createElement("a");
      link.href = searchWithStep(location.search, k);
      link.textContent = step.title;
      link.addEventListener("click", (event) => {
        event.preventDefault();
        show(k, { push: true });
      });
      item.append(link);
      return item;
    }),
  );
}

function markStepList() {
  [...$("lesson-steps").children].forEach((item, k) => {
    const link = item.firstElementChild;
    if (k === current) link.setAttribute("aria-current", "step");
    else link.removeAttribute("aria-current");
    const questions = lesson.steps[k].questions;
    const done = questions.length > 0 && questions.every((q) => progress.result(k, q.id) === "right");
    item.classList.toggle("done", done);
  });
}

/** Shows 0-based `step`; `push` adds a history entry (back/next), else the address is replaced. */
function show(step, { push = false } = {}) {
  current = step;
  const data = lesson.steps[step];
  const count = lesson.steps.length;
  const search = searchWithStep(location.search, step);
  if (search !== location.search) {
    if (push) history.pushState(null, "", `${location.pathname}${search}`);
    else history.replaceState(null, "", `${location.pathname}${search}`);
  }
  progress.setStep(step);
  document.title = `${data.title} · ${lesson.title} · Backprop Circuits`;
  $("step-counter").textContent = `Step ${step + 1} of ${count}`;
  $("step-bar").max = count;
  $("step-bar").value = step + 1;
  $("lesson-intro").hidden = step !== 0 || !lesson.intro_html;
  $("step-title").textContent = data.title;
  showProse($("step-prose"), data.html);
  showView(step);
  showQuestions($("step-questions"), step, data.questions, {
    check: (question, given) => checkAnswer(lessonId, { step, question: question.id, ...given }),
    liveLink: currentViewLink,
    lastResult: (question) => progress.result(step, question.id),
    onResult: (question, correct) => {
      progress.record(step, question.id, correct);
      markStepList();
    },
  });
  $("step-prev").disabled = step === 0;
  $("step-next").disabled = step === count - 1;
  $("step-next").textContent = step === count - 1 ? "Last step" : "Next →";
  $("lesson-end").hidden = step !== count - 1;
  markStepList();
  document.getElementById("lesson").dataset.step = String(step + 1);
}

function showError(message) {
  const box = $("lesson-error");
  box.hidden = false;
  box.textContent = message;
}

async function start() {
  try {
    lesson = await fetchLesson(lessonId);
  } catch (error) {
    if (isAbort(error)) return;
    showError(error.status === 404 ? `There is no lesson “${lessonId}”.` : `The lesson did not load: ${error.message}`);
    $("lesson").setAttribute("aria-busy", "false");
    return;
  }
  $("lesson-title").textContent = lesson.title;
  $("lesson-source").textContent = lesson.source ? `Follows the course notes: ${lesson.source}` : "";
  showProse($("lesson-intro"), lesson.intro_html);
  showStepList();
  const saved = Math.min(Math.max(progress.step(), 0), lesson.steps.length - 1);
  show(stepFromSearch(location.search, lesson.steps.length) ?? saved);
  $("step-prev").addEventListener("click", () => show(current - 1, { push: true }));
  $("step-next").addEventListener("click", () => show(current + 1, { push: true }));
  window.addEventListener("popstate", () => {
    const step = stepFromSearch(location.search, lesson.steps.length);
    if (step !== null && step !== current) show(step);
  });
  $("lesson").setAttribute("aria-busy", "false");
}

start();
