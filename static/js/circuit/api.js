/** The circuit page's requests: presets and evaluation, over the shared client (a new evaluation aborts the stale one). */

import { createClient } from "../common/api.js";

const client = createClient();

export async function fetchPresets() {
  const body = await client.get("/presets");
  return body.presets;
}

/** Evaluates circuits on one channel: starting a new evaluation aborts the one still in flight. */
export class Evaluator {
  constructor(api = createClient()) {
    this.api = api;
  }

  evaluate(request) {
    return this.api.post("evaluate", "/circuits/evaluate", request);
  }
}
