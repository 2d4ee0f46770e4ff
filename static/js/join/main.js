/** The student's live class page: join with the code, follow the teacher's pushed view in a frame, answer its question and see the reveal. */
import { classCall } from "../class/api.js";
import { followEvents } from "../class/events.js";
import { embeddedLink } from "../lessons/address.js";

const $ = (id) => document.getElementById(id);
// The student's token (their seat) stays in this tab, so a reload keeps the seat.
const KEPT = "bpc-class-student";
let seat = null; // {class_id, student_token}
let pushed = null; // the last view the teacher pushed, shown or not (follow off)
let framed = null; // the link the frame was opened at
let question = null;

function say(text) {
  $("join-error").textContent = text;
}

function keep(value) {
  seat = value;
  try {
    if (value) sessionStorage.setItem(KEPT, JSON.stringify(value));
    else sessionStorage.removeItem(KEPT);
  } catch {
    // storage refused: the seat lasts as long as the page
  }
}

function showFrame() {
  if (!pushed || pushed.link === framed) return;
  framed = pushed.link;
  // a new iframe rather than a new src: a link that differs only in its hash would not reload
  const old = $("class-view");
  const fresh = document.createElement("iframe");
  fresh.id = old.id;
  fresh.className = old.className;
  fresh.title = old.title;
  fresh.src = embeddedLink(pushed.link);
  fresh.dataset.link = pushed.link;
  old.replaceWith(fresh);
  $("join-waiting").hidden = true;
}

function answerFields(q) {
  if (q.kind === "choice") {
    return q.options.map((text, k) => {
      const label = document.createElement("label");
      label.className = "choice";
      const radio = document.createElement("input");
      radio.type = "radio";
      radio.name = "answer";
      radio.value = String(k);
      radio.required = true;
      label.append(radio, ` ${text}`);
      return label;
    });
  }
  const label = document.createElement("label");
  label.textContent = "Your answer ";
  const input = document.createElement("input");
  input.id = "answer-input";
  input.name = "answer";
  input.required = true;
  input.autocomplete = "off";
  if (q.kind === "number") input.inputMode = "decimal";
  label.append(input);
  return [label];
}

function showQuestion(q) {
  question = q ?? null;
  $("question").hidden = !question;
  $("reveal").hidden = true;
  $("answer-sent").textContent = "";
  if (!question) return;
  $("question-prompt").textContent = question.prompt;
  $("answer-fields").replaceChildren(...answerFields(question));
}

function onEvent(type, data) {
  if (type === "view") {
    pushed = data;
    if ($("follow").checked) showFrame();
    showQuestion(data.question);
  } else if (type === "reveal") {
    if (!question || data.question !== question.id) return;
    const shown = question.kind === "choice" && Number.isInteger(data.answer) ? question.options[data.answer] : data.answer;
    $("reveal").textContent = `Answer: ${shown ?? "(none given)"}${data.rule ? ` — ${data.rule}` : ""}`;
    $("reveal").hidden = false;
  } else if (type === "end") finish();
}

function onState(state) {
  const words = { live: "Connected", reconnecting: "Reconnecting…" };
  if (state === "ended") finish();
  else if (state === "refused") {
    keep(null);
    say("This seat is no longer in the class: join again.");
  } else $("join-status").textContent = words[state] ?? "";
}

function finish() {
  keep(null);
  $("join-status").textContent = "";
  say("The class has ended.");
  $("question").hidden = true;
}

function enter(value) {
  keep(value);
  $("join-start").hidden = true;
  $("join-live").hidden = false;
  followEvents(value.class_id, value.student_token, { onEvent, onState });
}

function answerValue() {
  const form = $("answer-form");
  const given = new FormData(form).get("answer");
  if (question.kind === "choice") return Number(given);
  if (question.kind === "number") {
    const value = Number(String(given).trim());
    if (String(given).trim() === "" || !Number.isFinite(value)) throw new Error("the answer is a number");
    return value;
  }
  return String(given);
}

$("join-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  say("");
  try {
    const name = $("join-name").value.trim();
    const body = { code: $("join-code-input").value };
    if (name) body.name = name;
    const joined = await classCall("POST", "/join", { body });
    enter({ class_id: joined.class_id, student_token: joined.student_token });
  } catch (err) {
    say(err.message);
  }
});

$("answer-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  say("");
  try {
    const answer = answerValue();
    await classCall("POST", `/${seat.class_id}/answer`, {
      token: seat.student_token,
      body: { question: question.id, answer },
    });
    $("answer-sent").textContent = "Answer sent (you may change it until the reveal).";
  } catch (err) {
    say(err.message);
  }
});

// Off: the student explores the frame freely; on again: back to the teacher's view.
$("follow").addEventListener("change", () => {
  if ($("follow").checked) {
    framed = null;
    showFrame();
  }
});

const code = new URLSearchParams(location.search).get("code");
if (code) $("join-code-input").value = code;
try {
  const resumed = JSON.parse(sessionStorage.getItem(KEPT) || "null");
  if (resumed?.class_id && resumed?.student_token) enter(resumed);
} catch {
  // nothing kept: the form asks for the code
}
