/** What each descent strategy's one number (the API's `step_size`, the link's `lr`) means, for its label and tooltip. */

// Random search has no step: the number scales the random W itself (or, locally, the random step
// added to W), so calling it a step size would mislead.
const MEANINGS = {
  random_search: {
    label: "scale of the random W",
    title: "Each step draws a whole new W = scale · N(0, 1) and keeps the best W so far.",
  },
  random_local_search: {
    label: "scale of the random step",
    title: "Each step tries W + scale · N(0, 1) and keeps it only if the loss drops.",
  },
};
const STEP_SIZE = {
  label: "step size",
  title: "The learning rate: each step does W -= step size · dL/dW.",
};

/** {label, title} of the strategy's `lr` number. */
export function stepParameter(method) {
  return MEANINGS[method] ?? STEP_SIZE;
}
