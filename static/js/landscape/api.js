// Talks to /api/v1/landscape: one channel per kind of request, a newer request aborts the stale one.

const BASE = "/api/v1/landscape";

/** A 4xx answer, carrying the API's `detail` list so the page can say what and where. */
export class ApiError extends Error {
  constructor(status, detail) {
    const first = Array.isArray(detail) && detail.length ? detail[0] : null;
    const where = first && Array.isArray(first.loc) ? ` (at ${first.loc.join(".")})` : "";
    super(first ? `${first.msg}${where}` : `request failed with status ${status}`);
    this.status = status;
    this.detail = detail;
  }
}

/**
 * A client whose `post(channel, path, body)` cancels the previous request on the same channel.
 * `onBusy(count, label)` is told how many requests are in flight, to drive a progress indicator.
 */
export function createClient({ onBusy = () => {}, fetchImpl = (...a) => window.fetch(...a) } = {}) {
  const inflight = new Map();
  function report() {
    const labels = [...inflight.keys()];
    onBusy(labels.length, labels.join(", "));
  }
  async function post(channel, path, body) {
    inflight.get(channel)?.abort();
    const controller = new AbortController();
    inflight.set(channel, controller);
    report();
    try {
      const response = await fetchImpl(`${BASE}${path}`, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(body),
        signal: controller.signal,
      });
      const payload = await response.json().catch(() => null);
      if (!response.ok) throw new ApiError(response.status, payload?.detail);
      return payload;
    } finally {
      if (inflight.get(channel) === controller) inflight.delete(channel);
      report();
    }
  }
  return {
    post,
    abortAll() {
      for (const c of inflight.values()) c.abort();
      inflight.clear();
      report();
    },
  };
}

/** True for the rejection a superseded request ends with; the page ignores it. */
export function isAbort(error) {
  return error?.name === "AbortError";
}
