/** The expression editor's helpers: guessing input names before the server answers, and showing errors at their position. */

const TOKEN = /#[^\n]*|(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?|[A-Za-z_][A-Za-z0-9_]*/g;

/**
 * The names an expression reads as inputs, in first-use order: identifiers that are neither
 * called (exp(...)) nor assigned as stages (a = ...). The server's answer is authoritative; this
 * only lets a new variable start with a default value.
 */
export function guessInputNames(expression) {
  // the page asks for the request's key on every input event of a slider drag, with the same
  // expression each time; a 2,000-gate one takes milliseconds to scan
  if (expression !== guessed.expression) guessed = { expression, names: Object.freeze(scanInputNames(expression)) };
  return guessed.names;
}

let guessed = { expression: null, names: Object.freeze([]) };

function scanInputNames(expression) {
  const assigned = new Set();
  for (const statement of expression.split(/[\n;]/)) {
    const m = /^\s*([A-Za-z_][A-Za-z0-9_]*)\s*=(?!=)/.exec(statement);
    if (m) assigned.add(m[1]);
  }
  const names = [];
  for (const m of expression.matchAll(TOKEN)) {
    const word = m[0];
    if (!/^[A-Za-z_]/.test(word)) continue;
    const after = expression.slice(m.index + word.length);
    if (/^\s*\(/.test(after) || /^\s*=(?!=)/.test(after) || assigned.has(word)) continue;
    if (!names.includes(word)) names.push(word);
  }
  return names;
}

/** Shows the server's problem under the editor: "line L, column C: message", and the line with a caret. */
export function showProblem(box, expression, problem) {
  const where = box.querySelector(".error-where");
  const lineText = box.querySelector(".error-line");
  const caret = box.querySelector(".error-caret");
  const message = box.querySelector(".error-message");
  const placed = Number.isInteger(problem.line) && Number.isInteger(problem.col);
  // the API's message starts with its own "line L, col C: " for callers without the fields;
  // here the position is shown once, in words, before the excerpt
  const msg = problem.msg || "error";
  message.textContent = placed ? msg.replace(/^line \d+, col \d+: /, "") : msg;
  if (placed) {
    where.textContent = `Line ${problem.line}, column ${problem.col}:`;
    const line = expression.split("\n")[problem.line - 1] ?? problem.excerpt ?? "";
    lineText.textContent = line;
    caret.textContent = `${" ".repeat(Math.max(0, problem.col - 1))}^`;
    box.querySelector(".error-excerpt").hidden = false;
  } else {
    where.textContent = "";
    box.querySelector(".error-excerpt").hidden = true;
  }
  box.hidden = false;
}

export function hideProblem(box) {
  box.hidden = true;
}

/** Character offset of a 1-based line and column in the text, to put the editor's caret there. */
export function offsetOf(text, line, col) {
  const lines = text.split("\n");
  let offset = 0;
  for (let i = 0; i < line - 1 && i < lines.length; i++) offset += lines[i].length + 1;
  return offset + col - 1;
}
