// One session's cookie jar: RFC 6265 storage and retrieval by tough-cookie 6 (its synchronous API on
// a MemoryCookieStore), with trawl's policy around it:
//  - Secure cookies go over https only, loopback included: tough-cookie's default
//    (`allowSecureOnLocal: true`) treats http://127.0.0.1 and http://localhost as secure origins
//    and would send them there in clear text.
//  - The clock is injectable, and expiry is decided by it alone. tough-cookie checks expiry with
//    Date.now() and measures Max-Age from `lastAccessed`, which every read refreshes, so a
//    Max-Age cookie read more often than its lifetime never expires there. Here Max-Age is turned
//    into an absolute Expires when the cookie is stored (RFC 6265 §5.3 step 3) and reads pass
//    `expire: false` and drop expired cookies by the injected clock.
//  - The jar is bounded (a hostile site setting a new cookie name per response must not grow
//    memory or the saved state without end): at most MAX_COOKIES cookies, each name+value at most
//    MAX_COOKIE_BYTES (RFC 6265bis §5.7), like browsers.
//  - Saved state is trawl's own JSON: `CookieJar.fromJSON` rebuilds a jar with
//    `allowSecureOnLocal: true` (that option is not serialized), which would undo the first rule.

import {
  type Callback,
  Cookie,
  CookieJar,
  type ErrorCallback,
  type GetCookiesOptions,
  MemoryCookieStore,
  type SetCookieOptions,
} from 'tough-cookie';
import type { NetscapeCookie } from './cookies-txt.js';

/** A cookie as handlers and diagnostics see it. */
export interface CookieView {
  name: string;
  value: string;
  /** The host (host-only cookie) or domain (also sent to subdomains) it belongs to, no leading dot. */
  domain: string;
  path: string;
  secure: boolean;
  httpOnly: boolean;
  /** ISO 8601 expiry, or null for a session cookie. */
  expires: string | null;
}

/** Options of a {@link SessionCookies} jar. */
export interface SessionCookiesOptions {
  /** The clock for expiry, creation and last-access times. Default: the system clock. */
  now?: () => Date;
}

/** Most cookies one jar keeps; beyond it the expired, then the least recently used, are evicted. */
export const MAX_COOKIES = 3000;
/** Longest name + value (UTF-16 code units) a cookie may have; longer Set-Cookies are ignored. */
export const MAX_COOKIE_BYTES = 4096;

const JAR_OPTIONS = {
  rejectPublicSuffixes: true,
  looseMode: false,
  allowSpecialUseDomain: true,
  allowSecureOnLocal: false,
  enforceSecureOriginOnStorage: true,
  prefixSecurity: 'silent',
} as const;
// http: the crawler is an HTTP client, so HttpOnly cookies are sent. expire: false — expiry is
// checked here, by the injected clock. sort: RFC 6265 §5.4 order (longer paths first, then older).
const GET_OPTIONS: GetCookiesOptions = { http: true, expire: false, sort: true };
const SAVED_VERSION = 1;
const MAX_DATE_MS = 8.64e15;
const noop = (): void => {};

/**
 * A MemoryCookieStore that knows how many cookies it holds, so that `size` and the empty-jar fast
 * path of `header` cost O(1). MemoryCookieStore is synchronous: its callbacks run before return.
 */
class CountingStore extends MemoryCookieStore {
  count = 0;
  /** Bumped by every put and every removal that removed something. */
  changes = 0;

