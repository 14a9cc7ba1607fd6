/**
 * A handler's `enqueue`: turns what the handler asks for into requests for the frontier, with
 * the same filtering page links get (normalization, scope, trap guards, depth) plus the call's
 * own include/exclude patterns.
 */
import { createHash } from 'node:crypto';
import type { RequestSpec } from '../frontier/frontier.js';
import { hostKey, type NormalizeOptions, normalizeUrl } from '../url/normalize.js';
import { compilePattern, type Matcher } from '../url/patterns.js';
import type { Scope } from '../url/scope.js';
import { checkTraps, type TrapOptions } from '../url/traps.js';
import { EnqueueError } from './handler-errors.js';
import { jsonDataProblem } from './json-data.js';
import type { LazyDocument } from './lazy-cheerio.js';
import type { EnqueueInput, EnqueueOptions } from './scraper.js';

/** One request a handler enqueued, filtered and ready for the frontier (which adds depth, referrer, attempts). */
export interface EnqueuedRequest {
  /** Absolute, normalized http(s) URL. */
  url: string;
  /** Its politeness key (hostKey). */
  host: string;
  /** Its frontier identity when not the URL (a non-GET, or a uniqueKey); see COMMON.md. */
  key?: string;
  /** Method, headers, body, label, userData beyond a plain GET; absent for a plain link. */
  request?: RequestSpec;
}

/** The page an `enqueue` works for. */
export interface EnqueuePage {
  /** What relative URLs resolve against: the page's `<base href>`, else the response URL. */
  base: string;
  /** The page's depth; what it enqueues is depth + 1. */
  depth: number;
  maxDepth: number;
  scope: Scope;
  traps: TrapOptions;
  normalize: NormalizeOptions;
  /** The scraper's handler labels. */
  labels: ReadonlySet<string>;
  /** The page's document, for `selector`. */
  doc: LazyDocument;
  /** Link values the page's link extraction already resolved against `base` (raw → URL or null). */
  resolved?: ReadonlyMap<string, string | null>;
}

const OPTION_KEYS = new Set<string>([
  'url',
  'urls',
  'selector',
  'include',
  'exclude',
  'label',
  'userData',
  'method',
  'headers',
  'body',
  'uniqueKey',
]);
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const EMPTY_BODY_HASH = sha1(''); // the hash part of a bodiless non-GET request's key

// Patterns compiled once per thread: handlers pass the same few literals on every page.
const patternCache = new Map<string, Matcher>();

function sha1(s: string): string {
  return createHash('sha1').update(s).digest('hex').slice(0, 16);
}

const isPlainObject = (v: unknown): v is Record<string, unknown> => {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
};

/**
 * Builds the `enqueue` of one page. Each call validates its input and throws an
 * {@link EnqueueError} (synchronously, so even an un-awaited call fails the handler) for: an
 * input that is not a URL string, a list of them or an options object; an unknown option; no
 * `url`, `urls` or `selector`; an explicit URL that does not parse (against `page.base`) or is
 * not http(s); a selector cheerio refuses; a bad pattern; a label that is not a string or has no
 * handler (no label means `default`, which then must exist); a method that is not an HTTP token;
 * a body that is not a string or comes with GET/HEAD; headers that are not an object of
 * single-line strings; userData that is not a plain object of JSON data (see jsonDataProblem);
 * an empty uniqueKey.
 *
 * Then URLs are gathered: `url`, `urls`, then for `selector` the `href` (else `src`) of each
 * matching element in document order; relative ones resolve against `page.base`; all are
 * normalized with `page.normalize` (a selector's unresolvable or non-http(s) values are skipped
 * silently, as page links are). Beyond depth (`page.depth + 1 > maxDepth`) nothing is followed
 * (and the selector is not even run). A URL out of scope, shaped like a trap, not matching
 * `include` (when given) or matching `exclude` is dropped silently. The rest become requests,
 * appended to `out` unless this page already enqueued the same identity (first one wins); the
 * promise resolves to how many this call appended.
 *
 * Identity: a plain GET without uniqueKey has no key (its URL is its identity); any other
 * request's key is its uniqueKey, else `METHOD url sha1(body ?? '')[0..16]`.
 */
