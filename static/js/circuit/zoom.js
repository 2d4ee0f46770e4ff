/** Pan and zoom of the diagram with d3-zoom (from the vendored d3 bundle, loaded as a plain script). */

const MIN_SCALE = 0.05;
const MAX_SCALE = 4;
const FIT_MAX = 1.6;
const READABLE_SCALE = 0.55;
const LABELS_MIN_SCALE = 0.4;
const SYMBOLS_MIN_SCALE = 0.2;

export class ZoomControl {
  constructor(svg, viewport) {
    const d3 = window.d3;
    this.d3 = d3;
    this.svg = d3.select(svg);
    this.behavior = d3
      .zoom()
      .scaleExtent([MIN_SCALE, MAX_SCALE])
      .on("zoom", (event) => {
        viewport.setAttribute("transform", event.transform.toString());
        this.levelOfDetail(event.transform.k);
      });
    this.svg.call(this.behavior);
    this.element = svg;
  }

  /**
   * Labels too small to read are not drawn at all (display: none), which also spares the browser
   * laying out thousands of texts in the overview of a big circuit.
   */
  levelOfDetail(k) {
    this.element.classList.toggle("lod-far", k < LABELS_MIN_SCALE);
    this.element.classList.toggle("lod-tiny", k < SYMBOLS_MIN_SCALE);
  }

  /**
   * Shows the whole circuit centred, enlarged up to FIT_MAX when small, shrunk when big; a small
   * circuit is not shrunk below readable size (pan to see the rest).
   */
  fit(layout, readable = false) {
    const box = this.element.getBoundingClientRect();
    const width = box.width || 800;
    const height = box.height || 400;
    const floor = readable ? READABLE_SCALE : MIN_SCALE;
    const scale = Math.max(floor, Math.min(FIT_MAX, width / layout.width, height / layout.height));
    // centred when it fits; otherwise the output end (right) stays in view
    const x = layout.width * scale > width ? width - layout.width * scale - 8 : (width - layout.width * scale) / 2;
    const y = (height - layout.height * scale) / 2;
    this.svg.call(this.behavior.transform, this.d3.zoomIdentity.translate(x, y).scale(scale));
  }

  by(factor) {
    this.svg.call(this.behavior.scaleBy, factor);
  }
}
