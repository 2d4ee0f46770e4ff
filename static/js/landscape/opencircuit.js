/** "Open as circuit": the example and scope controls, why it is unavailable, and what its max gates do at this W. */
import { setProp } from "../common/writes.js";

/**
 * The example shown: the one chosen (cex, kept when it is in range) or the server's pick at
 * this W (offer.example, the first with a max gate routing 0).
 */
export function chosenExample(state, offer, n) {
  return state.cex >= 0 && state.cex < n ? state.cex : offer.example;
}

/** Why the button is off for this scope (null: it is on), in the API's plain words. */
export function unavailableReason(offer, scope) {
  if (!offer) return "the loss at this W is not computed yet";
  if (offer.no_circuit_form) return "this loss has no circuit form";
  return scope === "all" ? offer.all_unavailable : offer.example_unavailable;
}

/**
 * What the max gates do, for the chosen example or the whole loss. The server wrote the
 * sentence for its own pick; for another example (or all) it is told from the per-example
 * counts of gates with margin <= 0 (offer.inactive).
 */
export function routingNote(offer, scope, example) {
  if (offer.gates_per_example === 0) return offer.note; // no max gate: true of every example
  if (scope === "example" && example === offer.example) return offer.note;
  const counts = offer.inactive;
  if (!counts) return "the circuit page marks each max gate that routes 0 (margin ≤ 0)";
  const routing = counts.findIndex((count) => count > 0);
  if (scope === "all") {
    const total = counts.reduce((sum, count) => sum + count, 0);
    return total
      ? `${total} max gate(s) have margin ≤ 0 at this W: each routes 0 to its scores`
      : "every margin is active at this W: each max gate passes its gradient on; move W to see a max gate route 0";
  }
  const here = counts[example];
  if (here) {
    return `example ${example}: ${here} of its ${offer.gates_per_example} max gate(s) have margin ≤ 0 at this W, so each routes 0 to its scores`;
  }
  if (routing >= 0) {
    return `every margin of example ${example} is active at this W: each max gate passes its gradient on; pick example ${routing} to see a max gate route 0`;
  }
  return `every margin is active at this W, for example ${example} and every other: each max gate passes its gradient on; move W to see a max gate route 0`;
}

/**
 * Wires the controls beside the button. `open(scope, example)` asks /circuit and goes to the
 * circuit page; `update(lossAnswer, state)` sets what they show from the /loss answer at W (its
 * `circuit` offer), so no request is made until the click.
 */
export function createOpenCircuit({ button, scopeSelect, exampleInput, note, store, open }) {
  let shown = { scope: "example", example: 0, reason: "no data yet" };
  scopeSelect.addEventListener("change", () => store.set({ cscope: scopeSelect.value }, { push: true }));
  exampleInput.addEventListener("input", () => {
    const value = exampleInput.valueAsNumber;
    if (Number.isInteger(value) && value >= 0) store.set({ cex: value }, { push: true });
  });
  button.addEventListener("click", () => {
    if (!shown.reason) open(shown.scope, shown.example);
  });

  function update(loss, state) {
    const offer = loss?.circuit ?? null;
    const n = loss?.n ?? 0;
    const scope = state.cscope;
    const example = offer ? chosenExample(state, offer, n) : 0;
    const reason = unavailableReason(offer, scope);
    shown = { scope, example, reason };
    // each control is written only when it differs (setProp): this runs on every played
    // training step
    setProp(scopeSelect, "value", scope);
    setProp(exampleInput, "max", String(Math.max(n - 1, 0)));
    setProp(exampleInput, "disabled", scope !== "example");
    if (document.activeElement !== exampleInput) setProp(exampleInput, "value", String(example));
    setProp(button, "disabled", Boolean(reason));
    const title = reason
      ? `Unavailable: ${reason}`
      : scope === "all"
        ? "Open the whole loss on the circuit page as its staged expression"
        : `Open example ${example}'s loss L_${example} on the circuit page as its staged expression`;
    const text = reason ? `Open as circuit is unavailable: ${reason}.` : offer ? `${routingNote(offer, scope, example)}.` : "";
    // written only when changed: a played training step redraws every frame
    if (button.title !== title) button.title = title;
    if (note.textContent !== text) note.textContent = text;
    note.classList.toggle("ls-unavailable", Boolean(reason));
    note.dataset.example = scope === "example" ? String(example) : "";
  }
  return { update };
}
