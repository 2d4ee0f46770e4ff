/** The teacher's histogram from a tally event, without the DOM: one row per option, or per number as shown (4 significant digits), the most given first. */

/** A number as the histogram labels it: 4 significant digits, so 0.33333 and 0.3333 share a bar. */
export function numberLabel(value) {
  return String(Number(Number(value).toPrecision(4)));
}

/**
 * Rows {label, count, names} for `tally` (the API's: counts of each answer) of question `q`
 * (kind, options). A choice keeps its options' order, every option shown even at 0; numbers
 * that read the same once rounded are one row, and rows go by count, then label.
 */
export function histogramRows(tally, q) {
  if (q?.kind === "choice") {
    return tally.counts.map((row) => ({
      label: q.options?.[row.answer] ?? String(row.answer),
      count: row.count,
      names: row.names ?? null,
    }));
  }
  const merged = new Map();
  for (const row of tally.counts) {
    const label = q?.kind === "number" ? numberLabel(row.answer) : String(row.answer);
    const into = merged.get(label) ?? { label, count: 0, names: row.names ? [] : null };
    into.count += row.count;
    if (row.names) into.names.push(...row.names);
    merged.set(label, into);
  }
  const rows = [...merged.values()];
  rows.sort((a, b) => b.count - a.count || (a.label < b.label ? -1 : a.label > b.label ? 1 : 0));
  for (const row of rows) row.names?.sort();
  return rows;
}

/** "2 of 3 correct (67%)", or "" when the question has no key or nobody answered. */
export function correctLine(tally) {
  if (tally.correct === null || tally.correct === undefined || !tally.answered) return "";
  return `${tally.correct} of ${tally.answered} correct (${Math.round(tally.share_correct * 100)}%)`;
}
