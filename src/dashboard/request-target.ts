/** A request target the dashboard can serve: its path, its query and, for absolute-form, its host. */
export interface RequestTarget {
  /** The path, percent-encoded as received after URL parsing (`/`, `/metrics`, `/%zz`). */
  path: string;
  query: URLSearchParams;
  /**
   * The `host[:port]` of an absolute-form target (`GET http://host:port/path`), which RFC 9112
   * §3.2.2 says replaces the Host header; null for the usual origin-form (`GET /path`).
   */
  authority: string | null;
}

const BASE = 'http://dashboard.invalid';

/**
 * Parses an HTTP request target (Node's `req.url`) as an origin server must (RFC 9112 §3.2):
 * origin-form `/path?query`, or absolute-form `http://host/path?query` (sent through proxies; its
 * authority then stands for the Host header). Returns null for anything else, which the dashboard
 * answers with 400 after its host and token checks: a missing target; `*`; a target not starting
 * with `/` (`%zz`, `index.html`); one starting with `//` or `/\` (a URL parser would read those
 * as a network path, `//evil/metrics` meaning host `evil`); an absolute-form target of another
 * scheme or that does not parse (`http://`).
 */
export function parseRequestTarget(raw: string | undefined): RequestTarget | null {
  if (raw === undefined || raw === '') return null;
  if (/^https?:\/\//i.test(raw)) {
    let url: URL;
    try {
      url = new URL(raw);
    } catch {
      return null;
    }
    if (url.host === '') return null;
    return { path: url.pathname, query: url.searchParams, authority: url.host };
  }
  if (raw[0] !== '/' || raw[1] === '/' || raw[1] === '\\') return null;
  let url: URL;
  try {
    url = new URL(raw, BASE);
  } catch {
    return null;
  }
  // Whatever the parser made of it, it must still be a path on this server.
  if (url.origin !== BASE) return null;
  return { path: url.pathname, query: url.searchParams, authority: null };
}
