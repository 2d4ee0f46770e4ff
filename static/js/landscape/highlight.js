/** The hovered (or focused) example, shared by the data view, its table and the 1-D plot: transient, never in the store or the URL. */

/**
 * A channel holding one example index or null. `set` tells every subscriber only when the index
 * changes, so a pointer moving over the same example costs nothing; subscribers toggle classes
 * and never redraw or request. A component redrawn from new data reads `get()` to keep the mark.
 */
export function createHighlight() {
  let hot = null;
  const listeners = [];
  return {
    get: () => hot,
    set(i) {
      const next = Number.isInteger(i) ? i : null;
      if (next === hot) return;
      hot = next;
      for (const listener of listeners) listener(hot);
    },
    subscribe(listener) {
      listeners.push(listener);
    },
  };
}
