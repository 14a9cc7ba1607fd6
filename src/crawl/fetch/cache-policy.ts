// RFC 9111 (HTTP Caching) for a private cache, as pure functions over stored exchanges. Times are
// ms since the epoch; the RFC's seconds become ms (a lifetime of 60 s is 60000).

import type { Exchange } from '../exchange.js';

/** A request or response head split into its parts. */
export interface ParsedHead {
  /** The first line (status line or request line) without its CRLF. */
  startLine: string;
  /** [name as received, value] per header field line, in received order; values trimmed. */
  fields: ReadonlyArray<readonly [string, string]>;
  /** The values of each field by lower-case name, one per field line, in received order. */
  values: ReadonlyMap<string, readonly string[]>;
}

// The last few heads parsed, by buffer identity: lookup's storable, isFresh and validators read
// the same two heads in a row. A WeakMap would do it too, but costs ~2 µs per new buffer (and GC
// work) where a lookup spends ~20 µs in all; a ring of 4 costs nothing.
const MEMO = 4;
const memoHeads: (Buffer | null)[] = new Array(MEMO).fill(null);
const memoParsed: (ParsedHead | null)[] = new Array(MEMO).fill(null);
let memoNext = 0;

/**
 * Parses a head as stored in an Exchange (`HTTP/1.1 200 OK\r\nName: value\r\n...\r\n\r\n` or a
 * request line and its headers, latin1). Lines may end in CRLF or a bare LF; a line starting with
 * a space or tab continues the previous field's value (obsolete line folding, joined with one
 * space); lines without a colon, or with an empty name, are skipped. Names keep their case in
 * `fields` and are lower-cased in `values`. The last few results are memoized by buffer identity
 * (an exchange's heads are never modified).
 */
export function parseHead(head: Buffer): ParsedHead {
  for (let i = 0; i < MEMO; i++) if (memoHeads[i] === head) return memoParsed[i]!;
  const lines = head.toString('latin1').split('\n');
  const fields: [string, string][] = [];
  for (let i = 1; i < lines.length; i++) {
    let line = lines[i]!;
    if (line.endsWith('\r')) line = line.slice(0, -1);
    if (line === '') continue;
    const last = fields[fields.length - 1];
    if ((line[0] === ' ' || line[0] === '\t') && last !== undefined) {
      last[1] = `${last[1]} ${line.trim()}`.trim();
      continue;
    }
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim();
    if (name !== '') fields.push([name, line.slice(colon + 1).trim()]);
  }
  const values = new Map<string, string[]>();
  for (const [name, value] of fields) {
    const k = name.toLowerCase();
    const list = values.get(k);
    if (list === undefined) values.set(k, [value]);
    else list.push(value);
  }
  const first = lines[0] ?? '';
  const result: ParsedHead = { startLine: first.endsWith('\r') ? first.slice(0, -1) : first, fields, values };
  memoHeads[memoNext] = head;
  memoParsed[memoNext] = result;
  memoNext = (memoNext + 1) % MEMO;
  return result;
}

/** The request method of an exchange (the first word of its request line, upper-cased), or ''. */
export function exchangeMethod(exchange: Exchange): string {
  const line = parseHead(exchange.requestHead).startLine;
  const sp = line.indexOf(' ');
  return (sp < 0 ? line : line.slice(0, sp)).toUpperCase();
}

/** Cache-Control directives by lower-case name, each with its arguments (null: no `=value`) in order. */
export type Directives = ReadonlyMap<string, readonly (string | null)[]>;

/**
 * Parses Cache-Control field values (every line of the field, as they came) into directives.
 * Directives are comma-separated `name` or `name=value`, the value a token or a quoted-string
 * (backslash escapes undone; recipients accept both forms, RFC 9111 §5.2, so `max-age="60"` is
 * 60). Names are case-insensitive; a repeated directive keeps every argument so that callers can
 * tell duplicates. Commas inside a quoted string do not split; an unterminated quote runs to the
 * end; empty members are skipped.
 */
