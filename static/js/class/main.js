/** The teacher's live class page: start a class, show its code, push views and questions, watch the answers arrive, reveal, download and end. */
import { answersCsv, classCall } from "./api.js";
import { followEvents } from "./events.js";
import { correctLine, histogramRows } from "./tally.js";

const $ = (id) => document.getElementById(id);
// The teacher token lives in this tab's sessionStorage only: it is in no link, so nothing the
// teacher projects or shares can carry it to a student.
const KEPT = "bpc-class-teacher";
let session = null; // {class_id, code, teacher_token}
let asked = null; // the question asked now, with its key (the teacher's events carry it)
let following = null;
let joined = null; // seats taken, from the teacher's `joined` events
let answered = 0; // students who answered the question asked now

function showCounts() {
  $("joined").textContent = `${joined ?? 0} joined`;
  $("answered").textContent = joined === null ? `${answered} answered` : `${answered} of ${joined} answered`;
}

function say(text) {
  $("class-error").textContent = text;
}

function keep(value) {
  session = value;
  try {
    if (value) sessionStorage.setItem(KEPT, JSON.stringify(value));
    else sessionStorage.removeItem(KEPT);
  } catch {
    // storage refused (a private window): the class still runs, a reload just loses it
  }
}

function kept() {
  try {
    return JSON.parse(sessionStorage.getItem(KEPT) || "null");
  } catch {
    return null;
  }
}

function showTally(tally) {
  const rows = tally ? histogramRows(tally, asked) : [];
  const most = Math.max(1, ...rows.map((row) => row.count));
  answered = tally ? tally.answered : 0;
  showCounts();
  $("correct").textContent = tally ? correctLine(tally) : "";
  $("histogram").replaceChildren(
    ...rows.map((row) => {
      const item = document.createElement("li");
      item.dataset.answer = row.label;
      item.dataset.count = String(row.count);
      const label = document.createElement("span");
      label.className = "bar-label";
      label.textContent = row.label;
      const bar = document.createElement("progress");
      bar.max = most;
      bar.value = row.count;
      const count = document.createElement("span");
      count.className = "bar-count";
      count.textContent = String(row.count);
      item.append(label, bar, count);
      if (row.names) {
        const names = document.createElement("span");
        names.className = "bar-names";
        names.textContent = row.names.map((name) => name || "(no name)").join(", ");
        item.append(names);
      }
      return item;
    }),
  );
}

function showAsked(view) {
  asked = view.question ?? null;
  $("asked").textContent = asked ? `Asked: ${asked.prompt}` : `Showing ${view.link} (no question)`;
  $("revealed").textContent = "";
  showTally(asked ? { answered: 0, counts: [], correct: null } : null);
  if (asked?.kind === "choice") histogramForEmptyChoice();
}

// A fresh choice question shows every option at 0 before the first answer comes.
function histogramForEmptyChoice() {
  showTally({ answered: 0, counts: asked.options.map((_, k) => ({ answer: k, count: 0 })), correct: null });
}

function onEvent(type, data) {
  if (type === "view") showAsked(data);
  else if (type === "tally") showTally(data);
  else if (type === "joined") {
    joined = data.joined;
    showCounts();
  }
  else if (type === "names") {
    $("show-names").checked = data.show;
    if (data.tally) showTally(data.tally);
  } else if (type === "reveal") {
    const shown = asked?.kind === "choice" && Number.isInteger(data.answer) ? asked.options[data.answer] : data.answer;
    $("revealed").textContent = `Revealed: ${shown ?? "(no answer)"}${data.rule ? ` — ${data.rule}` : ""}`;
  } else if (type === "end") finish("The class has ended.");
}

function onState(state) {
  const words = { live: "Live", reconnecting: "Reconnecting…", refused: "This tab's class token was refused." };
  if (state === "ended") finish("The class has ended.");
  else $("class-status").textContent = words[state] ?? "";
}

function enter(value) {
  keep(value);
  $("class-start").hidden = true;
  $("class-live").hidden = false;
  $("join-code").textContent = value.code;
  joined = null; // until the events say how many
  showCounts();
  $("join-address").textContent = `${location.origin}/join`;
  following = followEvents(value.class_id, value.teacher_token, { onEvent, onState });
}

function finish(text) {
  following?.stop();
  following = null;
  keep(null);
  $("class-live").hidden = true;
  $("class-start").hidden = false;
  say(text);
}

/** The question the form describes, or null; throws an Error naming what is wrong. */
function questionFromForm() {
  const kind = $("q-kind").value;
  if (!kind) return null;
  const prompt = $("q-prompt").value.trim();
  if (!prompt) throw new Error("a question needs its prompt");
  const question = { id: `q${Date.now().toString(36)}`, kind, prompt };
  const keyText = $("q-key").value.trim();
  if (kind === "choice") {
    question.options = $("q-options").value.split("\n").map((o) => o.trim()).filter(Boolean);
    if (keyText) question.answer = Number(keyText) - 1; // typed 1-based, sent as the index
  } else if (keyText) {
    question.answer = Number(keyText);
  }
  if (keyText && !Number.isFinite(question.answer)) throw new Error("the answer key is a number");
  return question;
}

/** A pasted link as the site's own relative link: a full address of this site loses its origin. */
function pageLink(text) {
  const url = new URL(text.trim(), location.origin);
  if (url.origin !== location.origin) throw new Error("the link is a page of this site");
  url.searchParams.delete("embed");
  return `${url.pathname}${url.search}${url.hash}`;
}

async function teacherCall(path, body) {
  return classCall("POST", `/${session.class_id}${path}`, { token: session.teacher_token, body });
}

function guarded(action) {
  return async (event) => {
    event?.preventDefault();
    say("");
    try {
      await action();
    } catch (err) {
      say(err.message);
    }
  };
}

function toggleQuestionParts() {
  const kind = $("q-kind").value;
  for (const part of document.querySelectorAll(".q-part")) part.hidden = !kind;
  for (const part of document.querySelectorAll(".q-choice")) part.hidden = kind !== "choice";
}

$("q-kind").addEventListener("change", toggleQuestionParts);
toggleQuestionParts();

$("start-class").addEventListener(
  "click",
  guarded(async () => {
    const started = await classCall("POST", "", { body: {} });
    enter({ class_id: started.class_id, code: started.code, teacher_token: started.teacher_token });
  }),
);

$("push-form").addEventListener(
  "submit",
  guarded(async () => {
    const body = { link: pageLink($("push-link").value) };
    const question = questionFromForm();
    if (question) body.question = question;
    await teacherCall("/push", body);
    $("class-status").textContent = "Pushed.";
  }),
);

$("show-names").addEventListener(
  "change",
  guarded(async () => {
    await teacherCall("/names", { show: $("show-names").checked });
  }),
);

$("reveal-form").addEventListener(
  "submit",
  guarded(async () => {
    const rule = $("reveal-rule").value.trim();
    await teacherCall("/reveal", rule ? { rule } : {});
  }),
);

$("download-csv").addEventListener(
  "click",
  guarded(async () => {
    const text = await answersCsv(session.class_id, session.teacher_token);
    const link = document.createElement("a");
    link.href = URL.createObjectURL(new Blob([text], { type: "text/csv" }));
    link.download = `class-${session.code}.csv`;
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(link.href), 10_000);
  }),
);

$("end-class").addEventListener(
  "click",
  guarded(async () => {
    await teacherCall("/end", undefined);
    finish("The class has ended and its answers are deleted.");
  }),
);

const resumed = kept();
if (resumed?.class_id && resumed?.teacher_token) enter(resumed);
