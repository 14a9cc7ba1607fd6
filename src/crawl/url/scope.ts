/**
 * Crawl scope: which discovered URLs belong to the crawl, from the seeds, a scope mode and the
 * user's include/exclude patterns.
 */
import { getDomain } from 'tldts';
import { fastHostKey } from './normalize.js';
import { compileAny, type Matcher } from './patterns.js';

/** How far from the seeds a crawl may wander. */
export type ScopeMode = 'host' | 'domain' | 'any';

/** Options of {@link createScope}. */
export interface ScopeOptions {
  /** Seed URLs (absolute http(s)); their hosts/domains define the scope. */
  seeds: readonly string[];
  mode: ScopeMode;
  /** Patterns of which a URL must match at least one (when non-empty); see compilePattern. */
  include?: readonly string[];
  /** Patterns of which a URL must match none; exclusion wins over inclusion. */
  exclude?: readonly string[];
}

/** A compiled scope. */
export interface Scope {
  /** True when `url` is in scope: exactly when {@link Scope.reason} returns null. */
  inScope(url: string): boolean;
  /**
   * Null when `url` is in scope, otherwise a short human-readable reason: `invalid url`,
   * `not http(s)`, `off-host <host>`, `off-domain <domain>`, `excluded by <pattern>` or
   * `not included by any include pattern`. Checks run in that order.
   */
  reason(url: string): string | null;
}

/** The hostname of an http(s) URL; 1 when unparseable, 2 for another scheme. */
const hostOf = (url: string): string | 1 | 2 => {
  // A normalized URL (what the crawl passes) has its host sliced, not parsed; the fast path
  // never yields IPv6 (bracketed), so a colon in its key is the port's.
  const key = fastHostKey(url);
  if (key !== null) {
    const colon = key.indexOf(':');
    return colon < 0 ? key : key.slice(0, colon);
  }
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return 1;
  }
  return u.protocol === 'http:' || u.protocol === 'https:' ? u.hostname : 2;
};

/**
 * The host as scope compares it: lower case (URL's doing), a trailing dot and one leading
 * `www.` removed when a dotted name remains, so `www.example.com.` and `example.com` are the same
 * host (but `www.com` stays `www.com`).
 */
export function scopeHost(hostname: string): string {
  let h = hostname.endsWith('.') ? hostname.slice(0, -1) : hostname;
  // `www.com` stays itself: only strip when a dotted name remains.
  if (h.startsWith('www.') && h.indexOf('.', 4) > 4) h = h.slice(4);
  return h;
}

/**
 * The registrable domain ("eTLD+1") of a hostname via the public suffix list, private section
 * included (so `alice.github.io` and `bob.github.io` are different domains). Hosts without one
 * (IP addresses, `localhost`, single-label intranet names, bare suffixes) are their own domain.
 */
export function registrableDomain(hostname: string): string {
  const h = hostname.endsWith('.') ? hostname.slice(0, -1) : hostname;
  if (h.startsWith('[')) return h;
  return getDomain(h, { allowPrivateDomains: true }) ?? h;
}

/**
 * Compiles a scope from seeds, mode and patterns.
 *
 * - `host`: a URL is in scope when its host equals a seed's host, ignoring scheme, port, case, a
 *   trailing dot and a leading `www.` (`http://www.example.com:8080/` matches the seed
 *   `https://example.com/`). Other subdomains are out.
 * - `domain`: same registrable domain as a seed (see {@link registrableDomain}), so every
 *   subdomain of the seed's site is in.
 * - `any`: every http(s) URL.
 * Then `exclude` patterns remove URLs (exclusion wins) and, when `include` is non-empty, a URL
 * must match at least one include pattern. Patterns see the URL string exactly as passed.
 *
 * Throws an Error naming the culprit for a seed that is not an absolute http(s) URL, for no
 * seeds in `host`/`domain` mode, and for an invalid pattern (see compilePattern).
 */
export function createScope(opts: ScopeOptions): Scope {
  if (opts.mode !== 'host' && opts.mode !== 'domain' && opts.mode !== 'any') {
    throw new Error(`invalid scope mode ${JSON.stringify(opts.mode)}: expected host, domain or any`);
  }
  const hosts = new Set<string>();
  const domains = new Set<string>();
  for (const seed of opts.seeds) {
    const h = hostOf(seed);
    if (typeof h !== 'string')
      throw new Error(`invalid seed URL ${JSON.stringify(seed)}: not an absolute http(s) URL`);
    hosts.add(scopeHost(h));
    domains.add(registrableDomain(h));
  }
  if (opts.mode !== 'any' && hosts.size === 0)
    throw new Error(`scope mode "${opts.mode}" needs at least one seed`);
  const excludes = (opts.exclude ?? []).map((p) => ({ p, m: compileAny([p]) }));
  const include: Matcher | null = opts.include && opts.include.length > 0 ? compileAny(opts.include) : null;
  const mode = opts.mode;

  const reason = (url: string): string | null => {
    const h = hostOf(url);
    if (h === 1) return 'invalid url';
    if (h === 2) return 'not http(s)';
    if (mode === 'host') {
      const sh = scopeHost(h);
      if (!hosts.has(sh)) return `off-host ${sh}`;
    } else if (mode === 'domain') {
      const d = registrableDomain(h);
      if (!domains.has(d)) return `off-domain ${d}`;
    }
    for (const { p, m } of excludes) if (m(url)) return `excluded by ${p}`;
    if (include && !include(url)) return 'not included by any include pattern';
    return null;
  };
  return { reason, inScope: (url) => reason(url) === null };
}