export function parseCacheControl(values: readonly string[]): Directives {
  const out = new Map<string, (string | null)[]>();
  const s = values.join(',');
  let i = 0;
  while (i < s.length) {
    let j = i;
    while (j < s.length && s[j] !== ',' && s[j] !== '=') j++;
    const name = s.slice(i, j).trim().toLowerCase();
    let arg: string | null = null;
    if (s[j] === '=') {
      j++;
      while (s[j] === ' ' || s[j] === '\t') j++;
      if (s[j] === '"') {
        let v = '';
        for (j++; j < s.length && s[j] !== '"'; j++) v += s[j] === '\\' && j + 1 < s.length ? s[++j] : s[j];
        arg = v;
        while (j < s.length && s[j] !== ',') j++; // skips the closing quote and any junk after it
      } else {
        const start = j;
        while (j < s.length && s[j] !== ',') j++;
        arg = s.slice(start, j).trim();
      }
    }
    if (name !== '') {
      const list = out.get(name);
      if (list === undefined) out.set(name, [arg]);
      else list.push(arg);
    }
    i = j + 1;
  }
  return out;
}

const IMF_FIXDATE = /^[A-Za-z]{3}, \d{2} [A-Za-z]{3} \d{4} \d{2}:\d{2}:\d{2} GMT$/;
const RFC850_DATE = /^[A-Za-z]{6,9}, \d{2}-[A-Za-z]{3}-\d{2} \d{2}:\d{2}:\d{2} GMT$/;
const ASCTIME_DATE = /^[A-Za-z]{3} [A-Za-z]{3} [ \d]\d \d{2}:\d{2}:\d{2} \d{4}$/;

/**
 * An HTTP-date (RFC 9110 §5.6.7) as ms since the epoch, or null when `value` is not one. Accepts
 * the forms retry.ts's parseRetryAfter accepts: IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`),
 * RFC 850 (`Sunday, 06-Nov-94 08:49:37 GMT`) and asctime (`Sun Nov  6 08:49:37 1994`, read as
 * UTC); surrounding whitespace is ignored. Anything else, `0` and `-1` included, is null.
 */
export function parseHttpDate(value: string): number | null {
  const v = value.trim();
  let at: number;
  if (IMF_FIXDATE.test(v) || RFC850_DATE.test(v)) at = Date.parse(v);
  else if (ASCTIME_DATE.test(v)) at = Date.parse(`${v} GMT`);
  else return null;
  return Number.isNaN(at) ? null : at;
}

// The value of a field that must occur once: the value when every line agrees, else undefined
// (RFC 9111 §4.2.1 lets a cache treat conflicting duplicates as stale).
function single(values: readonly string[] | undefined): string | undefined {
  if (values === undefined || values.length === 0) return undefined;
  const first = values[0]!;
  return values.every((v) => v === first) ? first : undefined;
}

function dateOf(values: readonly string[] | undefined): number | null {
  const v = single(values);
  return v === undefined ? null : parseHttpDate(v);
}

// delta-seconds (RFC 9111 §1.2.2): digits only; larger than 2^31 is taken as 2^31.
const MAX_DELTA_SECONDS = 2 ** 31;
function deltaSeconds(v: string | null | undefined): number | null {
  if (v === null || v === undefined || !/^\d+$/.test(v)) return null;
  return Math.min(Number(v), MAX_DELTA_SECONDS);
}

function responseDirectives(exchange: Exchange): Directives {
  return parseCacheControl(parseHead(exchange.responseHead).values.get('cache-control') ?? []);
}

/** Statuses that may be given a heuristic freshness lifetime (RFC 9110 §15.1). */
export const HEURISTIC_STATUSES: ReadonlySet<number> = new Set([
  200, 203, 204, 206, 300, 301, 308, 404, 405, 410, 414, 501,
]);

/** The longest heuristic freshness lifetime, in ms (24 h). */
export const MAX_HEURISTIC_MS = 86_400_000;

