/** The one API client of both pages: JSON in and out, 4xx answers as ApiError, a newer request on a channel aborts the stale one. */

/** A 4xx answer, carrying the API's `detail` list (always a list) so the page can say what and where. */
export class ApiError extends Error {
  constructor(status, detail) {
    let problems = detail;
    if (!Array.isArray(problems) || problems.length === 0) {
      problems = [{ msg: detail ? String(detail) : `request failed with status ${status}` }];
    }
    const first = problems[0];
    const where = Array.isArray(first.loc) ? ` (at ${first.loc.join(".")})` : "";
    super(`${first.msg}${where}`);
    this.status = status;
    this.detail = problems;
  }
}

/** True for the rejection a superseded request ends with; the pages ignore it. */
export function isAbort(error) {
  return error?.name === "AbortError";
}

async function readJson(response) {
  const payload = await response.json().catch(() => null);
  if (!response.ok) throw new ApiError(response.status, payload?.detail);
  return payload;
}

/**
 * A client for the API under `base`. `post(channel, path, body)` cancels the previous request on the
 * same channel, so a slow stale answer can never overwrite a newer one; `onBusy(count, labels)` is
 * told how many requests are in flight, to drive a progress indicator. `fetchImpl` is looked up at
 * call time (window.fetch by default) so tests can stand in for the network.
 */
export function createClient({ base = "/api/v1", onBusy = () => {}, fetchImpl = (...a) => window.fetch(...a) } = {}) {
  const inflight = new Map();
  function report() {
    const labels = [...inflight.keys()];
    onBusy(labels.length, labels.join(", "));
  }
  async function get(path) {
    return readJson(await fetchImpl(`${base}${path}`));
  }
  async function post(channel, path, body) {
    inflight.get(channel)?.abort();
    const controller = new AbortController();
    inflight.set(channel, controller);
    report();
    try {
      const response = await fetchImpl(`${base}${path}`, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(body),
        signal: controller.signal,
      });
      return await readJson(response);
    } finally {
      if (inflight.get(channel) === controller) inflight.delete(channel);
      report();
    }
  }
  return {
    get,
    post,
    abortAll() {
      for (const c of inflight.values()) c.abort();
      inflight.clear();
      report();
    },
  };
}