export function createEnqueue(
  page: EnqueuePage,
  out: EnqueuedRequest[],
): (input: EnqueueInput) => Promise<number> {
  const seen = new Set<string>();
  return (input) => {
    const n = enqueueNow(page, input, out, seen);
    return Promise.resolve(n);
  };
}

function enqueueNow(
  page: EnqueuePage,
  input: EnqueueInput,
  out: EnqueuedRequest[],
  seen: Set<string>,
): number {
  const o = optionsOf(input);
  const label = o.label ?? 'default';
  if (typeof label !== 'string') throw new EnqueueError(`enqueue: label must be a string`);
  if (!page.labels.has(label))
    throw new EnqueueError(`enqueue: no handler for label ${JSON.stringify(label)}`);
  if (o.method !== undefined && (typeof o.method !== 'string' || !TOKEN.test(o.method)))
    throw new EnqueueError(`enqueue: invalid method ${JSON.stringify(o.method)}`);
  const method = (o.method ?? 'GET').toUpperCase();
  if (o.body !== undefined) {
    if (typeof o.body !== 'string') throw new EnqueueError('enqueue: body must be a string');
    if (method === 'GET' || method === 'HEAD')
      throw new EnqueueError(`enqueue: a ${method} request cannot have a body`);
  }
  const headers = headersOf(o.headers);
  if (o.userData !== undefined) {
    if (!isPlainObject(o.userData)) throw new EnqueueError('enqueue: userData must be a plain object');
    const problem = jsonDataProblem(o.userData);
    if (problem !== null) throw new EnqueueError(`enqueue: userData: ${problem}`);
  }
  if (o.uniqueKey !== undefined && (typeof o.uniqueKey !== 'string' || o.uniqueKey === ''))
    throw new EnqueueError('enqueue: uniqueKey must be a non-empty string');
  const include = matchersOf('include', o.include);
  const exclude = matchersOf('exclude', o.exclude);

  const explicit: string[] = [];
  if (o.url !== undefined) explicit.push(explicitUrl(o.url, page));
  if (o.urls !== undefined) {
    if (!Array.isArray(o.urls)) throw new EnqueueError('enqueue: urls must be an array of URL strings');
    for (const u of o.urls) explicit.push(explicitUrl(u, page));
  }
  if (o.selector !== undefined && typeof o.selector !== 'string')
    throw new EnqueueError('enqueue: selector must be a string');
  if (o.url === undefined && o.urls === undefined && o.selector === undefined)
    throw new EnqueueError('enqueue: give a URL, a list of URLs, or { url, urls or selector }');
  if (page.depth + 1 > page.maxDepth) return 0;
  const urls = o.selector === undefined ? explicit : [...explicit, ...selected(o.selector, page)];

  const spec: RequestSpec = {};
  if (method !== 'GET') spec.method = method;
  if (headers !== undefined) spec.headers = headers;
  if (o.body !== undefined) spec.body = o.body;
  if (label !== 'default') spec.label = label;
  if (o.userData !== undefined) spec.userData = o.userData;
  const hasSpec = Object.keys(spec).length > 0;
  const plain = method === 'GET' && o.uniqueKey === undefined;
  const bodyHash = o.body === undefined ? EMPTY_BODY_HASH : sha1(o.body);

  let accepted = 0;
  for (const url of urls) {
    if (!page.scope.inScope(url) || checkTraps(url, page.traps) !== null) continue;
    if (include !== null && !include.some((m) => m(url))) continue;
    if (exclude?.some((m) => m(url))) continue;
    const key = plain ? undefined : (o.uniqueKey ?? `${method} ${url} ${bodyHash}`);
    const identity = key ?? url;
    if (seen.has(identity)) continue;
    seen.add(identity);
    const req: EnqueuedRequest = { url, host: hostKey(url) };
    if (key !== undefined) req.key = key;
    // Each request gets its own spec object: the frontier may keep or mutate them independently.
    if (hasSpec) req.request = { ...spec };
    out.push(req);
    accepted++;
  }
  return accepted;
}

