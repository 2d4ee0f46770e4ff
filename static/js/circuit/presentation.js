/** Presentation mode for a projector: diagram, controls and caption in large, high-contrast type. */

// What it looks like lives in circuit.css (body.presenting); this module only switches it on and
// off. The state property `present` (state.js) is the one switch, so a link (#...&present=1) opens
// the page presenting and leaving it takes the property out of the link again.

export class Presentation {
  /**
   * `button` enters and leaves; `onChange(on)` asks the page to set the state property;
   * `onShown(on)` runs once the new layout is in place (the page refits the diagram to it).
   */
  constructor(button, { onChange, onShown = () => {} }) {
    this.button = button;
    this.onChange = onChange;
    this.onShown = onShown;
    this.on = false;
    button.addEventListener("click", () => this.onChange(!this.on));
    // Escape leaves (a dialog's own Escape closes the dialog first)
    document.addEventListener("keydown", (ev) => {
      if (!this.on || ev.key !== "Escape" || ev.target.closest?.("dialog")) return;
      ev.preventDefault();
      this.onChange(false);
    });
  }

  /** Shows the page presenting or not (called whenever the state property changes). */
  show(on) {
    on = Boolean(on);
    if (on === this.on) return;
    this.on = on;
    document.body.classList.toggle("presenting", on);
    this.button.setAttribute("aria-pressed", String(on));
    this.button.textContent = on ? "leave presentation (Esc)" : "present";
    // the keys go to the page, not to a focused button, which space would press
    if (on && document.activeElement instanceof HTMLElement) document.activeElement.blur();
    requestAnimationFrame(() => this.onShown(on));
  }
}
