import type { Page } from 'playwright-core';

/** Options of {@link infiniteScroll}. */
export interface InfiniteScrollOptions {
  /** Most scrolls to the bottom. Default 50. */
  maxScrolls?: number;
  /** How long the document must not grow after a scroll for the list to count as ended, in ms. Default 1000. */
  idleMs?: number;
  /** Stops scrolling (rejects with its reason). */
  signal?: AbortSignal;
}

/** What {@link infiniteScroll} did. */
export interface InfiniteScrollResult {
  /** Scrolls to the bottom that loaded something new. */
  scrolls: number;
  /** `no-new-content`: a scroll brought nothing within idleMs; `cap`: maxScrolls were done. */
  reason: 'no-new-content' | 'cap';
}

// One scroll in the page: jump to the bottom, then resolve true as soon as the document's height
// or element count exceeds what it was before, false after idleMs without growth. Polls every
// 25 ms with the original setTimeout the settle script saved when it is there (so the poll is
// never counted as the page's own pending work).
const SCROLL_ONCE = `(idleMs) => new Promise((resolve) => {
  const root = document.scrollingElement || document.documentElement;
  const size = () => [root.scrollHeight, document.getElementsByTagName('*').length];
  const [h0, n0] = size();
  window.scrollTo(0, root.scrollHeight);
  root.scrollTop = root.scrollHeight;
  window.dispatchEvent(new Event('scroll'));
  const start = performance.now();
  const later = (window.__trawlSettle && window.__trawlSettle.setTimeout) || setTimeout;
  (function check() {
    const [h, n] = size();
    if (h > h0 || n > n0) return resolve(true);
    if (performance.now() - start >= idleMs) return resolve(false);
    later.call(window, check, 25);
  })();
})`;

/**
 * Scrolls `page` to the bottom again and again, as a reader of an infinite list would, until a
 * scroll brings no new content — neither the document height nor its element count grows
 * within `idleMs` — (`reason: 'no-new-content'`) or `maxScrolls` scrolls loaded something
 * (`reason: 'cap'`). Each scroll fires a `scroll` event (pages listening for it load the next
 * batch) and returns as soon as the page grew, so a fast list costs no fixed wait per batch; only
 * the last, empty scroll waits the full `idleMs`. `maxScrolls` 0 does nothing. Rejects with
 * `signal.reason` when `signal` aborts (checked between scrolls and while one is pending), and
 * with Playwright's error when the page closes or navigates away.
 */
export async function infiniteScroll(
  page: Page,
  opts: InfiniteScrollOptions = {},
): Promise<InfiniteScrollResult> {
  const maxScrolls = Math.max(0, Math.floor(opts.maxScrolls ?? 50));
  const idleMs = Math.max(0, opts.idleMs ?? 1000);
  const signal = opts.signal;
  let scrolls = 0;
  while (scrolls < maxScrolls) {
    signal?.throwIfAborted();
    const step = page.evaluate(`(${SCROLL_ONCE})(${idleMs})`) as Promise<boolean>;
    const grew = signal === undefined ? await step : await abortable(step, signal);
    if (!grew) return { scrolls, reason: 'no-new-content' };
    scrolls++;
  }
  return { scrolls, reason: 'cap' };
}

function abortable<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  p.catch(() => {}); // may reject after the abort won
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}
