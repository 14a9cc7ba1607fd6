import { createHash } from 'node:crypto';
import {
  accessSync,
  constants,
  mkdirSync,
  readFileSync,
  renameSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { threadId } from 'node:worker_threads';
import { crc32 } from 'node:zlib';
import type { Exchange } from '../exchange.js';
import { asStorageFull } from '../store/storage-full.js';
import {
  exchangeMethod,
  isFresh,
  mergeNotModified,
  selectingValues,
  storable,
  type VaryValues,
  validators,
  varyMatches,
  varyNames,
} from './cache-policy.js';

/**
 * How the cache is used. 'replay': every stored response is reused, whatever its headers (for
 * iterating on a scraper); 'refresh': never read, every response (re)stored; 'rfc9111': a private
 * HTTP cache (fresh entries reused, stale ones revalidated).
 */
export type CacheMode = 'replay' | 'refresh' | 'rfc9111';

/** The modes, for the flag's parser and the options check. */
export const CACHE_MODES: readonly CacheMode[] = ['replay', 'refresh', 'rfc9111'];

/** What HttpCache.lookup found for a request. */
export type CacheLookup =
  /** Nothing usable: fetch, then store(). */
  | { kind: 'miss' }
  /** Use `exchange` without the network. */
  | { kind: 'fresh'; exchange: Exchange }
  /**
   * Revalidate: fetch with the `conditional` headers added; a 304 goes to revalidated(), any
   * other response to store() as a new one.
   */
  | { kind: 'stale'; exchange: Exchange; conditional: Record<string, string> };

/** Counters of one HttpCache since it was opened. */
export interface CacheStats {
  /** Lookups answered 'fresh'. */
  hits: number;
  /** Lookups answered 'miss' (every lookup in 'refresh' mode). */
  misses: number;
  /** Lookups answered 'stale'. */
  stale: number;
  /** Entries written (new responses and revalidated ones). */
  stores: number;
  /** 304s merged into a stored response by revalidated(). */
  revalidated: number;
}

/** The cache directory cannot be used; the message names the path and the problem in one line. */
export class CacheError extends Error {
  override readonly name = 'CacheError';
  /** The directory or entry file concerned. */
  readonly path: string;

  constructor(path: string, detail: string) {
    super(`${path}: ${detail}`);
    this.path = path;
  }
}

// An entry file: this line, one line of JSON metadata, then the request head, request body,
// response head and response body, back to back (lengths and a CRC-32 of the four in the JSON).
const MAGIC = 'trawl-cache 1';
const MAGIC_BYTES = Buffer.from(MAGIC, 'latin1');
const EMPTY = Buffer.alloc(0);

/** The JSON line of an entry file. */
interface EntryMeta {
  url: string;
  method: string;
  /** sha256 (hex) of the request body, null without one. */
  bodySha256: string | null;
  status: number;
  /** Exchange.date: when the request was sent. */
  date: number;
  ip: string | null;
  requestTime: number;
  responseTime: number;
  truncated: Exchange['truncated'] | null;
  /** The request's values of the response's Vary headers at store time. */
  vary: VaryValues;
  /** Byte lengths of request head, request body (-1: null), response head, response body. */
  len: [number, number, number, number];
  /** CRC-32 of the four parts in that order. */
  crc: number;
}

interface Entry {
  meta: EntryMeta;
  exchange: Exchange;
}

function sha256(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

function isLength(n: unknown, min: number): n is number {
  return typeof n === 'number' && Number.isInteger(n) && n >= min;
}

// Just enough checking that a damaged or foreign file cannot make lookup throw or return junk.
function validMeta(m: unknown): m is EntryMeta {
  if (typeof m !== 'object' || m === null) return false;
  const e = m as Partial<EntryMeta>;
  return (
    typeof e.url === 'string' &&
    typeof e.method === 'string' &&
    (e.bodySha256 === null || typeof e.bodySha256 === 'string') &&
    typeof e.status === 'number' &&
    typeof e.date === 'number' &&
    (e.ip === null || typeof e.ip === 'string') &&
    typeof e.requestTime === 'number' &&
    typeof e.responseTime === 'number' &&
    (e.vary === '*' || (typeof e.vary === 'object' && e.vary !== null)) &&
    Array.isArray(e.len) &&
    e.len.length === 4 &&
    e.len.every((n, i) => isLength(n, i === 1 ? -1 : 0)) &&
    typeof e.crc === 'number'
  );
}

let tmpCounter = 0;

/**
 * An HTTP response cache in a directory: one file per request key (`DIR/ab/<sha256>.cache`, fanned
 * out by the key's first two hex digits), each holding the exchange as received — request head
 * and body, response head and body with its content coding — and its times. Nothing is held in
 * memory, so several HttpCache instances (or processes) on one directory see each other's
 * entries at once. Writes go to a temporary file in the entry's directory and are renamed over the
 * entry, so a reader sees the old entry or the new one, never a torn one, even after a kill -9;
 * an entry damaged some other way (truncated, garbled, another format version) reads as a miss
 * and is replaced by the next store. Entries are not fsynced: after a power loss an entry may
 * read as a miss. All I/O is synchronous: an entry is a few tens of KB.
 */
export class HttpCache {
  readonly dir: string;
  readonly mode: CacheMode;
  readonly #stats: CacheStats = { hits: 0, misses: 0, stale: 0, stores: 0, revalidated: 0 };

  private constructor(dir: string, mode: CacheMode) {
    this.dir = dir;
    this.mode = mode;
  }

  /**
   * Opens (creating it and its parents when missing) the cache directory `dir` in `mode`. Throws a
   * CacheError naming `dir` when it exists but is not a directory (or a parent is a file), cannot
   * be created, or is not readable and writable, and when `mode` is not one of CACHE_MODES.
   */
  static open(dir: string, mode: CacheMode): HttpCache {
    if (!CACHE_MODES.includes(mode))
      throw new CacheError(dir, `unknown cache mode '${mode}' (expected ${CACHE_MODES.join(', ')})`);
    try {
      mkdirSync(dir, { recursive: true });
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      if (code === 'EEXIST') throw new CacheError(dir, 'exists and is not a directory');
      if (code === 'ENOTDIR') throw new CacheError(dir, 'a parent of the cache directory is a file');
      throw new CacheError(dir, `cannot create the cache directory (${(err as Error).message})`);
    }
    try {
      accessSync(dir, constants.R_OK | constants.W_OK | constants.X_OK);
    } catch (err) {
      throw new CacheError(
        dir,
        `cache directory is not writable (${(err as { code?: string }).code ?? err})`,
      );
    }
    return new HttpCache(dir, mode);
  }

  /** The counters since open (a live view: it changes as the cache is used). */
  get stats(): Readonly<CacheStats> {
    return this.#stats;
  }

  /**
   * The file of the entry for a request: `DIR/<first 2 hex>/<key>.cache`, the key being the
   * sha256 (hex) of the text `METHOD url` (method upper-cased) or, with a non-empty body,
   * `METHOD url <sha256 hex of the body>` — so a POST with another body is another entry, and an
   * empty body is the same as none.
   */
  entryPath(method: string, url: string, requestBody: Uint8Array | null): string {
    return this.#path(method.toUpperCase(), url, bodyHash(requestBody));
  }

  #path(method: string, url: string, bodySha: string | null): string {
    const key = sha256(bodySha === null ? `${method} ${url}` : `${method} ${url} ${bodySha}`);
    return join(this.dir, key.slice(0, 2), `${key}.cache`);
  }

  /**
   * What the cache holds for a request of `method` on `url` with `requestBody` and the headers
   * `requestHeaders` it will be sent with (used for Vary; names any case), at clock time `now`.
   * 'refresh' mode: always a miss, the disk is not read. Otherwise an entry counts only when it is
   * readable and intact, is for the same method, URL and body, and its Vary headers' values at
   * store time equal the request's (RFC 9111 §4.1; a `Vary: *` response never matches). Then
   * 'replay' mode answers 'fresh' whatever the entry's status and headers; 'rfc9111' mode answers
   * 'fresh' for an entry storable() would store and isFresh() at `now`, 'stale' with the
   * conditional headers for one that is not fresh but has validators, and a miss otherwise.
   * Never throws for a missing or damaged entry.
   */
  lookup(
    method: string,
    url: string,
    requestBody: Uint8Array | null,
    requestHeaders: Readonly<Record<string, string>>,
    now: number,
  ): CacheLookup {
    const s = this.#stats;
    if (this.mode === 'refresh') return miss(s);
    const m = method.toUpperCase();
    const bodySha = bodyHash(requestBody);
    const entry = readEntry(this.#path(m, url, bodySha));
    if (entry === null) return miss(s);
    const meta = entry.meta;
    if (meta.method !== m || meta.url !== url || meta.bodySha256 !== bodySha) return miss(s);
    if (!varyMatches(meta.vary, requestHeaders)) return miss(s);
    const exchange = entry.exchange;
    if (this.mode === 'replay') {
      s.hits++;
      return { kind: 'fresh', exchange };
    }
    // The directory may hold entries 'replay' or 'refresh' stored that this mode must not use.
    if (!storable(exchange)) return miss(s);
    if (isFresh(exchange, meta, now)) {
      s.hits++;
      return { kind: 'fresh', exchange };
    }
    const conditional = validators(exchange);
    if (Object.keys(conditional).length === 0) return miss(s);
    s.stale++;
    return { kind: 'stale', exchange, conditional };
  }

  /**
   * Stores `exchange` (one hop) under its request's method, URL and body, replacing any entry
   * there, with the values `requestHeaders` had for its Vary headers, the time its request was
   * sent (`requestTime`) and the time its response arrived (`responseTime`). 'replay' and
   * 'refresh' store every exchange, whatever its status, method or Cache-Control. 'rfc9111'
   * stores only what storable() allows and otherwise deletes the entry of that key (the new
   * response supersedes it); and a non-error (< 400) response to an unsafe method (POST, PUT,
   * DELETE...) deletes the GET and HEAD entries of its URL (RFC 9111 §4.4). A full disk or quota
   * throws StorageFullError naming the entry file; another write error throws a CacheError. A
   * failed store leaves the previous entry as it was.
   */
  store(
    exchange: Exchange,
    requestHeaders: Readonly<Record<string, string>>,
    requestTime: number,
    responseTime: number,
  ): void {
    const method = exchangeMethod(exchange);
    if (this.mode === 'rfc9111') {
      if (!SAFE_METHODS.has(method) && exchange.status < 400) {
        removeFile(this.#path('GET', exchange.url, null));
        removeFile(this.#path('HEAD', exchange.url, null));
      }
      if (!storable(exchange)) {
        removeFile(this.#path(method, exchange.url, bodyHash(exchange.requestBody)));
        return;
      }
    }
    const bodySha = bodyHash(exchange.requestBody);
    const parts = [
      exchange.requestHead,
      exchange.requestBody ?? EMPTY,
      exchange.responseHead,
      exchange.responseBody,
    ] as const;
    let crc = 0;
    for (const p of parts) crc = crc32(p, crc);
    const meta: EntryMeta = {
      url: exchange.url,
      method,
      bodySha256: bodySha,
      status: exchange.status,
      date: exchange.date,
      ip: exchange.ip,
      requestTime,
      responseTime,
      truncated: exchange.truncated ?? null,
      vary: selectingValues(varyNames(exchange), requestHeaders),
      len: [
        exchange.requestHead.length,
        exchange.requestBody === null ? -1 : exchange.requestBody.length,
        exchange.responseHead.length,
        exchange.responseBody.length,
      ],
      crc,
    };
    const file = this.#path(method, exchange.url, bodySha);
    const data = Buffer.concat([MAGIC_BYTES, Buffer.from(`\n${JSON.stringify(meta)}\n`), ...parts]);
    writeAtomic(file, data);
    this.#stats.stores++;
  }

  /**
   * Completes a revalidation: merges the 304 `notModified` into the `stale` exchange that lookup
   * returned (mergeNotModified), stores the result as store() does (with the conditional
   * request's `requestHeaders` and times) and returns it — the exchange to use for the page. Null
   * when the 304's validators do not select the stored response: the entry is deleted and the
   * page must be fetched again without conditions. Throws as store() does, and a RangeError when
   * `notModified` is not a 304.
   */
  revalidated(
    stale: Exchange,
    notModified: Exchange,
    requestHeaders: Readonly<Record<string, string>>,
    requestTime: number,
    responseTime: number,
  ): Exchange | null {
    const merged = mergeNotModified(stale, notModified);
    if (merged === null) {
      removeFile(this.#path(exchangeMethod(stale), stale.url, bodyHash(stale.requestBody)));
      return null;
    }
    this.#stats.revalidated++;
    this.store(merged, requestHeaders, requestTime, responseTime);
    return merged;
  }
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE']);

function miss(s: CacheStats): CacheLookup {
  s.misses++;
  return { kind: 'miss' };
}

function bodyHash(body: Uint8Array | null): string | null {
  return body === null || body.length === 0 ? null : sha256(body);
}

function removeFile(file: string): void {
  try {
    unlinkSync(file);
  } catch {
    // Missing already (the usual case), or not removable: a later lookup checks what it reads.
  }
}

// The entry in `file`, or null when it is missing, unreadable or not an intact entry of this
// format version (short, garbled, lengths or CRC not matching).
function readEntry(file: string): Entry | null {
  let buf: Buffer;
  try {
    buf = readFileSync(file);
  } catch {
    return null;
  }
  const nl1 = MAGIC_BYTES.length;
  if (buf.length <= nl1 || buf[nl1] !== 0x0a || MAGIC_BYTES.compare(buf, 0, nl1) !== 0) return null;
  const nl2 = buf.indexOf(0x0a, nl1 + 1);
  if (nl2 < 0) return null;
  let meta: unknown;
  try {
    meta = JSON.parse(buf.toString('utf8', nl1 + 1, nl2));
  } catch {
    return null;
  }
  if (!validMeta(meta)) return null;
  const [rqh, rqb, rsh, rsb] = meta.len;
  const start = nl2 + 1;
  if (start + rqh + Math.max(rqb, 0) + rsh + rsb !== buf.length) return null;
  if (crc32(buf.subarray(start)) !== meta.crc) return null;
  let at = start;
  const take = (n: number): Buffer => buf.subarray(at, (at += n));
  const requestHead = take(rqh);
  const requestBody = rqb < 0 ? null : take(rqb);
  const responseHead = take(rsh);
  const responseBody = take(rsb);
  const exchange: Exchange = {
    url: meta.url,
    date: meta.date,
    ip: meta.ip,
    requestHead,
    requestBody,
    responseHead,
    status: meta.status,
    responseBody,
  };
  if (meta.truncated !== null && meta.truncated !== undefined) exchange.truncated = meta.truncated;
  return { meta, exchange };
}

// Writes `data` to `file` through a temporary file renamed over it (atomic on POSIX; the
// temporary's name is unique per process, thread and write). The fan-out directory is created on
// the first write into it.
function writeAtomic(file: string, data: Buffer): void {
  const tmp = `${file}.${process.pid}-${threadId}-${++tmpCounter}.tmp`;
  try {
    try {
      writeFileSync(tmp, data);
    } catch (err) {
      if ((err as { code?: unknown }).code !== 'ENOENT') throw err;
      mkdirSync(join(file, '..'), { recursive: true });
      writeFileSync(tmp, data);
    }
    renameSync(tmp, file);
  } catch (err) {
    removeFile(tmp);
    const full = asStorageFull(err, file);
    if (full !== null) throw full;
    throw new CacheError(file, `cannot store the cache entry (${(err as Error).message})`);
  }
}
