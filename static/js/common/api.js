/** The one API client of both pages: JSON in and out, 4xx answers as ApiError, a newer request on a channel aborts the stale one. */

/** A 4xx answer, carrying the API's `detail` list (always a list) so the page can say what and where. */
export class ApiError extends Error {
  constructor(status, detail) {
    let problems = detail;
    if (!Array.isArray(problems) || problems.length === 0) {
      problems = [{ msg: detail ? String(detail) : `request failed with status ${status}` }];
    }
    const first = problems[0];
    const where = Array.isArray(first.loc) && first.loc.length ? ` (at ${first.loc.join(".")})` : "";
    super(`${first.msg}${where}`);
    this.status = status;
    this.detail = problems;
  }
}

/** True for the rejection a superseded request ends with; the pages ignore it. */
export function isAbort(error) {
  return error?.name === "AbortError";
}

/**
 * The JSON of an answer. A body whose reading was aborted (a newer request on the channel, or the
 * page leaving) rejects with that AbortError, which the pages ignore; a 2xx body that is not JSON is
 * an ApiError, so no caller is ever handed null in place of an answer.
 */
async function readJson(response) {
  let payload = null;
  try {
    payload = await response.json();
  } catch (err) {
    if (isAbort(err)) throw err;
    if (response.ok) throw new ApiError(response.status, `the answer (status ${response.status}) is not JSON`);
  }
  if (!response.ok) throw new ApiError(response.status, payload?.detail);
  return payload;
}

/** Resolves after `seconds`, or rejects with an AbortError when `signal` aborts first. */
function pause(seconds, signal) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(resolve, seconds * 1000);
    signal.addEventListener("abort", () => {
      clearTimeout(timer);
      reject(new DOMException("superseded", "AbortError"));
    });
  });
}

/** The seconds a 429 asks to wait (its Retry-After), or null when it names none. */
function retryAfter(response) {
  const header = response.headers.get("retry-after");
  const seconds = header === null || header.trim() === "" ? NaN : Number(header);
  return Number.isFinite(seconds) && seconds >= 0 ? seconds : null;
}

/**
 * A client for the API under `base`. `post(channel, path, body)` cancels the previous request on the
 * same channel, so a slow stale answer can never overwrite a newer one; `onBusy(count, labels)` is
 * told how many requests are in flight, to drive a progress indicator. `fetchImpl` is looked up at
 * call time (window.fetch by default) so tests can stand in for the network.
 *
 * A 429 (this student's share of the server is used for now) whose Retry-After is at most
 * `maxWaitS` is waited out and the request sent again, up to `retries` times, with `onWait(channel,
 * seconds)` told so the page can say why nothing moves; a newer request on the channel ends the
 * wait. A longer wait, or the last 429, is an ApiError like any 4xx. `sleepImpl` stands in for the
 * wait in tests.
 */
export function createClient({
  base = "/api/v1",
  onBusy = () => {},
  onWait = () => {},
  fetchImpl = (...a) => window.fetch(...a),
  sleepImpl = pause,
  maxWaitS = 5,
  retries = 3,
} = {}) {
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
      for (let attempt = 0; ; attempt += 1) {
        const response = await fetchImpl(`${base}${path}`, {
          method: "POST",
          headers: { "Content-Type": "application/json" },
          body: JSON.stringify(body),
          signal: controller.signal,
        });
        const wait = response.status === 429 ? retryAfter(response) : null;
        if (wait === null || wait > maxWaitS || attempt >= retries) return await readJson(response);
        onWait(channel, wait);
        await sleepImpl(wait, controller.signal);
      }
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
