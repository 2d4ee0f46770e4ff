/** A page's state store: setting state is the only path to a redraw, every change lands in the URL, [data-state] inputs mirror it. */

import { readParams, writeParams } from "./urlstate.js";
import { setProp } from "./writes.js";

/**
 * A store over a URL-state table, kept in the query ("?…", a history entry per deliberate move) or
 * in the hash ("#…"). Listeners get (state, changed names). Navigating the history (popstate, or
 * hashchange for a hash store) reads the URL again and tells every listener that everything changed.
 */
const LATER_MS = 250;

export function createStore(table, { place = "query", win = window } = {}) {
  const names = new Set(table.map((p) => p.name));
  const readUrl = () => readParams(table, place === "hash" ? win.location.hash : win.location.search);
  // a page framed in a lesson or a slide (?embed=1) keeps its chromeless look in every link it
  // writes; a query store would otherwise drop the key, which is not in its table
  const embedded = new URLSearchParams(win.location.search).get("embed") === "1";
  // a framed page's moves are not the reader's history: a click in a lesson's live view must not
  // take one of the lesson's Back presses, so in a frame every move replaces the address
  // (comparing window references is allowed across origins: this never throws)
  const framed = win.top !== undefined && win.top !== win.self;
  function urlOf(state) {
    const params = writeParams(table, state);
    const { pathname, search } = win.location;
    if (place === "hash") return `${pathname}${search}${params ? `#${params}` : ""}`;
    const query = [embedded ? "embed=1" : "", params].filter(Boolean).join("&");
    return `${pathname}${query ? `?${query}` : ""}`;
  }
  let state = readUrl();
  const listeners = [];
  // A continuous change (a slider being dragged) writes the URL at most every LATER_MS: each
  // history.replaceState costs a few ms, and a drag sends one change per frame.
  let lateTimer = null;
  function writeNow() {
    clearTimeout(lateTimer);
    lateTimer = null;
    const url = urlOf(state);
    const now = `${win.location.pathname}${win.location.search}${win.location.hash}`;
    if (url !== now) win.history.replaceState(null, "", url);
  }
  function emit(changed) {
    for (const fn of listeners) fn(state, changed);
  }
  win.addEventListener(place === "hash" ? "hashchange" : "popstate", () => {
    state = readUrl();
    emit(new Set(names));
  });
  return {
    get: () => state,
    /** The page's own address for the current state: what a copied link holds. */
    url: () => urlOf(state),
    subscribe(fn) {
      listeners.push(fn);
    },
    /**
     * Merges a patch; pushes a history entry when `push` (a deliberate move), else replaces the URL:
     * at once, or, with `later` (one step of a continuous change), within LATER_MS; any set without
     * `later`, changed or not, writes a pending URL at once (a slider's release).
     */
    set(patch, { push = false, later = false } = {}) {
      const changed = new Set();
      for (const [key, value] of Object.entries(patch)) {
        if (!names.has(key)) throw new Error(`unknown state property ${key}`);
        if (JSON.stringify(state[key]) !== JSON.stringify(value)) changed.add(key);
      }
      if (changed.size === 0) {
        if (!later && lateTimer !== null) writeNow();
        return;
      }
      state = { ...state, ...patch };
      if (push && !framed) {
        clearTimeout(lateTimer);
        lateTimer = null;
        win.history.pushState(null, "", urlOf(state));
      } else if (later) {
        lateTimer ??= setTimeout(writeNow, LATER_MS);
      } else writeNow();
      emit(changed);
    },
  };
}

function readInput(input) {
  if (input.type === "checkbox") return input.checked;
  if (input.type === "number" || input.type === "range") {
    const v = input.valueAsNumber;
    return Number.isFinite(v) ? v : null;
  }
  return input.value;
}

/**
 * Binds every input in `inputs` (each with data-state="<property>") to the store. Selects, checkboxes
 * and radios commit at once; typed fields commit after `delay` ms of quiet (0: at every keystroke).
 * `parse[name](value)` turns a field's text into the property's value, or null to wait for more.
 * Returns sync(state), which mirrors the state into the inputs, skipping the one being typed in.
 */
export function bindInputs(inputs, store, { delay = 0, parse = {} } = {}) {
  const timers = new Map();
  function commit(input) {
    const name = input.dataset.state;
    if (input.type === "radio") {
      if (input.checked) store.set({ [name]: input.value });
      return;
    }
    let value = readInput(input);
    if (value !== null && parse[name]) value = parse[name](value);
    if (value === null) return; // half-typed: wait for more
    const integer = input.step === "1";
    store.set({ [name]: integer ? Math.round(value) : value });
  }
  for (const input of inputs) {
    const immediate = input.tagName === "SELECT" || input.type === "checkbox" || input.type === "radio";
    input.addEventListener(immediate ? "change" : "input", () => {
      if (immediate || delay === 0) return commit(input);
      clearTimeout(timers.get(input));
      timers.set(input, setTimeout(() => commit(input), delay));
      return undefined;
    });
  }
  // called on every redraw (each played training step): a control is written only when it
  // differs (setProp)
  return function sync(state) {
    for (const input of inputs) {
      const value = state[input.dataset.state];
      if (input.type === "radio") setProp(input, "checked", input.value === value);
      else if (input.type === "checkbox") setProp(input, "checked", Boolean(value));
      else if (input.ownerDocument.activeElement !== input && String(value) !== input.value) input.value = String(value);
    }
  };
}
