import type { FetchError } from './errors.js';

/**
 * HTTP statuses worth retrying: 408 Request Timeout, 425 Too Early, 429 Too Many Requests and the
 * transient 5xx (500, 502, 503, 504). Other 4xx are the page's answer; 501/505+ will not change.
 */
export const RETRYABLE_STATUSES: readonly number[] = [408, 425, 429, 500, 502, 503, 504];

/** The longest Retry-After parseRetryAfter returns (1 day): beyond that a value is treated as "a day". */
export const MAX_RETRY_AFTER_MS = 86_400_000;

/**
 * Whether another attempt may succeed. For a status: true exactly for RETRYABLE_STATUSES. For a
 * FetchError: true for the transient kinds 'timeout', 'network', 'reset', 'refused', 'proxy' (a server
 * restarting refuses for a moment), and 'render' (a tab that crashed or a page that did not settle
 * in time may render on the next try); for 'dns' only when the code is EAI_AGAIN (a resolver hiccup;
 * ENOTFOUND is an answer: the name does not exist); for 'http' when its status is retryable.
 * False for 'tls', 'too-large', 'decode', 'bad-url', 'aborted' and the redirect kinds: retrying
 * returns the same result.
 */
export function isRetryable(statusOrError: number | FetchError): boolean {
  if (typeof statusOrError === 'number') return RETRYABLE_STATUSES.includes(statusOrError);
  switch (statusOrError.kind) {
    case 'timeout':
    case 'network':
    case 'reset':
    case 'refused':
    case 'proxy':
    case 'render':
      return true;
    case 'dns':
      return statusOrError.code === 'EAI_AGAIN';
    case 'http':
      return statusOrError.status !== undefined && RETRYABLE_STATUSES.includes(statusOrError.status);
    default:
      return false;
  }
}

/** Parameters of the exponential backoff. */
export interface BackoffOptions {
  /** Delay ceiling before jitter for attempt 1, in ms. Default 500. */
  baseMs?: number;
  /** Largest ceiling, in ms. Default 30000. */
  capMs?: number;
  /** Uniform random source in [0, 1). Default Math.random. */
  random?: () => number;
}

/**
 * The wait before retry number `attempt` (1 = the wait after the first failure), with full jitter:
 * `random() * min(capMs, baseMs * 2 ** (attempt - 1))`, floored to whole ms. Full jitter spreads
 * retries of many workers that failed together (AWS architecture blog, "Exponential Backoff and
 * Jitter"). An attempt below 1 is treated as 1. The result is in [0, capMs).
 */
export function backoffMs(attempt: number, opts: BackoffOptions = {}): number {
  const base = opts.baseMs ?? 500;
  const cap = opts.capMs ?? 30_000;
  const random = opts.random ?? Math.random;
  const n = Math.max(1, Math.floor(attempt));
  // 2 ** n overflows to Infinity for huge n, and min() then picks the cap: no special case needed.
  const ceiling = Math.min(cap, base * 2 ** (n - 1));
  return Math.floor(random() * ceiling);
}

const IMF_FIXDATE = /^[A-Za-z]{3}, \d{2} [A-Za-z]{3} \d{4} \d{2}:\d{2}:\d{2} GMT$/;
const RFC850_DATE = /^[A-Za-z]{6,9}, \d{2}-[A-Za-z]{3}-\d{2} \d{2}:\d{2}:\d{2} GMT$/;
const ASCTIME_DATE = /^[A-Za-z]{3} [A-Za-z]{3} [ \d]\d \d{2}:\d{2}:\d{2} \d{4}$/;

/**
 * Parses a Retry-After header value relative to `nowMs` (epoch ms) into a delay in ms.
 * Accepted forms (RFC 9110 §10.2.3): delta-seconds (digits only, e.g. `120`), and an HTTP-date in
 * IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`) or one of the obsolete forms recipients must
 * accept, RFC 850 (`Sunday, 06-Nov-94 08:49:37 GMT`) and asctime (`Sun Nov  6 08:49:37 1994`, read
 * as UTC). Surrounding whitespace is ignored. A date in the past (or now) gives 0. Results above
 * MAX_RETRY_AFTER_MS (1 day) are clamped to it. Absent, empty, negative numbers, fractions and any
 * other text give null ("no usable Retry-After").
 */
export function parseRetryAfter(value: string | undefined | null, nowMs: number): number | null {
  if (value === undefined || value === null) return null;
  const v = value.trim();
  if (v === '') return null;
  if (/^\d+$/.test(v)) return Math.min(Number(v) * 1000, MAX_RETRY_AFTER_MS);
  let at: number;
  if (IMF_FIXDATE.test(v) || RFC850_DATE.test(v)) at = Date.parse(v);
  else if (ASCTIME_DATE.test(v)) at = Date.parse(`${v} GMT`);
  else return null;
  if (Number.isNaN(at)) return null;
  return Math.min(Math.max(0, at - nowMs), MAX_RETRY_AFTER_MS);
}

