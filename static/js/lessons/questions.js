/** A step's questions: a form per question (a number, a choice, or a task on the live view), its check button and its feedback. */

/** A number the way feedback shows it: at most six significant digits, no trailing zeros. */
export function shown(value) {
  return Number.isFinite(value) ? String(Number(value.toPrecision(6))) : String(value);
}

/** A typed answer as a number ("−4", "-7/6", "0.41"), or null when it is none. */
export function readNumber(text) {
  const clean = text.trim().replace(/\u2212/g, "-");
  const fraction = /^([-+]?\d*\.?\d+)\s*\/\s*([-+]?\d*\.?\d+)$/.exec(clean);
  const value = fraction ? Number(fraction[1]) / Number(fraction[2]) : clean === "" ? NaN : Number(clean);
  return Number.isFinite(value) ? value : null;
}

function element(doc, tag, className, text) {
  const node = doc.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

/** The verdict line for a check's answer. */
export function verdict(question, result) {
  if (question.kind === "task") {
    const moved = Number.isFinite(result.start) && Number.isFinite(result.output)
      ? ` The output went from ${shown(result.start)} to ${shown(result.output)}.`
      : "";
    return `${result.correct ? "Done." : "Not yet."}${moved}`;
  }
  if (result.correct) return "Right.";
  if (result.expected === null || result.expected === undefined) return "Not quite.";
  const expected = question.kind === "choice" ? `“${question.options[result.expected]}”` : shown(result.expected);
  return `Not quite: the answer is ${expected}.`;
}

/**
 * Builds the questions of step `step` into `container`. `check(question, {answer, link})` asks
 * the server and resolves to its answer; `liveLink()` is the live view's link (for tasks);
 * `lastResult(question)` is "right", "wrong" or null from an earlier visit; `onResult(question,
 * correct)` records a check.
 */
export function showQuestions(container, step, questions, { check, liveLink, lastResult, onResult }) {
  const doc = container.ownerDocument;
  container.replaceChildren();
  for (const question of questions) {
    const form = element(doc, "form", "question");
    form.dataset.question = question.id;
    form.dataset.kind = question.kind;
    form.noValidate = true;
    const fieldId = `q-${step}-${question.id}`;
    const prompt = element(doc, "p", "question-prompt", question.prompt);
    prompt.id = `${fieldId}-prompt`;
    form.append(prompt);

    let read;
    if (question.kind === "number") {
      const label = element(doc, "label", "question-answer", "Your answer ");
      const input = element(doc, "input", "answer-number");
      input.type = "text";
      input.inputMode = "decimal";
      input.autocomplete = "off";
      input.spellcheck = false;
      input.setAttribute("aria-describedby", prompt.id);
      label.append(input);
      form.append(label);
      read = () => {
        const value = readNumber(input.value);
        return value === null ? { problem: `“${input.value}” is not a number.` } : { answer: value };
      };
    } else if (question.kind === "choice") {
      const group = element(doc, "fieldset", "question-options");
      group.setAttribute("aria-labelledby", prompt.id);
      question.options.forEach((option, index) => {
        const label = element(doc, "label", "question-option");
        const radio = element(doc, "input");
        radio.type = "radio";
        radio.name = fieldId;
        radio.value = String(index);
        label.append(radio, doc.createTextNode(` ${option}`));
        group.append(label);
      });
      form.append(group);
      read = () => {
        const picked = group.querySelector("input:checked");
        return picked ? { answer: Number(picked.value) } : { problem: "Pick an option first." };
      };
    } else {
      const goal = question.goal === "decrease" ? "down" : "up";
      form.append(element(doc, "p", "question-hint", `Check compares the live view's output with the output this step's view starts at: it should have gone ${goal}.`));
      read = () => {
        const link = liveLink();
        return link ? { link } : { problem: "The live view has not loaded yet." };
      };
    }

    const button = element(doc, "button", "question-check", "Check");
    button.type = "submit";
    const feedback = element(doc, "div", "question-feedback");
    feedback.setAttribute("role", "status");
    const verdictLine = element(doc, "p", "question-verdict");
    const explainLine = element(doc, "p", "question-explain");
    feedback.append(verdictLine, explainLine);
    const before = lastResult(question);
    if (before) {
      form.classList.add(`was-${before}`);
      verdictLine.textContent = before === "right" ? "You answered this right before." : "Your last answer was not right.";
    }
    form.append(button, feedback);

    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const given = read();
      form.classList.remove("right", "wrong", "was-right", "was-wrong");
      if (given.problem) {
        verdictLine.textContent = given.problem;
        explainLine.textContent = "";
        return;
      }
      button.disabled = true;
      form.setAttribute("aria-busy", "true");
      try {
        const result = await check(question, given);
        form.classList.add(result.correct ? "right" : "wrong");
        verdictLine.textContent = verdict(question, result);
        explainLine.textContent = result.explain ? `Why: ${result.explain}` : "";
        onResult(question, result.correct);
      } catch (error) {
        if (error?.name === "AbortError") return;
        verdictLine.textContent = `The check failed: ${error.message}`;
        explainLine.textContent = "";
      } finally {
        button.disabled = false;
        form.removeAttribute("aria-busy");
      }
    });
    container.append(form);
  }
}