  #has(domain: string | null, path: string | null, key: string | null): boolean {
    let found = false;
    super.findCookie(domain, path, key, (_err, cookie) => {
      found = cookie != null;
    });
    return found;
  }

  override putCookie(cookie: Cookie): Promise<void>;
  override putCookie(cookie: Cookie, callback: ErrorCallback): void;
  override putCookie(cookie: Cookie, callback?: ErrorCallback): Promise<void> | undefined {
    if (cookie.domain != null && cookie.path != null && !this.#has(cookie.domain, cookie.path, cookie.key)) {
      this.count++;
    }
    this.changes++;
    if (callback) {
      super.putCookie(cookie, callback);
      return undefined;
    }
    return super.putCookie(cookie);
  }

  override removeCookie(domain: string, path: string, key: string): Promise<void>;
  override removeCookie(domain: string, path: string, key: string, callback: ErrorCallback): void;
  override removeCookie(
    domain: string,
    path: string,
    key: string,
    callback?: ErrorCallback,
  ): Promise<void> | undefined {
    if (this.#has(domain, path, key)) {
      this.count--;
      this.changes++;
    }
    if (callback) {
      super.removeCookie(domain, path, key, callback);
      return undefined;
    }
    return super.removeCookie(domain, path, key);
  }

  override removeCookies(domain: string, path: string): Promise<void>;
  override removeCookies(domain: string, path: string, callback: ErrorCallback): void;
  override removeCookies(domain: string, path: string, callback?: ErrorCallback): Promise<void> | undefined {
    const done = callback ? super.removeCookies(domain, path, callback) : super.removeCookies(domain, path);
    this.count = this.all().length;
    this.changes++;
    return done ?? undefined;
  }

  override removeAllCookies(): Promise<void>;
  override removeAllCookies(callback: ErrorCallback): void;
  override removeAllCookies(callback?: ErrorCallback): Promise<void> | undefined {
    this.count = 0;
    this.changes++;
    if (callback) {
      super.removeAllCookies(callback);
      return undefined;
    }
    return super.removeAllCookies();
  }

  /** Every stored cookie (expired ones included), oldest first. */
  all(): Cookie[] {
    let list: Cookie[] = [];
    const take: Callback<Cookie[]> = (_err: Error | null, cookies?: Cookie[]) => {
      list = cookies ?? [];
    };
    super.getAllCookies(take);
    return list;
  }
}

/**
 * One session's RFC 6265 cookie jar (see the file comment for the policy). Every method is
 * synchronous and never throws on bad input from a server: a malformed Set-Cookie, a URL that does
 * not parse, a cookie for another domain or a public suffix is ignored. Cookies are not isolated
 * by port (RFC 6265 §8.5): 127.0.0.1:8080 and 127.0.0.1:9090 share them, 127.0.0.2 does not.
 */
export class SessionCookies {
  readonly #store = new CountingStore();
  readonly #jar = new CookieJar(this.#store, JAR_OPTIONS);
  readonly #now: () => Date;

  /** An empty jar; `options.now` is its clock (default: the system clock). */
  constructor(options: SessionCookiesOptions = {}) {
    this.#now = options.now ?? (() => new Date());
  }

  /** How many cookies the jar holds (expired ones not yet evicted by a read included). O(1). */
  get size(): number {
    return this.#store.count;
  }

  /**
   * A counter that moves whenever the jar's cookies may have changed: a cookie set or replaced
   * (even by an equal one), deleted (a Set-Cookie deleting nothing moves it too), dropped as
   * expired by a read, evicted, imported. A read that finds nothing expired only refreshes
   * `lastAccessed` stamps and does not move it. Equal readings mean toJSON() differs in nothing
   * but those stamps, e.g. no need to save. O(1).
   */
  get changes(): number {
    return this.#store.changes;
  }

  /**
   * The Cookie header for a request to `url` — `name=value` pairs joined by `; ` in RFC 6265 §5.4
   * order — or null when no cookie matches (or `url` does not parse). A cookie matches when its
   * domain does (exactly, for a host-only cookie), its path is a prefix of the URL's path on a `/`
   * boundary, it is not Secure or the URL is https, and it has not expired by the jar's clock;
   * expired cookies met here are removed. HttpOnly cookies are sent (this is an HTTP client).
   *
   * Cost (the hot path: every request, every redirect hop): O(1) and no allocation when the jar is
   * empty; otherwise one URL parse and tough-cookie's lookup (a public-suffix split of the host via
   * tldts, the domain's path entries, a sort), measured at about 7 µs of CPU with one cookie, and
   * store() about 9 µs per Set-Cookie: together about 2 % of a plain crawl's 0.8 ms of CPU per
   * page (bench/cookies.bench.ts).
   */
  header(url: string): string | null {
    if (this.#store.count === 0) return null;
    const list = this.#match(url);
    if (list.length === 0) return null;
    let header = list[0]!.cookieString();
    for (let i = 1; i < list.length; i++) header += `; ${list[i]!.cookieString()}`;
    return header;
  }

  /**
   * Stores the Set-Cookie values of one response from `url`, in order, by RFC 6265 §5.3: a cookie
   * replaces the stored one with the same name, domain and path (keeping its creation time); one
   * that is already expired (Max-Age ≤ 0, an Expires in the past) deletes it. Ignored: values that
   * do not parse, a Domain the host is not within, a Domain that is a public suffix (`com`,
   * `co.uk`, `github.io`), a Secure cookie from http (loopback included), `__Secure-`/`__Host-`
   * names that break their prefix rules, name+value longer than MAX_COOKIE_BYTES. Beyond
   * MAX_COOKIES, the expired and then the least recently used cookies are evicted.
   */
  store(url: string, setCookie: readonly string[]): void {
    if (setCookie.length === 0) return;
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      return;
    }
    const now = this.#now();
    const options: SetCookieOptions = { now, ignoreError: true };
    for (const raw of setCookie) {
      const cookie = Cookie.parse(raw);
      if (!cookie || cookie.key.length + cookie.value.length > MAX_COOKIE_BYTES) continue;
      absoluteExpiry(cookie, now);
      this.#set(cookie, parsed, options, now);
    }
  }