/**
 * Whether a private cache may store `exchange` (RFC 9111 §3). Requires: method GET or HEAD (a
 * POST's response is never reused here); a complete body (`truncated` unset); a final status the
 * cache understands — every status ≥ 200 except 206 (this cache does no ranges) and 304 (only a
 * revalidation's answer, see mergeNotModified); no `no-store` in the response's or the request's
 * Cache-Control; and something that makes it cacheable: `public`, `private`, `max-age`, an
 * Expires field, or a heuristically cacheable status (HEURISTIC_STATUSES). `s-maxage` does not
 * count (it is for shared caches). So a 500 or a 302 without explicit freshness is not stored.
 */
export function storable(exchange: Exchange): boolean {
  const method = exchangeMethod(exchange);
  if (method !== 'GET' && method !== 'HEAD') return false;
  if (exchange.truncated !== undefined) return false;
  const status = exchange.status;
  if (status < 200 || status === 206 || status === 304) return false;
  const cc = responseDirectives(exchange);
  if (cc.has('no-store')) return false;
  if (parseCacheControl(parseHead(exchange.requestHead).values.get('cache-control') ?? []).has('no-store'))
    return false;
  if (cc.has('public') || cc.has('private') || cc.has('max-age')) return true;
  return parseHead(exchange.responseHead).values.has('expires') || HEURISTIC_STATUSES.has(status);
}

/**
 * The response's date_value (RFC 9111 §4.2.3): its Date field, or `responseTime` when Date is
 * missing, invalid or given twice with different values (RFC 9110 §6.6.1: a recipient caching a
 * response without Date dates it on receipt).
 */
export function dateValue(exchange: Exchange, responseTime: number): number {
  return dateOf(parseHead(exchange.responseHead).values.get('date')) ?? responseTime;
}

/**
 * The freshness lifetime of `exchange` in ms (RFC 9111 §4.2.1), for a private cache: `max-age`
 * when present (a quoted value counts; a missing, non-numeric, negative or fractional value, or
 * several different ones, give 0: stale); otherwise Expires − date_value (an invalid Expires such
 * as `0`, or several different ones, give 0; an Expires before Date gives 0); otherwise a
 * heuristic (§4.2.2) for a HEURISTIC_STATUSES status or a `public` response: 10 % of
 * date_value − Last-Modified, capped at MAX_HEURISTIC_MS, 0 without a valid Last-Modified. Date
 * falls back on `responseTime` (dateValue). `s-maxage` is ignored; `no-cache` is not looked at
 * here (isFresh does).
 */
export function freshnessLifetime(exchange: Exchange, responseTime: number): number {
  const head = parseHead(exchange.responseHead);
  const cc = responseDirectives(exchange);
  const maxAge = cc.get('max-age');
  if (maxAge !== undefined) {
    const first = deltaSeconds(maxAge[0]);
    return first !== null && maxAge.every((v) => v === maxAge[0]) ? first * 1000 : 0;
  }
  const date = dateValue(exchange, responseTime);
  const expires = head.values.get('expires');
  if (expires !== undefined) {
    const at = dateOf(expires);
    return at === null ? 0 : Math.max(0, at - date);
  }
  if (!HEURISTIC_STATUSES.has(exchange.status) && !cc.has('public')) return 0;
  const lastModified = dateOf(head.values.get('last-modified'));
  if (lastModified === null || lastModified >= date) return 0;
  return Math.min(MAX_HEURISTIC_MS, Math.floor((date - lastModified) / 10));
}

/** When a stored response was requested and received, in ms since the epoch. */
export interface CacheTimes {
  /** When the request that produced the response was sent (request_time). */
  requestTime: number;
  /** When the response was received (response_time). */
  responseTime: number;
}

/**
 * The current age of `exchange` at `now` in ms (RFC 9111 §4.2.3): the larger of the apparent age
 * (response_time − date_value, at least 0) and the Age field plus the response delay
 * (response_time − request_time), plus the time resident in the cache (now − response_time). An
 * Age that is not delta-seconds, or given twice with different values, counts as 0; a `now`
 * before response_time (a clock stepped back) counts as no resident time.
 */