function optionsOf(input: EnqueueInput): EnqueueOptions {
  if (typeof input === 'string') return { url: input };
  if (Array.isArray(input)) return { urls: input };
  if (!isPlainObject(input))
    throw new EnqueueError('enqueue: expected a URL, a list of URLs, or an options object');
  for (const k of Object.keys(input)) {
    if (!OPTION_KEYS.has(k)) throw new EnqueueError(`enqueue: unknown option ${JSON.stringify(k)}`);
  }
  return input as EnqueueOptions;
}

/** An explicit URL, resolved and normalized; throws when it is not a valid http(s) URL. */
function explicitUrl(raw: unknown, page: EnqueuePage): string {
  if (typeof raw !== 'string') throw new EnqueueError(`enqueue: URL ${String(raw)} is not a string`);
  const url = normalizeUrl(raw, page.base, page.normalize);
  if (url !== null) return url;
  if (!URL.canParse(raw, page.base)) throw new EnqueueError(`enqueue: invalid URL ${JSON.stringify(raw)}`);
  throw new EnqueueError(`enqueue: not an http(s) URL: ${JSON.stringify(raw)}`);
}

/** The normalized http(s) `href` (else `src`) values of the elements matching `selector`. */
function selected(selector: string, page: EnqueuePage): string[] {
  const $ = page.doc.get();
  let raws: string[];
  try {
    raws = [];
    $(selector).each((_i, el) => {
      const attribs = (el as { attribs?: Record<string, string> }).attribs;
      const v = attribs?.href ?? attribs?.src;
      if (v !== undefined) raws.push(v);
    });
  } catch (err) {
    throw new EnqueueError(
      `enqueue: invalid selector ${JSON.stringify(selector)}: ${(err as Error).message}`,
    );
  }
  const urls: string[] = [];
  const known = page.resolved;
  for (const raw of raws) {
    // The same value against the same base normalizes the same: reuse the extraction's answer.
    const hit = known?.get(raw);
    const url = hit !== undefined ? hit : normalizeUrl(raw, page.base, page.normalize);
    if (url !== null) urls.push(url);
  }
  return urls;
}

function headersOf(h: unknown): Record<string, string> | undefined {
  if (h === undefined) return undefined;
  if (!isPlainObject(h)) throw new EnqueueError('enqueue: headers must be an object of strings');
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(h)) {
    if (!TOKEN.test(k)) throw new EnqueueError(`enqueue: invalid header name ${JSON.stringify(k)}`);
    if (typeof v !== 'string' || /[\r\n\0]/.test(v))
      throw new EnqueueError(`enqueue: header ${k} must be a single-line string`);
    out[k] = v;
  }
  return Object.keys(out).length > 0 ? out : undefined;
}

function matchersOf(what: string, p: unknown): Matcher[] | null {
  if (p === undefined) return null;
  const list = typeof p === 'string' ? [p] : p;
  if (!Array.isArray(list) || list.some((x) => typeof x !== 'string'))
    throw new EnqueueError(`enqueue: ${what} must be a pattern or a list of patterns`);
  if (list.length === 0) return null;
  return list.map((pattern: string) => {
    let m = patternCache.get(pattern);
    if (m === undefined) {
      try {
        m = compilePattern(pattern);
      } catch (err) {
        throw new EnqueueError(`enqueue: ${what}: ${(err as Error).message}`);
      }
      if (patternCache.size >= 1000) patternCache.clear(); // patterns built per page: stay bounded
      patternCache.set(pattern, m);
    }
    return m;
  });
}