  /**
   * The cookies a request to `url` would send, as views, in Cookie header order (same matching and
   * expiry as {@link header}); [] when none match or `url` does not parse.
   */
  cookiesFor(url: string): CookieView[] {
    if (this.#store.count === 0) return [];
    return this.#match(url).map(view);
  }

  /**
   * Adds cookies read from a cookies.txt file, in order, as if each had been set by its own host
   * over https: one with the same name, domain and path as a stored cookie replaces it (so a later
   * entry, or a later import, wins), and a later Set-Cookie from a server replaces an imported
   * one the same way. `includeSubdomains: false` makes a host-only cookie. Skipped silently: entries
   * already expired by the jar's clock, a domain cookie on a public suffix, `__Secure-`/`__Host-`
   * names that break their prefix rules, name+value longer than MAX_COOKIE_BYTES.
   */
  import(list: readonly NetscapeCookie[]): void {
    const now = this.#now();
    const nowMs = now.getTime();
    const options: SetCookieOptions = { now, ignoreError: true };
    for (const entry of list) {
      if (entry.expires !== 0 && entry.expires * 1000 <= nowMs) continue;
      if (entry.name.length + entry.value.length > MAX_COOKIE_BYTES) continue;
      const host = entry.domain.includes(':') ? `[${entry.domain.replace(/^\[|\]$/g, '')}]` : entry.domain;
      let origin: URL;
      try {
        origin = new URL(`https://${host}/`);
      } catch {
        continue;
      }
      const cookie = new Cookie({
        key: entry.name,
        value: entry.value,
        // No domain: setCookie makes it host-only for the URL's host, as for a Set-Cookie without Domain.
        domain: entry.includeSubdomains ? entry.domain : null,
        path: entry.path,
        secure: entry.secure,
        httpOnly: entry.httpOnly,
        expires: entry.expires === 0 ? 'Infinity' : new Date(Math.min(entry.expires * 1000, MAX_DATE_MS)),
      });
      this.#set(cookie, origin, options, now);
    }
  }

  /**
   * Every live cookie of the jar as NetscapeCookie, oldest first — the inverse of {@link import}:
   * `import(exportAll())` into an empty jar with the same clock gives a jar that sends the same
   * cookies to every URL. Host-only cookies have `includeSubdomains: false`; a session cookie (no
   * Expires/Max-Age) has `expires: 0`; an expiry is in unix seconds, rounded up (so a cookie
   * never comes back expiring earlier), at least 1. Cookies expired by the jar's clock are left
   * out (and not removed). Used to load a session's cookies into a browser context.
   */
  exportAll(): NetscapeCookie[] {
    const nowMs = this.#now().getTime();
    const out: NetscapeCookie[] = [];
    for (const c of this.#store.all()) {
      if (c.domain == null || isExpired(c, nowMs)) continue;
      out.push({
        domain: c.domain,
        includeSubdomains: c.hostOnly === false,
        path: c.path ?? '/',
        secure: c.secure,
        httpOnly: c.httpOnly,
        expires: c.expires instanceof Date ? Math.max(1, Math.ceil(c.expires.getTime() / 1000)) : 0,
        name: c.key,
        value: c.value,
      });
    }
    return out;
  }

  /**
   * The whole jar as a JSON string (`{"version":1,"cookies":[…]}`, each cookie in tough-cookie's
   * serialized form, oldest first), expired cookies included: `fromJSON(toJSON())` gives a jar
   * whose toJSON() is the same string and whose cookies match the same requests. The string holds
   * cookie values: it is a secret.
   */
  toJSON(): string {
    return JSON.stringify({ version: SAVED_VERSION, cookies: this.#store.all().map((c) => c.toJSON()) });
  }

  /**
   * Rebuilds a jar from {@link toJSON}'s string (also accepted: tough-cookie's own serialized jar,
   * whose options are ignored — this jar's policy always applies). Entries that are not cookies
   * are skipped. Throws an Error (whose message never quotes the input) when `json` is not JSON
   * or has no `cookies` array.
   */
  static fromJSON(json: string, options: SessionCookiesOptions = {}): SessionCookies {
    let data: unknown;
    try {
      data = JSON.parse(json);
    } catch {
      // JSON.parse's message quotes the input, which holds cookie values.
      throw new Error('saved cookie jar: not valid JSON');
    }
    const cookies =
      typeof data === 'object' && data !== null ? (data as { cookies?: unknown }).cookies : null;
    if (!Array.isArray(cookies)) throw new Error('saved cookie jar: no cookies array');
    const jar = new SessionCookies(options);
    for (const saved of cookies) {
      const cookie = Cookie.fromJSON(saved);
      if (!cookie || cookie.domain == null || cookie.path == null) continue;
      absoluteExpiry(cookie, cookie.creation instanceof Date ? cookie.creation : jar.#now());
      jar.#store.putCookie(cookie, noop);
    }
    return jar;
  }

  #set(cookie: Cookie, url: URL, options: SetCookieOptions, now: Date): void {
    let stored: Cookie | undefined;
    try {
      stored = this.#jar.setCookieSync(cookie, url, options);
    } catch {
      return; // ignoreError covers the cookie's own faults; this is a store or URL fault
    }
    if (!stored) return;
    if (isExpired(stored, now.getTime())) {
      // An expired Set-Cookie is a deletion: it has just replaced the stored one; drop it too.
      this.#store.removeCookie(stored.domain!, stored.path!, stored.key, noop);
    } else if (this.#store.count > MAX_COOKIES) {
      this.#evict(now.getTime());
    }
  }

  #match(url: string): Cookie[] {
    let parsed: URL;
    let found: Cookie[];
    try {
      parsed = new URL(url);
      found = this.#jar.getCookiesSync(parsed, GET_OPTIONS);
    } catch {
      return [];
    }
    const now = this.#now();
    const nowMs = now.getTime();
    let live = found;
    for (let i = 0; i < found.length; i++) {
      const cookie = found[i]!;
      if (isExpired(cookie, nowMs)) {
        this.#store.removeCookie(cookie.domain!, cookie.path!, cookie.key, noop);
        if (live === found) live = found.slice(0, i);
      } else {
        cookie.lastAccessed = now; // tough-cookie stamped it with the system clock
        if (live !== found) live.push(cookie);
      }
    }
    return live;
  }

  // RFC 6265 §5.3: expired cookies first, then the least recently accessed; a tenth of the cap at
  // once, so that a site past the cap does not pay a full scan per response.
  #evict(nowMs: number): void {
    const all = this.#store.all();
    const target = MAX_COOKIES - Math.floor(MAX_COOKIES / 10);
    const keep: Cookie[] = [];
    for (const cookie of all) {
      if (isExpired(cookie, nowMs)) this.#store.removeCookie(cookie.domain!, cookie.path!, cookie.key, noop);
      else keep.push(cookie);
    }
    if (keep.length <= target) return;
    keep.sort((a, b) => timeOf(a.lastAccessed) - timeOf(b.lastAccessed));
    for (let i = 0; i < keep.length - target; i++) {
      const cookie = keep[i]!;
      this.#store.removeCookie(cookie.domain!, cookie.path!, cookie.key, noop);
    }
  }
}

// Max-Age becomes an absolute Expires, measured from `from` (RFC 6265 §5.2.2, §5.3 step 3): a
// stored cookie's expiry then never depends on when it was last read.
function absoluteExpiry(cookie: Cookie, from: Date): void {
  const maxAge = cookie.maxAge;
  if (maxAge == null) return;
  if (maxAge === 'Infinity') cookie.expires = 'Infinity';
  else if (maxAge === '-Infinity' || maxAge <= 0) cookie.expires = new Date(0);
  else cookie.expires = new Date(Math.min(from.getTime() + maxAge * 1000, MAX_DATE_MS));
  cookie.maxAge = null;
}

function isExpired(cookie: Cookie, nowMs: number): boolean {
  const expires = cookie.expires;
  return expires instanceof Date && expires.getTime() <= nowMs;
}

function timeOf(date: Date | 'Infinity' | null): number {
  return date instanceof Date ? date.getTime() : date === 'Infinity' ? Number.POSITIVE_INFINITY : 0;
}

function view(cookie: Cookie): CookieView {
  return {
    name: cookie.key,
    value: cookie.value,
    domain: cookie.domain ?? '',
    path: cookie.path ?? '/',
    secure: cookie.secure,
    httpOnly: cookie.httpOnly,
    expires: cookie.expires instanceof Date ? cookie.expires.toISOString() : null,
  };
}
