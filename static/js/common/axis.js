/** d3 axes redrawn only when what they show changes: a redraw replaces every tick's text node, which costs a layout even when nothing moved. */

/**
 * Calls `axis` on the selection `g` unless the ticks it would draw (their positions and labels)
 * and the scale's range are the ones already drawn there. Each training step redraws every plot,
 * and most axes stay as they are from step to step.
 */
export function drawAxis(g, axis) {
  const scale = axis.scale();
  const args = axis.tickArguments();
  const values = axis.tickValues() ?? (scale.ticks ? scale.ticks(...args) : scale.domain());
  const format = axis.tickFormat() ?? (scale.tickFormat ? scale.tickFormat(...args) : String);
  const key = JSON.stringify([scale.range(), values.map((v) => [scale(v), format(v)])]);
  const node = g.node();
  if (node.__axisDrawn === key) return;
  node.__axisDrawn = key;
  g.call(axis);
}
