/**
 * trawl's URL normalization: the one canonical string form under which URLs are deduplicated,
 * stored and compared. See {@link normalizeUrl} for the exact rules.
 */
import { globMatcher, type Matcher } from './patterns.js';

/** Options of {@link normalizeUrl}. */
export interface NormalizeOptions {
  /**
   * Query parameters to remove, by name: `*`-globs matched against the whole (already
   * percent-normalized, still encoded) parameter name, case-sensitively, e.g. `utm_*`, `fbclid`.
   */
  stripParams?: readonly string[];
  /** Sort query parameters by name (stable: equal names keep their order). Default false. */
  sortQuery?: boolean;
  /**
   * Remove session identifiers (see {@link stripSessionIds}): servers that see no cookie put a
   * fresh one in every link, an endless URL space for the same pages. Default false.
   */
  stripSessionIds?: boolean;
}

// Session-id rules after iipc/urlcanon's aggressive canonicalizer (Heritrix-derived), matched
// case-insensitively. The value shapes keep ordinary parameters that happen to be called `sid`
// (`?sid=3`): only long opaque tokens are session ids.
const SESSION_PARAMS: readonly RegExp[] = [
  /^jsessionid=[0-9a-z$._-]{10,}$/i,
  /^sessionid=[0-9a-z._-]{16,}$/i,
  /^phpsessid=[0-9a-z,-]{16,}$/i,
  /^sid=[0-9a-z]{16,}$/i,
  /^aspsessionid[a-z]{8}=[0-9a-z]{16,}$/i,
  /^cfid=[0-9]+$/i,
  /^cftoken=[0-9a-z-]+$/i,
];
// `;jsessionid=…` path parameters (Java servlet URL rewriting) and ASP.NET cookieless segments
// such as `/(S(4hqa0555fwsecu455xqckv45))/` (also `(A(...))`, `(F(...))` and combinations).
const SESSION_PATH_PARAM = /;jsessionid=[^/?#;]*/gi;
const ASPNET_COOKIELESS = /\/\((?:[A-Za-z]\([^()/]*\))+\)(?=\/|$)/g;

/**
 * Removes session identifiers from an absolute URL string: `;jsessionid=…` path parameters,
 * ASP.NET cookieless `/(S(…))` segments, and query parameters that look like session tokens
 * (`jsessionid`, `sessionid`, `phpsessid`, `sid` with a 16+ character token, `aspsessionidXXXXXXXX`,
 * ColdFusion `cfid`/`cftoken`; names case-insensitive). An emptied query loses its `?`; a path
 * emptied by the removal becomes `/`. The fragment, if any, is kept. Returns the input unchanged
 * (same string) when there is nothing to remove.
 */
export function stripSessionIds(url: string): string {
  const scheme = url.indexOf('://');
  const pathStart = scheme < 0 ? -1 : url.indexOf('/', scheme + 3);
  if (pathStart < 0) return url;
  const hash = url.indexOf('#', pathStart);
  const frag = hash < 0 ? '' : url.slice(hash);
  const rest = hash < 0 ? url.slice(pathStart) : url.slice(pathStart, hash);
  const q = rest.indexOf('?');
  let path = q < 0 ? rest : rest.slice(0, q);
  let query = q < 0 ? null : rest.slice(q + 1);
  const p2 = path.replace(SESSION_PATH_PARAM, '').replace(ASPNET_COOKIELESS, '');
  let changed = p2 !== path;
  path = p2 === '' ? '/' : p2;
  if (query !== null && query !== '') {
    const pieces = query.split('&');
    const kept = pieces.filter((piece) => !SESSION_PARAMS.some((re) => re.test(piece)));
    if (kept.length !== pieces.length) {
      changed = true;
      query = kept.length === 0 ? null : kept.join('&');
    }
  }
  if (!changed) return url;
  return `${url.slice(0, pathStart)}${path}${query === null ? '' : `?${query}`}${frag}`;
}

// Compiled stripParams, cached per array so callers can pass the same options object on every
// call without recompiling.
const stripCache = new WeakMap<readonly string[], Matcher>();

function stripMatcher(patterns: readonly string[]): Matcher {
  let m = stripCache.get(patterns);
  if (!m) {
    const ms = patterns.map(globMatcher);
    m = (name) => {
      for (const f of ms) if (f(name)) return true;
      return false;
    };
    stripCache.set(patterns, m);
  }
  return m;
}

const HEX = '0123456789ABCDEF';

function isUnreserved(c: number): boolean {
  return (
    (c >= 0x41 && c <= 0x5a) || // A-Z
    (c >= 0x61 && c <= 0x7a) || // a-z
    (c >= 0x30 && c <= 0x39) || // 0-9
    c === 0x2d || // -
    c === 0x2e || // .
    c === 0x5f || // _
    c === 0x7e // ~
  );
}

function hexVal(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  return -1;
}

/**
 * RFC 3986 §6.2.2.2 percent-encoding normalization of `s`: every `%xx` escape gets upper-case
 * hex digits, and escapes of unreserved characters (ALPHA DIGIT - . _ ~) are decoded. A `%` not
 * followed by two hex digits is left alone. Reserved characters are never decoded.
 */
export function normalizePercentEncoding(s: string): string {
  let i = s.indexOf('%');
  if (i < 0) return s;
  let out = '';
  let from = 0;
  for (; i >= 0; i = s.indexOf('%', i + 1)) {
    if (i + 2 >= s.length) break;
    const h = hexVal(s.charCodeAt(i + 1));
    const l = hexVal(s.charCodeAt(i + 2));
    if (h < 0 || l < 0) continue;
    const code = h * 16 + l;
    const a = s.charCodeAt(i + 1);
    const b = s.charCodeAt(i + 2);
    if (isUnreserved(code)) {
      out += s.slice(from, i) + String.fromCharCode(code);
    } else if ((a >= 0x61 && a <= 0x66) || (b >= 0x61 && b <= 0x66)) {
      out += `${s.slice(from, i)}%${HEX[h]}${HEX[l]}`;
    } else {
      continue;
    }
    from = i + 3;
    i += 2;
  }
  return from === 0 ? s : out + s.slice(from);
}

function paramName(piece: string): string {
  const eq = piece.indexOf('=');
  return eq < 0 ? piece : piece.slice(0, eq);
}

/** Applies stripParams/sortQuery to a query (without its `?`); returns null to drop the `?`. */
function rewriteQuery(query: string, opts: NormalizeOptions): string | null {
  let pieces = query.split('&');
  const strip = opts.stripParams;
  if (strip && strip.length > 0) {
    const m = stripMatcher(strip);
    const kept = pieces.filter((p) => !m(paramName(p)));
    if (kept.length !== pieces.length) {
      pieces = kept;
      // An emptied query loses its `?`; pieces that were already empty are not our business.
      if (pieces.length === 0 || (pieces.length === 1 && pieces[0] === '')) return null;
    }
  }
  if (opts.sortQuery && pieces.length > 1) {
    const keyed = pieces.map((p, i) => ({ p, k: paramName(p), i }));
    keyed.sort((x, y) => (x.k < y.k ? -1 : x.k > y.k ? 1 : x.i - y.i));
    pieces = keyed.map((x) => x.p);
  }
  return pieces.join('&');
}

/**
 * Resolves `input` against `base` and returns trawl's normalized form of the result, or null.
 *
 * Parsing and resolution follow the WHATWG URL Standard (Node's `URL`), which already lower-cases
 * the scheme and host, IDNA-encodes hosts, drops the default port (`:80` for http, `:443` for
 * https) and an empty port, resolves `.`/`..` segments (RFC 3986 §5.2.4, `%2e` included), turns
 * `\` into `/` and gives an empty path as `/`. On top of that trawl:
 * - returns null when the input (or base) cannot be parsed, and for every scheme but http and
 *   https (`mailto:`, `javascript:`, `tel:`, `data:`, `ftp:`, `file:`…);
 * - drops the fragment (`#…`, including a bare `#`);
 * - normalizes percent-encoding everywhere before the fragment (RFC 3986 §6.2.2.2): hex digits
 *   of `%xx` escapes are upper-cased and escapes of unreserved characters (ALPHA DIGIT `-._~`)
 *   are decoded; reserved characters stay encoded;
 * - with `opts.stripParams`, removes query parameters whose name matches one of the globs, and
 *   drops the `?` if that removal left the query empty (a query that was already a bare `?` is
 *   kept: RFC 3986 §6.2.3 says `/?` and `/` may differ);
 * - with `opts.sortQuery`, sorts the `&`-separated parameters by name, stably;
 * - with `opts.stripSessionIds`, removes session identifiers ({@link stripSessionIds}) and
 *   normalizes the result again.
 * User info (`user:pass@`) and the query otherwise are kept verbatim.
 *
 * Never throws, whatever the string; the result is idempotent:
 * `normalizeUrl(normalizeUrl(x)!) === normalizeUrl(x)` for every non-null result, with the same
 * options.
 */
export function normalizeUrl(input: string, base?: string | URL, opts?: NormalizeOptions): string | null {
  let url: URL;
  try {
    url = base === undefined ? new URL(input) : new URL(input, base);
  } catch {
    return null;
  }
  const protocol = url.protocol;
  if (protocol !== 'http:' && protocol !== 'https:') return null;
  let href = url.href;
  const hash = href.indexOf('#');
  if (hash >= 0) href = href.slice(0, hash);
  return finishNormalize(href, opts);
}

/**
 * The part of {@link normalizeUrl} after parsing: given the serialized http(s) `href` of a
 * parsed URL without its fragment, applies percent-encoding normalization, `stripParams`,
 * `sortQuery` and `stripSessionIds` from `opts`. For link resolvers that produce such an href
 * without the parser (see LinkResolver). Null only when removing a session id left a string
 * that no longer parses.
 */
export function finishNormalize(href: string, opts?: NormalizeOptions): string | null {
  href = normalizePercentEncoding(href);
  if (opts && ((opts.stripParams && opts.stripParams.length > 0) || opts.sortQuery)) {
    const q = href.indexOf('?');
    if (q >= 0) {
      const query = rewriteQuery(href.slice(q + 1), opts);
      href = query === null ? href.slice(0, q) : `${href.slice(0, q + 1)}${query}`;
    }
  }
  if (opts?.stripSessionIds) {
    const stripped = stripSessionIds(href);
    // Removing text can expose something URL parsing rewrites (`/.;jsessionid=x/` → `/./`), so
    // the result goes round once more; it is strictly shorter each time, so this ends.
    if (stripped !== href) return normalizeUrl(stripped, undefined, opts);
  }
  return href;
}

/**
 * The politeness key of an http(s) URL: its host as `hostname` or `hostname:port` (default ports
 * omitted), lower-case, IPv6 addresses in brackets, user info excluded — what WHATWG `URL.host`
 * gives. Two URLs share a key exactly when they go to the same server endpoint, whatever the
 * scheme. Returns `''` for a string that is not a parseable http(s) URL.
 *
 * Fast path: an already-normalized URL (lower-case `http://`/`https://`, then a plain
 * lower-case host and an optional non-default port) is sliced without parsing; anything else
 * goes through `URL`.
 */
export function hostKey(url: string): string {
  return fastHostKey(url) ?? slowHostKey(url);
}

/**
 * {@link hostKey}'s fast path alone: the key of an already-normalized http(s) URL (lower-case
 * scheme, then a plain lower-case host name or a canonical dotted-decimal IPv4 address, an
 * optional non-default port), sliced without parsing; null for anything else, which only `URL`
 * can judge (upper case, user info, IPv6, IDN, percent escapes, IPv4 shorthands, odd dots).
 */
export function fastHostKey(url: string): string | null {
  let start: number;
  let defaultPort: string;
  if (url.startsWith('https://')) {
    start = 8;
    defaultPort = '443';
  } else if (url.startsWith('http://')) {
    start = 7;
    defaultPort = '80';
  } else {
    return null;
  }
  let colon = -1;
  let i = start;
  for (; i < url.length; i++) {
    const c = url.charCodeAt(i);
    if (c === 0x2f || c === 0x3f || c === 0x23) break; // / ? #
    if (c === 0x3a) {
      if (colon >= 0) return null;
      colon = i;
    } else if (colon >= 0) {
      if (c < 0x30 || c > 0x39) return null;
    } else if (!((c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39) || c === 0x2d || c === 0x2e)) {
      // Upper case, user info, IPv6, IDN, percent escapes, odd dots: let the real parser decide.
      return null;
    }
  }
  if (i === start || colon === start) return null;
  if (colon >= 0) {
    const port = url.slice(colon + 1, i);
    if (port.length === 0 || port === defaultPort || port.charCodeAt(0) === 0x30) return null;
  }
  const host = url.slice(start, i);
  const name = colon >= 0 ? url.slice(start, colon) : host;
  if (name.charCodeAt(0) === 0x2e || name.includes('..')) return null;
  // A last label starting with a digit may make the host an IPv4 address in some shorthand
  // (`1`, `0x7f.1`), which URL rewrites or refuses.
  const end = name.endsWith('.') ? name.length - 1 : name.length;
  const c = name.charCodeAt(name.lastIndexOf('.', end - 1) + 1);
  if (c >= 0x30 && c <= 0x39 && !isCanonicalIpv4(name)) return null;
  return host;
}

/**
 * Whether `name` is an IPv4 address written the way URL serializes one: four decimal labels
 * 0–255 without leading zeros (`127.0.0.1`, not `127.1`, `0x7f.0.0.1` or `127.000.0.1`).
 */
function isCanonicalIpv4(name: string): boolean {
  let labels = 0;
  let value = 0;
  let digits = 0;
  for (let i = 0; i <= name.length; i++) {
    const c = i < name.length ? name.charCodeAt(i) : 0x2e;
    if (c === 0x2e) {
      if (digits === 0 || value > 255) return false;
      labels++;
      value = 0;
      digits = 0;
    } else if (c >= 0x30 && c <= 0x39) {
      if (digits > 0 && value === 0) return false; // a leading zero
      value = value * 10 + (c - 0x30);
      if (++digits > 3) return false;
    } else {
      return false;
    }
  }
  return labels === 4;
}

function slowHostKey(url: string): string {
  try {
    const u = new URL(url);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') return '';
    return u.host;
  } catch {
    return '';
  }
}
