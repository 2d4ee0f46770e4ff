/** Pan and zoom of the diagram with d3-zoom (from the vendored d3 bundle, loaded as a plain script). */

const MIN_SCALE = 0.05;
const MAX_SCALE = 4;
const FIT_MAX = 1.6;
// Wire labels are 12 px in the drawing (circuit.css); at this scale they are 11 CSS px on screen,
// the smallest a phone reader can take in without zooming.
const LABEL_PX = 12;
export const READABLE_SCALE = 11 / LABEL_PX;
// A circuit is opened at readable size (and panned to follow the active gate) only while that
// costs little panning: at most this many frames wide and high. Bigger ones open whole, as an
// overview (at 60 gates a readable view would show a twentieth of it).
const READABLE_SPAN = 3.5;
const LABELS_MIN_SCALE = 0.4;
const SYMBOLS_MIN_SCALE = 0.2;
const MARGIN = 8; // px kept clear around a box brought into view

export class ZoomControl {
  /**
   * onViewChange(view) gets [k, x, y] after the reader zooms or pans, and null after a fit;
   * onLabels() runs when the zoom first makes wire labels readable (the view draws them then),
   * onSymbols() when it makes the gates' symbols readable.
   */
  constructor(svg, viewport, { onViewChange = () => {}, onLabels = () => {}, onSymbols = () => {} } = {}) {
    const d3 = window.d3;
    this.d3 = d3;
    this.svg = d3.select(svg);
    this.onViewChange = onViewChange;
    this.onLabels = onLabels;
    this.onSymbols = onSymbols;
    this.byReader = false; // the zoom buttons' own moves count as the reader's
    this.element = svg;
    // the frame's size, kept by a ResizeObserver: reading it from the element (as d3's default
    // extent and getBoundingClientRect do) inside a redraw forces the browser to lay out the new
    // drawing there and then, a whole extra layout of a 2,000-gate circuit before its paint
    this.measure();
    new ResizeObserver(([entry]) => {
      const [{ inlineSize: width, blockSize: height }] = entry.borderBoxSize;
      if (width && height) this.size = { width, height };
    }).observe(svg);
    this.behavior = d3
      .zoom()
      .extent(() => {
        const { width, height } = this.frame();
        return [
          [0, 0],
          [width, height],
        ];
      })
      .scaleExtent([MIN_SCALE, MAX_SCALE])
      .on("zoom", (event) => {
        viewport.setAttribute("transform", event.transform.toString());
        this.levelOfDetail(event.transform.k);
      })
      .on("end", (event) => {
        // only a view the reader chose goes into the link; fits and follow-the-gate pans do not
        if (!event.sourceEvent && !this.byReader) return;
        const { k, x, y } = event.transform;
        this.onViewChange([k, x, y].map((v) => Number(v.toFixed(3))));
      });
    this.svg.call(this.behavior);
  }

  /**
   * Labels too small to read are not drawn at all (display: none), which also spares the browser
   * laying out thousands of texts in the overview of a big circuit.
   */
  levelOfDetail(k) {
    this.element.classList.toggle("lod-far", k < LABELS_MIN_SCALE);
    if (k >= LABELS_MIN_SCALE) this.onLabels();
    if (k >= SYMBOLS_MIN_SCALE) this.onSymbols();
    this.element.classList.toggle("lod-tiny", k < SYMBOLS_MIN_SCALE);
  }

  /** Reads the frame's size from the page now (a forced layout when the page has changed): for a
   * frame that has just changed size, before the ResizeObserver has told. */
  measure() {
    const box = this.element.getBoundingClientRect();
    this.size = { width: box.width || 800, height: box.height || 400 };
  }

  /** The frame's size as last laid out (no layout is forced); measure() refreshes it. */
  frame() {
    return this.size;
  }

  /**
   * Shows the whole circuit centred, enlarged up to FIT_MAX when small, shrunk as far as it takes
   * when big. With `readable`, a circuit that would shrink below readable size but is not much
   * bigger than the frame (READABLE_SPAN) stays readable instead: its output end in view, and
   * keepInView then follows the active gate.
   */
  fit(layout, readable = false) {
    const { width, height } = this.frame();
    const whole = Math.min(FIT_MAX, width / layout.width, height / layout.height);
    const small = layout.width * READABLE_SCALE <= READABLE_SPAN * width && layout.height * READABLE_SCALE <= READABLE_SPAN * height;
    const scale = readable && whole < READABLE_SCALE && small ? READABLE_SCALE : Math.max(MIN_SCALE, whole);
    // centred when it fits; otherwise the output end (right) stays in view
    const x = layout.width * scale > width ? width - layout.width * scale - MARGIN : (width - layout.width * scale) / 2;
    const y = layout.height * scale > height ? MARGIN : (height - layout.height * scale) / 2;
    this.set([scale, x, y]);
  }

  /** Sets the view [k, x, y] (from a link). */
  set([k, x, y]) {
    this.svg.call(this.behavior.transform, this.d3.zoomIdentity.translate(x, y).scale(k));
  }

  /** Pans (scale unchanged) so that a laid-out box {x, y, w, h} is inside the frame; no move when it already is. */
  keepInView(box) {
    if (!box) return;
    const { width, height } = this.frame();
    const t = this.d3.zoomTransform(this.element);
    const left = t.applyX(box.x - box.w / 2);
    const right = t.applyX(box.x + box.w / 2);
    const top = t.applyY(box.y - box.h / 2);
    const bottom = t.applyY(box.y + box.h / 2);
    // a box outside the frame comes to its middle, so the next steps' gates are likely in view too
    const dx = left < MARGIN || right > width - MARGIN ? width / 2 - t.applyX(box.x) : 0;
    const dy = top < MARGIN || bottom > height - MARGIN ? height / 2 - t.applyY(box.y) : 0;
    if (dx || dy) this.svg.call(this.behavior.translateBy, dx / t.k, dy / t.k);
  }

  by(factor) {
    this.byReader = true;
    try {
      this.svg.call(this.behavior.scaleBy, factor);
    } finally {
      this.byReader = false;
    }
  }
}
