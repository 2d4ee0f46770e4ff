/** Pan and zoom of the diagram with d3-zoom (from the vendored d3 bundle, loaded as a plain script). */

const MIN_SCALE = 0.05;
const MAX_SCALE = 4;
const FIT_MAX = 1.6;

export class ZoomControl {
  constructor(svg, viewport) {
    const d3 = window.d3;
    this.d3 = d3;
    this.svg = d3.select(svg);
    this.behavior = d3
      .zoom()
      .scaleExtent([MIN_SCALE, MAX_SCALE])
      .on("zoom", (event) => viewport.setAttribute("transform", event.transform.toString()));
    this.svg.call(this.behavior);
    this.element = svg;
  }

  /** Shows the whole circuit centred, enlarged up to FIT_MAX when small, shrunk when big. */
  fit(layout) {
    const box = this.element.getBoundingClientRect();
    const width = box.width || 800;
    const height = box.height || 400;
    const scale = Math.max(MIN_SCALE, Math.min(FIT_MAX, width / layout.width, height / layout.height));
    const x = (width - layout.width * scale) / 2;
    const y = (height - layout.height * scale) / 2;
    this.svg.call(this.behavior.transform, this.d3.zoomIdentity.translate(x, y).scale(scale));
  }

  by(factor) {
    this.svg.call(this.behavior.scaleBy, factor);
  }
}