export function currentAge(exchange: Exchange, times: CacheTimes, now: number): number {
  const age = deltaSeconds(single(parseHead(exchange.responseHead).values.get('age'))) ?? 0;
  const apparent = Math.max(0, times.responseTime - dateValue(exchange, times.responseTime));
  const corrected = age * 1000 + Math.max(0, times.responseTime - times.requestTime);
  return Math.max(apparent, corrected) + Math.max(0, now - times.responseTime);
}

/**
 * Whether `exchange` may be used at `now` without contacting the server (RFC 9111 §4.2): its
 * freshness lifetime is greater than its current age (so at age == lifetime it is stale), and its
 * Cache-Control has no `no-cache` (§5.2.2.4: always revalidate; a `no-cache="field"` is taken as
 * plain no-cache). A stale response is never served: `must-revalidate` (§5.2.2.2) thus changes
 * nothing here — it forbids only what this cache never does.
 */
export function isFresh(exchange: Exchange, times: CacheTimes, now: number): boolean {
  if (responseDirectives(exchange).has('no-cache')) return false;
  return freshnessLifetime(exchange, times.responseTime) > currentAge(exchange, times, now);
}

/**
 * The headers of a conditional request that revalidates `exchange` (RFC 9110 §13.1):
 * `If-None-Match` with its ETag and `If-Modified-Since` with its Last-Modified (verbatim, when it
 * is a valid HTTP-date). A field given twice with different values is not used. Empty when the
 * response has no validator: it cannot be revalidated, only fetched again.
 */
export function validators(exchange: Exchange): Record<string, string> {
  const values = parseHead(exchange.responseHead).values;
  const out: Record<string, string> = {};
  const etag = single(values.get('etag'));
  if (etag !== undefined && etag !== '') out['If-None-Match'] = etag;
  const lastModified = single(values.get('last-modified'));
  if (lastModified !== undefined && parseHttpDate(lastModified) !== null)
    out['If-Modified-Since'] = lastModified;
  return out;
}

// Fields a 304 does not update (RFC 9111 §3.1, §3.2): hop-by-hop fields, and those describing the
// stored body's bytes, which the 304 does not carry (Content-Length, and the codings: the body is
// kept as received, so a different Content-Encoding would mislabel it).
const NOT_UPDATED = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'te',
  'transfer-encoding',
  'upgrade',
  'trailer',
  'proxy-authenticate',
  'proxy-authentication-info',
  'proxy-authorization',
  'content-length',
  'content-encoding',
  'content-range',
]);

function opaqueTag(etag: string): string {
  return etag.startsWith('W/') ? etag.slice(2) : etag;
}

// RFC 9111 §4.3.4: whether a 304 selects the stored response. A strong ETag must equal the stored
// one (strong comparison); a weak one must match it weakly; failing an ETag, a Last-Modified must
// name the same time. A 304 with no validator selects it (we hold one response per key, and it is
// the one whose validators the request sent; RFC 9110 does not require Last-Modified in a 304).
function selects(stored: ParsedHead, notModified: ParsedHead): boolean {
  const etag = single(notModified.values.get('etag'));
  if (etag !== undefined) {
    const mine = single(stored.values.get('etag'));
    if (mine === undefined) return false;
    if (!etag.startsWith('W/')) return !mine.startsWith('W/') && mine === etag;
    return opaqueTag(mine) === opaqueTag(etag);
  }
  const lm = dateOf(notModified.values.get('last-modified'));
  if (lm !== null) return dateOf(stored.values.get('last-modified')) === lm;
  return true;
}

