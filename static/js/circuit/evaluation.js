/** The circuit page's request: the body a view state asks for, and an evaluation that corrects guessed input names. */

import { isAbort } from "../common/api.js";
import { guessInputNames } from "./editor.js";

export const DEFAULT_INPUT = 1;

/** The evaluate request for a state: the input names are guessed here, unknown ones start at DEFAULT_INPUT. */
export function requestBody(state) {
  const values = {};
  for (const name of guessInputNames(state.expression)) values[name] = name in state.inputs ? state.inputs[name] : DEFAULT_INPUT;
  // no echo of the expression: the page has it (model.js readAnswer takes it), and it was about a sixth of the answer
  const body = { expression: state.expression, inputs: values, output_grad: state.outputGrad, tie_break: state.tieBreak, format: "compact", compact_version: 2, echo_expression: false };
  if (state.gradcheck) body.gradcheck = true;
  return body;
}

/** Two states with the same key ask for the same answer. */
export const requestKey = (state) => JSON.stringify(requestBody(state));

function fixInputs(body, problem, known) {
  if (problem.type === "missing_input") {
    for (const name of problem.names) body.inputs[name] = known[name] ?? DEFAULT_INPUT;
    return true;
  }
  if (problem.type === "unused_input") {
    for (const name of problem.names) delete body.inputs[name];
    return true;
  }
  return false;
}

/**
 * Evaluates `body` (changing its inputs in place): the names were guessed on this side, so when the
 * server names a missing or unused input, the guess is corrected and the request sent again, at
 * most twice. `knownInputs()` gives the values the page holds for names it did not send.
 */
export async function evaluateCorrecting(evaluator, body, knownInputs) {
  for (let attempt = 0; ; attempt++) {
    try {
      return await evaluator.evaluate(body);
    } catch (err) {
      const problem = err.detail && err.detail[0];
      const named = problem && Array.isArray(problem.names);
      if (isAbort(err) || attempt >= 2 || !named || !fixInputs(body, problem, knownInputs())) throw err;
    }
  }
}
