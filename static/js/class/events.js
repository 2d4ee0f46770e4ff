/**
 * A class's live events read with fetch rather than EventSource: EventSource cannot send the
 * Authorization header, and a token in the events' URL would sit in logs and histories. The
 * text/event-stream is parsed here (id:, event:, data: lines), and a dropped connection is
 * reopened with Last-Event-ID set to the last id seen, so the reader misses nothing.
 */

const RETRY_MS = 1000;

/** The events in `text` that are complete (ended by a blank line), and the rest still to come. */
export function parseEvents(text) {
  const blocks = text.replace(/\r\n?/g, "\n").split("\n\n");
  const rest = blocks.pop();
  const events = [];
  for (const block of blocks) {
    const event = { id: null, type: "message", data: [] };
    for (const line of block.split("\n")) {
      if (line === "" || line.startsWith(":")) continue; // a heartbeat comment
      const colon = line.indexOf(":");
      const field = colon < 0 ? line : line.slice(0, colon);
      const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
      if (field === "id") event.id = value;
      else if (field === "event") event.type = value;
      else if (field === "data") event.data.push(value);
    }
    if (event.data.length) events.push({ id: event.id, type: event.type, data: JSON.parse(event.data.join("\n")) });
  }
  return { events, rest };
}

/**
 * Follows class `classId` with `token` until it ends or `stop()` is called. `onEvent(type, data)`
 * gets each event once, in order; `onState(state)` hears "live", "reconnecting", "ended" or
 * "refused" (the token is not this class's: reconnecting would not help).
 */
export function followEvents(classId, token, { onEvent, onState = () => {} }) {
  let lastId = null;
  let stopped = false;
  let controller = null;

  async function readOnce() {
    controller = new AbortController();
    const headers = { Authorization: `Bearer ${token}`, Accept: "text/event-stream" };
    if (lastId !== null) headers["Last-Event-ID"] = lastId;
    const response = await fetch(`/api/v1/classes/${classId}/events`, { headers, signal: controller.signal });
    if (response.status === 404) return "ended"; // deleted: it ended while we were away
    if (response.status === 401 || response.status === 403) return "refused";
    if (!response.ok || !response.body) return "retry";
    onState("live");
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return "retry";
      const parsed = parseEvents(buffer + value);
      buffer = parsed.rest;
      for (const event of parsed.events) {
        if (event.id !== null) lastId = event.id;
        onEvent(event.type, event.data);
        if (event.type === "end") return "ended";
      }
    }
  }

  (async () => {
    while (!stopped) {
      let outcome;
      try {
        outcome = await readOnce();
      } catch {
        outcome = "retry"; // the connection dropped (or stop() aborted it)
      }
      if (stopped) return;
      if (outcome !== "retry") {
        onState(outcome);
        return;
      }
      onState("reconnecting");
      await new Promise((resolve) => setTimeout(resolve, RETRY_MS));
    }
  })();

  return {
    stop() {
      stopped = true;
      controller?.abort();
    },
  };
}
