import type { CrawlOptions } from './crawl-options.js';
import { readCookiesTxt } from './fetch/cookies-txt.js';
import { headerProblem } from './fetch/header-rules.js';
import { parseProxyUrl, proxyEnv } from './fetch/proxy-url.js';
import { UsageError } from './usage-error.js';

// The checks of the identity options of a crawl (headers, cookies, sessions, proxies), apart
// from options.ts so that their rules and their care with secrets live in one place. Every
// message is one line naming the flag, and none contains a header value, a cookie or a proxy
// password.

/** The largest `sessions` accepted: each session is a cookie jar (and a proxy slot). */
export const MAX_SESSIONS = 10_000;

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Checks the session options of `o` (defaults already filled), throwing a {@link UsageError}
 * naming the flag of the first problem:
 * - `headers` (`--header`): an object of strings whose names are HTTP tokens, each name once
 *   case-insensitively, values one line (see headerProblem: Host, Content-Length,
 *   Transfer-Encoding, Connection, Keep-Alive, Upgrade and Expect are refused with the reason),
 *   and no `User-Agent` (that is `userAgent`, which is also the robots.txt token);
 * - `cookies` a boolean; `cookieFile` (`--cookies`) a string, refused with `cookies: false`
 *   (a contradiction), then read and parsed (readCookiesTxt: an unreadable or malformed file is
 *   its one-line, line-numbered UsageError); the file is read, never written;
 * - `sessions` an integer from 1 to {@link MAX_SESSIONS}; `sessionBlockCodes` a list of
 *   integers from 100 to 599 (empty: no status blocks a session);
 * - `proxies` (`--proxy`) each parsed with parseProxyUrl (its UsageError, prefixed with
 *   `--proxy` when it does not say so; proxies are shown without credentials); `proxyRotation`
 *   `round-robin` or `session`, and `session` only with proxies (it picks one of them per
 *   session);
 * - without `proxies`, the proxy environment of `env` (HTTP_PROXY, HTTPS_PROXY, NO_PROXY and
 *   their lower-case forms) must parse (proxyEnv), so that a bad variable stops the crawl before
 *   its first request too.
 */
export function checkSessionOptions(o: CrawlOptions, env: NodeJS.ProcessEnv): void {
  checkHeaders(o.headers);
  checkCookies(o);
  const sessions = o.sessions ?? 1;
  if (!Number.isInteger(sessions) || sessions < 1 || sessions > MAX_SESSIONS) {
    throw new UsageError(`--sessions must be an integer from 1 to ${MAX_SESSIONS} (got ${String(sessions)})`);
  }
  const codes: unknown = o.sessionBlockCodes ?? [];
  if (!Array.isArray(codes)) throw new UsageError('--session-block-codes must be a list of HTTP statuses');
  for (const c of codes) {
    if (typeof c !== 'number' || !Number.isInteger(c) || c < 100 || c > 599) {
      throw new UsageError(
        `--session-block-codes: ${JSON.stringify(c)} is not an HTTP status (an integer from 100 to 599)`,
      );
    }
  }
  checkProxies(o, env);
}

function checkHeaders(headers: unknown): void {
  if (headers === undefined) return;
  if (!isRecord(headers)) throw new UsageError("--header: headers must be an object of 'Name': 'value'");
  const seen = new Map<string, string>();
  for (const [name, value] of Object.entries(headers)) {
    if (typeof value !== 'string') {
      // The name is only shown once it is known to be a valid one.
      const problem = headerProblem(name, '');
      throw new UsageError(`--header: ${problem ?? `the value of ${name} must be a string`}`);
    }
    const problem = headerProblem(name, value);
    if (problem !== null) throw new UsageError(`--header: ${problem}`);
    const lower = name.toLowerCase();
    if (lower === 'user-agent') {
      throw new UsageError(
        '--header: User-Agent cannot be set here: use --user-agent (it is also the robots.txt token)',
      );
    }
    const before = seen.get(lower);
    if (before !== undefined) {
      throw new UsageError(
        `--header: ${name} given twice (as ${before} and ${name}): give it once, values joined with ", "`,
      );
    }
    seen.set(lower, name);
  }
}

function checkCookies(o: CrawlOptions): void {
  if (o.cookies !== undefined && typeof o.cookies !== 'boolean') {
    throw new UsageError(`--cookies: cookies must be true or false (got ${typeof o.cookies})`);
  }
  if (o.cookieFile === undefined) return;
  if (typeof o.cookieFile !== 'string' || o.cookieFile === '') {
    throw new UsageError('--cookies needs a file name');
  }
  if (o.cookies === false) {
    throw new UsageError(
      '--cookies FILE and --no-cookies contradict each other: importing cookies needs the cookie jar',
    );
  }
  readCookiesTxt(o.cookieFile);
}

function checkProxies(o: CrawlOptions, env: NodeJS.ProcessEnv): void {
  const proxies: unknown = o.proxies ?? [];
  if (!Array.isArray(proxies)) throw new UsageError('--proxy: proxies must be a list of proxy URLs');
  for (const p of proxies) {
    if (typeof p !== 'string') throw new UsageError('--proxy: each proxy must be a URL string');
    try {
      parseProxyUrl(p);
    } catch (err) {
      if (!(err instanceof UsageError)) throw err;
      throw err.message.startsWith('--proxy') ? err : new UsageError(`--proxy: ${err.message}`);
    }
  }
  const rotation = o.proxyRotation ?? 'round-robin';
  if (rotation !== 'round-robin' && rotation !== 'session') {
    throw new UsageError(`--proxy-rotation must be round-robin or session (got ${JSON.stringify(rotation)})`);
  }
  if (rotation === 'session' && proxies.length === 0) {
    throw new UsageError('--proxy-rotation session needs --proxy (it gives each session one of the proxies)');
  }
  if (proxies.length === 0) proxyEnv(env);
}
