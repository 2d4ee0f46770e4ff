/** The lessons API, through the shared client: the list, one lesson, and checking one answer. */
import { createClient } from "../common/api.js";

const client = createClient({ base: "/api/v1/lessons" });

/** Every lesson's summary row, sorted by the server (order, then id). */
export async function fetchLessons() {
  return (await client.get("")).lessons;
}

/** One lesson without its answer keys: intro, steps with prose, view and questions. */
export function fetchLesson(id) {
  return client.get(`/${encodeURIComponent(id)}`);
}

/**
 * Checks one answer: `answer` (a number, or the option's index) for number and choice
 * questions, or `link` (the live view's link) for a task. A newer check of the same question
 * aborts an older one still in flight.
 */
export function checkAnswer(id, { step, question, answer = null, link = null }) {
  return client.post(`check:${step}:${question}`, `/${encodeURIComponent(id)}/check`, {
    step,
    question,
    answer,
    link,
  });
}
