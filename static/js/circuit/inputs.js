/** The inputs table: a number field and a slider per scalar input; nested lists (tensors) as JSON text. */

function sliderRange(v) {
  const span = Math.max(5, Math.abs(v));
  return { min: Math.floor(v - span), max: Math.ceil(v + span) };
}

export class InputsTable {
  constructor(tbody, { onChange }) {
    this.tbody = tbody;
    this.onChange = onChange;
    this.names = [];
    this.fields = new Map();
  }

  /** Rebuilds the rows when the set of names changes, otherwise only updates the numbers. */
  show(names, values) {
    if (names.join("\u0000") !== this.names.join("\u0000")) this.build(names);
    for (const name of names) this.setValue(name, values[name]);
  }

  build(names) {
    this.names = [...names];
    this.fields.clear();
    const fragment = document.createDocumentFragment();
    names.forEach((name, i) => {
      const row = document.createElement("tr");
      const th = document.createElement("th");
      th.scope = "row";
      const label = document.createElement("label");
      label.htmlFor = `input-${i}`;
      label.textContent = name;
      th.appendChild(label);
      row.appendChild(th);

      const numberCell = document.createElement("td");
      const number = document.createElement("input");
      number.id = `input-${i}`;
      number.type = "text";
      number.inputMode = "decimal";
      number.className = "input-number";
      number.spellcheck = false;
      numberCell.appendChild(number);
      row.appendChild(numberCell);

      const sliderCell = document.createElement("td");
      const slider = document.createElement("input");
      slider.type = "range";
      slider.step = "0.01";
      slider.setAttribute("aria-label", `${name} slider`);
      sliderCell.appendChild(slider);
      row.appendChild(sliderCell);

      number.addEventListener("input", () => {
        const text = number.value.trim();
        let value;
        try {
          value = text.startsWith("[") ? JSON.parse(text) : Number(text.replace("−", "-"));
        } catch {
          value = NaN;
        }
        const ok = Array.isArray(value) || (text !== "" && Number.isFinite(value));
        number.setAttribute("aria-invalid", ok ? "false" : "true");
        if (!ok) return;
        if (typeof value === "number") this.placeSlider(slider, value);
        this.onChange(name, value);
      });
      slider.addEventListener("input", () => {
        const value = Number(slider.value);
        number.value = String(value);
        number.setAttribute("aria-invalid", "false");
        this.onChange(name, value, { continuous: true }); // one step of a drag
      });
      // the drag's end: its value once more, as a settled change (the link is written at once)
      slider.addEventListener("change", () => this.onChange(name, Number(slider.value)));
      this.fields.set(name, { number, slider });
      fragment.appendChild(row);
    });
    this.tbody.replaceChildren(fragment);
  }

  placeSlider(slider, v) {
    if (!(v >= Number(slider.min) && v <= Number(slider.max)) || slider.dataset.placed !== "1") {
      const { min, max } = sliderRange(v);
      slider.min = String(min);
      slider.max = String(max);
      slider.dataset.placed = "1";
    }
    if (slider.value !== String(v)) slider.value = String(v);
  }

  setValue(name, value) {
    const field = this.fields.get(name);
    if (!field) return;
    const tensor = Array.isArray(value);
    field.slider.hidden = tensor;
    const text = tensor ? JSON.stringify(value) : String(value);
    // unchanged fields are not written: a slider drag redraws every row many times a second
    if (document.activeElement !== field.number && field.number.value !== text) field.number.value = text;
    if (!tensor && Number.isFinite(value) && document.activeElement !== field.slider) {
      this.placeSlider(field.slider, value);
    }
  }
}