/**
 * The stored response freshened by a 304 that answered its revalidation (RFC 9111 §4.3.4), or
 * null when the 304's validators do not select it (its strong ETag differs, say): then the stored
 * response must not be used and the page is fetched again without conditions. Every header field
 * the 304 carries replaces all stored lines of that name (kept in the stored order, the 304's
 * lines appended), except hop-by-hop fields, fields its Connection names, and Content-Length,
 * Content-Encoding and Content-Range (they describe the stored body). A stored Date is dropped
 * when the 304 has none, so the age is counted from the revalidation (dateValue then falls back
 * on its response time). The result has the stored status, body, request head and body, and the
 * 304's `date` (and `ip` when known). Throws a RangeError when `notModified.status` is not 304.
 */
export function mergeNotModified(stored: Exchange, notModified: Exchange): Exchange | null {
  if (notModified.status !== 304) throw new RangeError(`expected a 304 response, got ${notModified.status}`);
  const old = parseHead(stored.responseHead);
  const fresh = parseHead(notModified.responseHead);
  if (!selects(old, fresh)) return null;
  const skip = new Set(NOT_UPDATED);
  for (const v of fresh.values.get('connection') ?? [])
    for (const name of v.split(',')) skip.add(name.trim().toLowerCase());
  const replaced = new Set<string>();
  for (const k of fresh.values.keys()) if (!skip.has(k)) replaced.add(k);
  if (!fresh.values.has('date')) replaced.add('date');
  const lines = [old.startLine];
  for (const [name, value] of old.fields)
    if (!replaced.has(name.toLowerCase())) lines.push(`${name}: ${value}`);
  for (const [name, value] of fresh.fields)
    if (replaced.has(name.toLowerCase())) lines.push(`${name}: ${value}`);
  return {
    ...stored,
    date: notModified.date,
    ip: notModified.ip ?? stored.ip,
    responseHead: Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1'),
  };
}

/**
 * The request headers a response varies on (RFC 9111 §4.1): the lower-cased names listed by its
 * Vary fields (every line, comma-separated, duplicates once), `'*'` when one of them is `*` (the
 * response matches no later request), or an empty list without Vary.
 */
export function varyNames(exchange: Exchange): readonly string[] | '*' {
  const names = new Set<string>();
  for (const v of parseHead(exchange.responseHead).values.get('vary') ?? []) {
    for (const raw of v.split(',')) {
      const name = raw.trim().toLowerCase();
      if (name === '*') return '*';
      if (name !== '') names.add(name);
    }
  }
  return [...names];
}

/** A request's values of a response's Vary headers (lower-case name → value, null when absent), or '*'. */
export type VaryValues = Readonly<Record<string, string | null>> | '*';

/**
 * The values `requestHeaders` has for `names` (from varyNames), normalized as RFC 9111 §4.1 allows:
 * trimmed, whitespace around commas removed, other whitespace runs made one space; null for a
 * header the request lacks. Names in `requestHeaders` match case-insensitively. `'*'` stays `'*'`.
 */
export function selectingValues(
  names: readonly string[] | '*',
  requestHeaders: Readonly<Record<string, string>>,
): VaryValues {
  if (names === '*') return '*';
  const out: Record<string, string | null> = {};
  if (names.length === 0) return out;
  const lower = new Map<string, string>();
  for (const [k, v] of Object.entries(requestHeaders)) lower.set(k.toLowerCase(), v);
  for (const name of names) {
    const v = lower.get(name);
    out[name] =
      v === undefined
        ? null
        : v
            .trim()
            .replace(/\s*,\s*/g, ',')
            .replace(/\s+/g, ' ');
  }
  return out;
}

/**
 * Whether a request with `requestHeaders` may use a response stored with the selecting values
 * `stored` (RFC 9111 §4.1): every stored header's normalized value equals the request's (both
 * absent counts as equal). `'*'` never matches.
 */
export function varyMatches(stored: VaryValues, requestHeaders: Readonly<Record<string, string>>): boolean {
  if (stored === '*') return false;
  const names = Object.keys(stored);
  if (names.length === 0) return true;
  const now = selectingValues(names, requestHeaders) as Readonly<Record<string, string | null>>;
  return names.every((n) => now[n] === stored[n]);
}
