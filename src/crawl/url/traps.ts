/**
 * Cheap URL-shape heuristics against crawler traps (see shared/conformance/crawler-traps.json):
 * endless relative-link chains (`/a/a/a/…`, `/bar/foo/bar/foo/…`), runaway depth and length.
 * They look only at the URL string, so they run on every discovered link.
 */

/** Limits of {@link checkTraps}. */
export interface TrapOptions {
  /** Longest URL accepted, in UTF-16 code units. Default 2048. */
  maxUrlLength?: number;
  /**
   * Most times one path segment may repeat consecutively (`/a/a/a` is 3). Default 3. This is
   * Heritrix's PathologicalPath rule (whose own default is 2).
   */
  maxRepeatedSegments?: number;
  /**
   * Most times one path segment may occur anywhere in the path (`/bar/foo/bar/foo/bar` has `bar`
   * 3 times). Default: `maxRepeatedSegments`. `Infinity` disables the rule.
   */
  maxSegmentOccurrences?: number;
  /** Most non-empty path segments. Default 32. */
  maxPathDepth?: number;
}

/** The non-empty segments of a URL string's path (between the authority and `?`/`#`). */
export function pathSegments(url: string): string[] {
  const scheme = url.indexOf('://');
  const from = scheme >= 0 ? url.indexOf('/', scheme + 3) : url.indexOf('/');
  if (from < 0) return [];
  let end = url.length;
  const q = url.indexOf('?', from);
  if (q >= 0) end = q;
  const h = url.indexOf('#', from);
  if (h >= 0 && h < end) end = h;
  const segs = url.slice(from, end).split('/');
  return segs.filter((s) => s.length > 0);
}

/**
 * The longest run of identical consecutive non-empty segments in `url`'s path
 * (`/a/a/a/b` → 3, `/a/b` → 1, `/` → 0).
 */
export function maxConsecutiveRepeats(url: string): number {
  const segs = pathSegments(url);
  let best = segs.length > 0 ? 1 : 0;
  let run = 1;
  for (let i = 1; i < segs.length; i++) {
    run = segs[i] === segs[i - 1] ? run + 1 : 1;
    if (run > best) best = run;
  }
  return best;
}

/**
 * Returns why `url` looks like a crawler trap, or null when it passes every limit. Checks, in
 * order: length over `maxUrlLength`; more than `maxPathDepth` non-empty path segments; one
 * segment repeated consecutively more than `maxRepeatedSegments` times; one segment occurring
 * more than `maxSegmentOccurrences` times in the path. Empty segments (`//`) are ignored; the
 * query and fragment are not looked at. The reason names the rule and the offending values,
 * e.g. `trap: segment "a" repeated 4 times in a row (max 3)`.
 */
export function checkTraps(url: string, opts: TrapOptions = {}): string | null {
  const maxLen = opts.maxUrlLength ?? 2048;
  const maxRep = opts.maxRepeatedSegments ?? 3;
  const maxOcc = opts.maxSegmentOccurrences ?? maxRep;
  const maxDepth = opts.maxPathDepth ?? 32;
  if (url.length > maxLen) return `trap: url length ${url.length} over ${maxLen}`;
  const segs = pathSegments(url);
  if (segs.length > maxDepth) return `trap: path depth ${segs.length} over ${maxDepth}`;
  let run = 1;
  for (let i = 1; i < segs.length; i++) {
    run = segs[i] === segs[i - 1] ? run + 1 : 1;
    if (run > maxRep)
      return `trap: segment ${JSON.stringify(segs[i])} repeated ${run} times in a row (max ${maxRep})`;
  }
  if (segs.length > maxOcc) {
    const counts = new Map<string, number>();
    for (const s of segs) {
      const n = (counts.get(s) ?? 0) + 1;
      if (n > maxOcc) return `trap: segment ${JSON.stringify(s)} occurs ${n} times (max ${maxOcc})`;
      counts.set(s, n);
    }
  }
  return null;
}

/** The part of a URL string before its query and fragment: the key variants are counted under. */
function pathKey(url: string): { key: string; query: string | null } {
  const h = url.indexOf('#');
  const u = h >= 0 ? url.slice(0, h) : url;
  const q = u.indexOf('?');
  return q < 0 ? { key: u, query: null } : { key: u.slice(0, q), query: u.slice(q + 1) };
}

/** 32-bit FNV-1a of a string's UTF-16 units (collisions only ever admit a URL, never drop one). */
function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/**
 * A cap on distinct query strings per path — the guard against faceted navigation, calendars and
 * per-request tokens that live in the query (`/cal?day=1`, `/cal?day=2`, …), which the URL-shape
 * rules of {@link checkTraps} cannot see. The first `max` distinct queries of a path
 * (scheme+host+port+path, fragment ignored) are admitted, and so is any of them seen again
 * (dedup is the frontier's job, not this guard's); a further distinct query of that path is
 * refused. A URL without a query is always admitted and counts nothing. Queries are remembered
 * as 32-bit hashes, so memory is about 8 bytes per admitted variant; a hash collision can only
 * admit a variant that should have been refused. State is per process and starts empty on
 * resume (a resumed crawl may admit up to `max` more per path).
 */
export class QueryVariantGuard {
  readonly max: number;
  readonly #seen = new Map<string, Set<number>>();
  /** How many URLs were refused so far. */
  refused = 0;

  /** Throws RangeError unless `max` is a positive integer or Infinity (no cap). */
  constructor(max: number) {
    if (!(max === Number.POSITIVE_INFINITY || (Number.isInteger(max) && max >= 1))) {
      throw new RangeError(`max query variants must be a positive integer, got ${max}`);
    }
    this.max = max;
  }

  /**
   * Null when `url` is admitted (and then remembered), else the reason it is refused:
   * `trap: more than <max> query variants of <path>`.
   */
  admit(url: string): string | null {
    if (this.max === Number.POSITIVE_INFINITY) return null;
    const { key, query } = pathKey(url);
    if (query === null) return null;
    const h = fnv1a(query);
    let set = this.#seen.get(key);
    if (set === undefined) {
      set = new Set();
      this.#seen.set(key, set);
    }
    if (set.has(h)) return null;
    if (set.size >= this.max) {
      this.refused++;
      return `trap: more than ${this.max} query variants of ${key.slice(0, 200)}`;
    }
    set.add(h);
    return null;
  }

  /** Number of distinct query variants admitted for `url`'s path so far. */
  variants(url: string): number {
    return this.#seen.get(pathKey(url).key)?.size ?? 0;
  }
}
