/** The lesson player's address: the step in `?step=N` (1-based, so a link opens that step), and the live view's links with and without `embed=1`. */

/** The 0-based step a search string names, or null when it names none (or not a whole number in range). */
export function stepFromSearch(search, count) {
  const text = new URLSearchParams(search).get("step");
  if (text === null || !/^\d+$/.test(text.trim())) return null;
  const step = Number(text) - 1;
  return step >= 0 && step < count ? step : null;
}

/** The search string for 0-based `step`, keeping every other parameter (such as embed=1) as it is. */
export function searchWithStep(search, step) {
  const params = new URLSearchParams(search);
  params.set("step", String(step + 1));
  return `?${params.toString()}`;
}

/**
 * A view's link (what the page's address bar holds after its origin: "/#e=..." or
 * "/landscape?view=1d&...") with embed=1 added to its query, before any hash, where the page
 * state lives on the circuit page.
 */
export function embeddedLink(link) {
  const url = new URL(link, "http://lesson.invalid");
  url.searchParams.set("embed", "1");
  return `${url.pathname}${url.search}${url.hash}`;
}

/** The link a view shows now, as the page's own link would read: path, query without embed, hash. */
export function liveLink(location) {
  const url = new URL(`${location.pathname}${location.search}${location.hash}`, "http://lesson.invalid");
  url.searchParams.delete("embed");
  return `${url.pathname}${url.search}${url.hash}`;
}
