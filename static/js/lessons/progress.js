/** A student's progress, kept in this browser (localStorage): per lesson, the step last shown and each question's last check. */

const KEY = "bpc-lessons-v1";

// Storage can be missing or refused (a private window, a third-party iframe): progress then lasts
// as long as the page, and nothing else changes.
function load(storage) {
  try {
    const parsed = JSON.parse(storage?.getItem(KEY) ?? "{}");
    return parsed && typeof parsed === "object" && !Array.isArray(parsed) ? parsed : {};
  } catch {
    return {};
  }
}

function save(storage, all) {
  try {
    storage?.setItem(KEY, JSON.stringify(all));
  } catch {
    // full or refused: keep going with what is in memory
  }
}

const questionKey = (step, question) => `${step}/${question}`;

// Reading window.localStorage itself throws where storage is refused (a sandboxed frame).
function browserStorage() {
  try {
    return globalThis.localStorage ?? null;
  } catch {
    return null;
  }
}

/** The progress of every lesson; `lesson(id)` reads and writes one. */
export function createProgress(storage = browserStorage()) {
  const all = load(storage);
  return {
    lesson(id) {
      const own = () => {
        const entry = all[id];
        if (entry && typeof entry === "object") return entry;
        all[id] = { step: 0, checks: {} };
        return all[id];
      };
      return {
        /** The 0-based step last shown, or 0. */
        step: () => (Number.isInteger(all[id]?.step) ? all[id].step : 0),
        setStep(step) {
          own().step = step;
          save(storage, all);
        },
        /** "right", "wrong" or null: the last check of a question. */
        result: (step, question) => all[id]?.checks?.[questionKey(step, question)] ?? null,
        record(step, question, correct) {
          const entry = own();
          entry.checks = entry.checks && typeof entry.checks === "object" ? entry.checks : {};
          entry.checks[questionKey(step, question)] = correct ? "right" : "wrong";
          save(storage, all);
        },
        /** How many questions were last checked right. */
        rightCount: () => Object.values(all[id]?.checks ?? {}).filter((r) => r === "right").length,
        started: () => id in all,
      };
    },
  };
}
