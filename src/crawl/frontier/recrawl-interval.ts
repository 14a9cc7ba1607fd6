/** --recrawl-after auto: a page's first interval (1 day). */
export const INITIAL_INTERVAL_MS = 86_400_000;
/** --recrawl-after auto: the shortest interval (1 hour), however often the page changes. */
export const MIN_INTERVAL_MS = 3_600_000;
/** --recrawl-after auto: the longest interval (30 days), however long it stays the same. */
export const MAX_INTERVAL_MS = 30 * 86_400_000;

/**
 * A page's next recrawl interval under `--recrawl-after auto`: half the current one when the
 * page changed, double when it did not, kept within [MIN_INTERVAL_MS, MAX_INTERVAL_MS]. A page
 * with no interval yet (null: first fetched, or fetched before recrawls kept one) starts from
 * INITIAL_INTERVAL_MS. The page is due again once this long has passed since it was fetched.
 */
export function nextInterval(current: number | null, changed: boolean): number {
  const base = current ?? INITIAL_INTERVAL_MS;
  const next = changed ? base / 2 : base * 2;
  return Math.min(MAX_INTERVAL_MS, Math.max(MIN_INTERVAL_MS, Math.round(next)));
}
