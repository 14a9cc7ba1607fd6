/**
 * A page's links resolved against one base, with a fast path for the common shapes.
 *
 * Why: a crawl resolves every link of every page (~20 per page on the benchmark site) and
 * `new URL(raw, base)` parses the base again on every call. Most links are `/path`, `path`
 * or `?query` references made of plain characters, whose WHATWG resolution is a string
 * concatenation with the base's serialized prefix; only the rest needs the real parser.
 */
import { finishNormalize, type NormalizeOptions, normalizeUrl } from './normalize.js';

// Characters a path keeps as they are (WHATWG path percent-encode set excluded, and `%`, `\`
// and the rest that need a decision left to the parser): ALPHA DIGIT - . _ ~ ! $ & ' ( ) * + , ; = : @ /
const PATH_OK = charSet("-._~!$&'()*+,;=:@/");
// In a query `'` is percent-encoded (special-query set) and `?` and `%` are kept.
const QUERY_OK = charSet('-._~!$&()*+,;=:@/?%');

/** How many values took the fast path in this thread (a test hook: proves the path is exercised). */
export const linkResolverStats = { fast: 0 };

function charSet(extra: string): Uint8Array {
  const ok = new Uint8Array(128);
  for (let c = 0x30; c <= 0x39; c++) ok[c] = 1;
  for (let c = 0x41; c <= 0x5a; c++) ok[c] = 1;
  for (let c = 0x61; c <= 0x7a; c++) ok[c] = 1;
  for (const ch of extra) ok[ch.charCodeAt(0)] = 1;
  return ok;
}

/**
 * Resolves link values (`href`s) against one base URL into trawl's normalized form, exactly as
 * {@link normalizeUrl}`(raw, base, opts)` does, faster for the common shapes.
 */
export class LinkResolver {
  readonly #base: string | undefined;
  readonly #opts: NormalizeOptions | undefined;
  /** The base's `scheme://authority` (user info kept, as resolution keeps it); '' = no fast path. */
  readonly #origin: string = '';
  /** The base up to and including the last `/` of its path (what a relative path replaces). */
  readonly #dir: string = '';
  /** The base without its query and fragment (what a `?query` reference keeps). */
  readonly #path: string = '';

  /**
   * A resolver for `base` (undefined: relative links resolve to null, as with normalizeUrl).
   * The fast path is used only when `base` is an http(s) URL; it is read in its serialized form
   * (`new URL(base).href`), so the prefixes it cuts are exactly what the parser would keep.
   */
  constructor(base: string | undefined, opts?: NormalizeOptions) {
    this.#base = base;
    this.#opts = opts;
    if (base === undefined || !URL.canParse(base)) return;
    const u = new URL(base);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') return;
    const href = u.href;
    const pathStart = href.indexOf('/', u.protocol.length + 2);
    // A serialized path holds no `?` or `#` (they are escaped): the first one ends it. (Not
    // `u.search`/`u.hash`: they are '' for an empty query or fragment that href still shows.)
    let pathEnd = pathStart;
    while (pathEnd < href.length && href[pathEnd] !== '?' && href[pathEnd] !== '#') pathEnd++;
    this.#origin = href.slice(0, pathStart);
    this.#path = href.slice(0, pathEnd);
    this.#dir = href.slice(0, href.lastIndexOf('/', pathEnd - 1) + 1);
  }

  /**
   * `normalizeUrl(raw, base, opts)`, the same string or null for every input. Fast path: a
   * value made only of plain characters (no whitespace, controls, `\`, `%` in the path, non-ASCII,
   * quotes or brackets), shaped `/path[?query]` (not `//`), `?query`, or a relative
   * `path[?query]` whose first segment has no `:` (no scheme), with no `.` or `..` path segment
   * but leading `./` and `../` ones of a relative path, is the base's prefix (for `../`, minus
   * a directory each) plus the value (its fragment dropped), then normalized as normalizeUrl
   * does (percent escapes, stripParams, sortQuery, session ids). Everything else goes to
   * normalizeUrl itself.
   */
  resolve(raw: string): string | null {
    if (this.#origin !== '') {
      const fast = this.#fast(raw);
      if (fast !== null) {
        linkResolverStats.fast++;
        return finishNormalize(fast, this.#opts);
      }
    }
    return normalizeUrl(raw, this.#base, this.#opts);
  }

  /** The resolved href (fragment dropped) when `raw` takes the fast path, else null. */
  #fast(raw: string): string | null {
    let end = raw.indexOf('#');
    if (end < 0) end = raw.length;
    if (end === 0) return null;
    const first = raw.charCodeAt(0);
    let prefix: string;
    let i = 0;
    if (first === 0x2f /* / */) {
      const second = raw.charCodeAt(1);
      if (second === 0x2f || second === 0x5c) return null; // //host or /\host: another authority
      prefix = this.#origin;
    } else if (first === 0x3f /* ? */) {
      prefix = this.#path;
    } else {
      // Leading `./` and `../` segments (common in generated sites) are resolved here: each
      // `../` drops the base directory's last segment, never past the root.
      const dir = this.#dir;
      let dirEnd = dir.length;
      const root = this.#origin.length + 1;
      for (;;) {
        if (raw.startsWith('./', i)) i += 2;
        else if (raw.startsWith('../', i)) {
          i += 3;
          if (dirEnd > root) dirEnd = dir.lastIndexOf('/', dirEnd - 2) + 1;
        } else break;
      }
      prefix = dirEnd === dir.length ? dir : dir.slice(0, dirEnd);
    }
    const from = i;
    // The path part: plain characters, no dot segment, and for a relative path no `:` before
    // its first `/` (that would be a scheme).
    let segStart = i;
    let sawSlash = first === 0x2f;
    let q = first === 0x3f ? 0 : end; // a `?query` value has no path part
    for (; i < end && q === end; i++) {
      const c = raw.charCodeAt(i);
      if (c === 0x3f) {
        q = i;
        continue;
      }
      if (c >= 128 || PATH_OK[c] === 0) return null;
      if (c === 0x2f) {
        if (isDotSegment(raw, segStart, i)) return null;
        segStart = i + 1;
        sawSlash = true;
      } else if (c === 0x3a && !sawSlash) {
        return null;
      }
    }
    if (first !== 0x3f && isDotSegment(raw, segStart, q)) return null;
    for (let j = q + 1; j < end; j++) {
      const c = raw.charCodeAt(j);
      if (c >= 128 || QUERY_OK[c] === 0) return null;
    }
    return prefix + (from === 0 && end === raw.length ? raw : raw.slice(from, end));
  }
}

/** Whether raw[from, to) is `.` or `..` (a segment the parser would resolve away). */
function isDotSegment(raw: string, from: number, to: number): boolean {
  const n = to - from;
  if (n === 1) return raw.charCodeAt(from) === 0x2e;
  if (n === 2) return raw.charCodeAt(from) === 0x2e && raw.charCodeAt(from + 1) === 0x2e;
  return false;
}
