/** Talks to the circuit API: presets and evaluation, with aborting of stale requests. */

const BASE = "/api/v1";

/** Raised for 4xx answers; `detail` is the server's list of problems. */
export class ApiError extends Error {
  constructor(status, detail) {
    super(detail && detail[0] ? detail[0].msg : `HTTP ${status}`);
    this.status = status;
    this.detail = Array.isArray(detail) ? detail : [{ msg: String(detail) }];
  }
}

async function readJson(response) {
  let body = null;
  try {
    body = await response.json();
  } catch {
    body = null;
  }
  if (!response.ok) throw new ApiError(response.status, body && body.detail ? body.detail : `HTTP ${response.status}`);
  return body;
}

export async function fetchPresets() {
  const body = await readJson(await fetch(`${BASE}/presets`));
  return body.presets;
}

/**
 * Evaluates a circuit. Starting a new evaluation aborts the one still in flight,
 * so a slow stale answer can never overwrite a newer one.
 */
export class Evaluator {
  constructor() {
    this.controller = null;
  }

  async evaluate(request) {
    if (this.controller) this.controller.abort();
    const controller = new AbortController();
    this.controller = controller;
    try {
      const response = await fetch(`${BASE}/circuits/evaluate`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(request),
        signal: controller.signal,
      });
      return await readJson(response);
    } finally {
      if (this.controller === controller) this.controller = null;
    }
  }
}

export function isAbort(err) {
  return err && err.name === "AbortError";
}
