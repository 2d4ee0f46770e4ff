/** The lessons list page (/lessons): every lesson from the API, in its order, with this browser's progress in each; the player of one lesson is player.js. */
import { isAbort } from "../common/api.js";
import { fetchLessons } from "./api.js";
import { createProgress } from "./progress.js";

const list = document.getElementById("lessons-list");
const status = document.getElementById("lessons-status");
const progress = createProgress();

function item(row) {
  const own = progress.lesson(row.id);
  const li = document.createElement("li");
  li.className = "lesson-card";
  li.dataset.lesson = row.id;
  const heading = document.createElement("h2");
  const link = document.createElement("a");
  link.href = `/lessons/${encodeURIComponent(row.id)}`;
  link.textContent = row.title;
  heading.append(link);
  const summary = document.createElement("p");
  summary.className = "lesson-summary";
  summary.textContent = row.summary;
  const facts = document.createElement("p");
  facts.className = "lesson-facts";
  const parts = [`${row.steps} step${row.steps === 1 ? "" : "s"}`];
  if (row.source) parts.push(`follows ${row.source}`);
  if (row.origin === "teacher") parts.push("from your teacher");
  facts.textContent = parts.join(" · ");
  li.append(heading, summary, facts);
  if (own.started()) {
    const mine = document.createElement("p");
    mine.className = "lesson-mine";
    const right = own.rightCount();
    mine.textContent = `You are at step ${Math.min(own.step(), row.steps - 1) + 1} of ${row.steps}; ${right} question${right === 1 ? "" : "s"} answered right.`;
    li.append(mine);
  }
  return li;
}

async function start() {
  try {
    const lessons = await fetchLessons();
    list.replaceChildren(...lessons.map(item));
    status.textContent = lessons.length ? "" : "There are no lessons yet.";
  } catch (error) {
    if (isAbort(error)) return;
    status.textContent = `The lessons did not load: ${error.message}`;
  }
  list.setAttribute("aria-busy", "false");
}

start();