/** Options of retryDelay: the backoff parameters plus a ceiling on server-requested waits. */
export interface RetryDelayOptions extends BackoffOptions {
  /** Largest Retry-After honoured, in ms; longer requests are clamped to it. Default 120000. */
  maxRetryAfterMs?: number;
}

/**
 * The wait before retry number `attempt` after `outcome` (a response or FetchError; anything with
 * an optional `retryAfterMs`). A Retry-After the server sent wins (clamped to maxRetryAfterMs,
 * default 2 minutes: a polite crawler waits, but not for hours); otherwise backoffMs(attempt).
 * `nowMs` is unused when retryAfterMs is already a delay; it is accepted so that callers holding a
 * raw header can pass `{ retryAfter: '...' }` instead and have it parsed against their clock.
 */
export function retryDelay(
  attempt: number,
  outcome: { retryAfterMs?: number | null; retryAfter?: string | null } | null | undefined,
  nowMs: number,
  opts: RetryDelayOptions = {},
): number {
  const max = opts.maxRetryAfterMs ?? 120_000;
  let ra = outcome?.retryAfterMs ?? null;
  if (ra === null && outcome?.retryAfter != null) ra = parseRetryAfter(outcome.retryAfter, nowMs);
  if (ra !== null) return Math.min(ra, max);
  return backoffMs(attempt, opts);
}

/** What one attempt at a page came to, as the retry policy sees it. */
export type AttemptOutcome =
  /** A response arrived. `waitMs`: a pause the host's politeness already chose (429/503). */
  | { kind: 'response'; status: number; retryAfterMs?: number | null; waitMs?: number }
  /** No response: the request failed. */
  | { kind: 'error'; error: FetchError }
  /**
   * robots.txt could not be fetched (network error or 5xx): the page may not be fetched for now
   * and the attempt counts as failed with `error` (e.g. `network: connection refused`).
   */
  | { kind: 'robots-unreachable'; error: string; retryable: boolean }
  /** The page was fetched but the scraper's handler failed on it with `error` (`handler: …`). */
  | { kind: 'handler'; error: string; retryable: boolean }
  /** The scraper's login failed for the session the page was to use (`login: …`); no request was made for the page. */
  | { kind: 'login'; error: string; retryable: boolean };

/** The retry policy's answer for one attempt. */
export type RetryDecision =
  /** Keep the result: store the response (a 4xx/5xx is stored as the page's `http:` error). */
  | { kind: 'ok' }
  /** Try again at `at` (clock ms); `reason` labels the retry metric (the status, or the error kind). */
  | { kind: 'retry'; at: number; reason: string }
  /** Give up: store a failed record with `error`. */
  | { kind: 'fail'; error: string };

/** The retry policy of a crawl: how many retries after the first attempt, and their backoff. */
export interface RetryPolicy extends RetryDelayOptions {
  retries: number;
}

/**
 * Decides what to do after attempt number `attempts` (1 = the first) of a page ended with
 * `outcome`, at clock time `now`. A retry is allowed while `attempts ≤ policy.retries`:
 * - a response: retry a RETRYABLE_STATUSES status at `now + waitMs` when the host's politeness
 *   chose a pause (429/503), else after retryDelay (Retry-After, else backoff); every other
 *   status, and a retryable one out of retries, is 'ok' (stored as the page's answer);
 * - an error: retry an isRetryable one after backoffMs; otherwise (or out of retries) 'fail'
 *   with the error's message;
 * - robots.txt unreachable, or a scraper handler that failed: retry after backoffMs when
 *   `retryable` (the page is fetched again and the handler runs on the new response); otherwise
 *   'fail' with its error.
 * Pure: no clock or randomness besides `policy.random` (backoff jitter).
 */
export function decide(
  outcome: AttemptOutcome,
  attempts: number,
  now: number,
  policy: RetryPolicy,
): RetryDecision {
  const more = attempts <= policy.retries;
  switch (outcome.kind) {
    case 'response': {
      if (!more || !isRetryable(outcome.status)) return { kind: 'ok' };
      const wait = outcome.waitMs ?? retryDelay(attempts, outcome, now, policy);
      return { kind: 'retry', at: now + wait, reason: String(outcome.status) };
    }
    case 'error':
      if (more && isRetryable(outcome.error))
        return { kind: 'retry', at: now + backoffMs(attempts, policy), reason: outcome.error.kind };
      return { kind: 'fail', error: outcome.error.message };
    case 'robots-unreachable':
    case 'handler':
    case 'login':
      if (more && outcome.retryable) {
        const reason = outcome.kind === 'robots-unreachable' ? 'robots' : outcome.kind;
        return { kind: 'retry', at: now + backoffMs(attempts, policy), reason };
      }
      return { kind: 'fail', error: outcome.error };
  }
}
