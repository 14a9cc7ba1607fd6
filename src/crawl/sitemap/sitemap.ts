/**
 * Streaming sitemap parsing (sitemaps.org protocol): XML urlset and sitemapindex, plain-text
 * sitemaps, gzip; plus {@link crawlSitemaps}, which follows index files to their urlsets.
 */
import { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { Parser } from 'htmlparser2';

/** One `<url>` of a urlset (or a text-sitemap line) or one `<sitemap>` of a sitemapindex. */
export interface SitemapEntry {
  /** `url` for a page, `sitemap` for a child sitemap listed by an index. */
  kind: 'url' | 'sitemap';
  /** The absolute http(s) URL, XML-unescaped and trimmed, exactly as listed (not normalised). */
  loc: string;
  /** W3C Datetime as written (`1997`, `1997-07-16`, `1997-07-16T19:20:30.45+01:00`, …). */
  lastmod?: string;
  changefreq?: Changefreq;
  /** 0.0–1.0; absent when the sitemap gives none (the protocol's default is 0.5). */
  priority?: number;
}

/** The protocol's changefreq values. */
export type Changefreq = 'always' | 'hourly' | 'daily' | 'weekly' | 'monthly' | 'yearly' | 'never';

/** Options for {@link parseSitemap}. */
export interface ParseSitemapOptions {
  /** Where the sitemap came from (for error messages). */
  url: string;
  /** Force gunzip; otherwise gzip is detected by its magic bytes `1f 8b`. */
  gzip?: boolean;
  /**
   * Stop with a {@link SitemapTooLargeError} after this many decoded (uncompressed) bytes.
   * Default 50 MiB, the protocol's limit; it is also what defuses gzip bombs.
   */
  maxBytes?: number;
}

/** Thrown by {@link parseSitemap} when a sitemap inflates beyond `maxBytes`. */
export class SitemapTooLargeError extends Error {
  constructor(
    readonly url: string,
    readonly maxBytes: number,
  ) {
    super(`sitemap ${url} exceeds ${maxBytes} bytes uncompressed`);
    this.name = 'SitemapTooLargeError';
  }
}

/** The protocol's limit on the uncompressed size of one sitemap (52,428,800 bytes). */
export const MAX_SITEMAP_BYTES = 50 * 1024 * 1024;
/** The protocol's limit on `loc` length (the XSD's maxLength). */
export const MAX_LOC_LENGTH = 2048;

const CHANGEFREQS = new Set<string>(['always', 'hourly', 'daily', 'weekly', 'monthly', 'yearly', 'never']);
/** The six W3C NOTE-datetime forms: YYYY, YYYY-MM, YYYY-MM-DD, then hh:mm[:ss[.s+]] with a TZD. */
const W3C_DATETIME =
  /^\d{4}(?:-(?:0[1-9]|1[0-2])(?:-(?:0[1-9]|[12]\d|3[01])(?:T(?:[01]\d|2[0-3]):[0-5]\d(?::[0-5]\d(?:\.\d+)?)?(?:Z|[+-](?:[01]\d|2[0-3]):[0-5]\d))?)?)?$/;
/** Sitemap namespaces whose prefixed elements count as sitemap elements (unprefixed ones always do). */
const SITEMAP_NS = /^https?:\/\/www\.(?:sitemaps\.org|google\.com)\/schemas\/sitemap\//;
/** Cap on collected element text: anything longer is an invalid value anyway. */
const MAX_FIELD_CHARS = 4096;

/**
 * Parses one sitemap from a byte stream, yielding its valid entries in document order as they
 * are parsed. The format is sniffed: gzip by magic bytes (or `opts.gzip`), then XML if the first
 * non-whitespace character after an optional BOM is `<`, else a text sitemap (one URL per line;
 * blank and non-URL lines skipped). XML is read namespace-agnostically: `urlset`/`url` and
 * `sitemapindex`/`sitemap` elements are recognised unprefixed (any default namespace, so the
 * 0.9 and legacy Google 0.84 namespaces both work, as does none) or under a prefix bound to a
 * sitemaps.org/google sitemap namespace; elements of other namespaces (image:loc, xhtml:link…)
 * are ignored with everything inside them. Values are XML-unescaped (entities, character
 * references, CDATA) and trimmed. An entry without a valid absolute http(s) `loc` of at most
 * 2048 characters is skipped; an invalid lastmod (not W3C Datetime), changefreq (not one of
 * the seven) or priority (not a number in 0–1) is dropped while the entry is kept.
 *
 * Streaming and backpressure: input is decoded and parsed one chunk at a time and the entries
 * of each chunk are yielded before the next chunk is read, so memory is bounded by the chunk
 * size whatever the sitemap's size, and a slow consumer pauses the source. Returning early
 * from the generator destroys the source. Throws {@link SitemapTooLargeError} after
 * `maxBytes` decoded bytes (entries before that point have been yielded), and rethrows
 * source and gunzip errors.
 */
export async function* parseSitemap(
  source: AsyncIterable<Uint8Array> | Readable,
  opts: ParseSitemapOptions,
): AsyncGenerator<SitemapEntry> {
  const maxBytes = opts.maxBytes ?? MAX_SITEMAP_BYTES;
  const it = (source as AsyncIterable<Uint8Array>)[Symbol.asyncIterator]();
  const first = await it.next();
  if (first.done) return;
  const head = first.value;
  const gzip = opts.gzip === true || (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b);
  const replayed = replay(head, it);
  let input: Readable | undefined;
  let chunks: AsyncIterable<Uint8Array> = replayed;
  if (gzip) {
    const raw = Readable.from(replayed, { objectMode: false });
    const gunzip = createGunzip();
    raw.on('error', (err) => gunzip.destroy(err));
    raw.pipe(gunzip);
    input = gunzip;
    chunks = gunzip;
    // Destroying gunzip alone would leave `raw` (and the source) open.
    gunzip.on('close', () => raw.destroy());
  }
  const decoder = new TextDecoder('utf-8');
  let sink: Sink | undefined;
  let sniffed = '';
  let bytes = 0;
  try {
    for await (const chunk of chunks) {
      bytes += chunk.length;
      if (bytes > maxBytes) throw new SitemapTooLargeError(opts.url, maxBytes);
      const text = decoder.decode(chunk, { stream: true });
      if (sink === undefined) {
        sniffed += text;
        const start = sniffed.search(/[^\s\uFEFF]/);
        if (start < 0) continue;
        sink = sniffed[start] === '<' ? new XmlSink() : new TextSink();
        sink.write(sniffed);
        sniffed = '';
      } else {
        sink.write(text);
      }
      if (sink.out.length > 0) yield* sink.out.splice(0);
    }
    const tail = decoder.decode();
    if (sink === undefined) {
      const rest = sniffed + tail;
      if (rest.trim() === '') return;
      sink = new TextSink();
      sink.write(rest);
    } else if (tail !== '') {
      sink.write(tail);
    }
    sink.end();
    if (sink.out.length > 0) yield* sink.out.splice(0);
  } finally {
    input?.destroy();
    // Not awaited: a source stalled in next() would hold the return() queued behind it.
    it.return?.()?.catch(() => {});
  }
}

async function* replay(head: Uint8Array, it: AsyncIterator<Uint8Array>): AsyncGenerator<Uint8Array> {
  yield head;
  for (;;) {
    const r = await it.next();
    if (r.done) return;
    yield r.value;
  }
}

interface Sink {
  readonly out: SitemapEntry[];
  write(text: string): void;
  end(): void;
}

class TextSink implements Sink {
  readonly out: SitemapEntry[] = [];
  private partial = '';

  write(text: string): void {
    const lines = (this.partial + text).split(/\r\n|\r|\n/);
    this.partial = lines.pop()!;
    // A line that never ends must not grow without bound.
    if (this.partial.length > MAX_FIELD_CHARS) this.partial = '';
    for (const line of lines) this.line(line);
  }

  end(): void {
    this.line(this.partial);
    this.partial = '';
  }

  private line(line: string): void {
    const loc = line.replace(/^\uFEFF/, '').trim();
    if (loc !== '' && validLoc(loc)) this.out.push({ kind: 'url', loc });
  }
}

type Field = 'loc' | 'lastmod' | 'changefreq' | 'priority';

class XmlSink implements Sink {
  readonly out: SitemapEntry[] = [];
  private readonly parser: Parser;
  /** Prefix → namespace bindings in scope, innermost last. */
  private readonly ns: Array<Map<string, string> | undefined> = [];
  /** Local names of the open sitemap elements; undefined marks a foreign element. */
  private readonly stack: Array<string | undefined> = [];
  /** Depth of open elements inside a foreign element (everything there is ignored). */
  private foreignDepth = 0;
  private entry: { kind: 'url' | 'sitemap'; fields: Partial<Record<Field, string>> } | undefined;
  private field: Field | undefined;
  private text = '';

  constructor() {
    this.parser = new Parser(
      {
        onopentag: (name, attribs) => this.open(name, attribs),
        onclosetag: () => this.close(),
        ontext: (t) => {
          if (this.field !== undefined && this.foreignDepth === 0 && this.text.length < MAX_FIELD_CHARS) {
            this.text += t;
          }
        },
      },
      { xmlMode: true, decodeEntities: true, recognizeCDATA: true },
    );
  }

  write(text: string): void {
    this.parser.write(text);
  }

  end(): void {
    this.parser.end();
  }

  private open(name: string, attribs: Record<string, string>): void {
    let bindings: Map<string, string> | undefined;
    for (const [k, v] of Object.entries(attribs)) {
      if (k === 'xmlns' || k.startsWith('xmlns:')) {
        bindings ??= new Map();
        bindings.set(k === 'xmlns' ? '' : k.slice(6), v);
      }
    }
    this.ns.push(bindings);
    if (this.foreignDepth > 0) {
      this.foreignDepth++;
      return;
    }
    const colon = name.indexOf(':');
    if (colon >= 0 && !SITEMAP_NS.test(this.lookup(name.slice(0, colon)) ?? '')) {
      this.foreignDepth = 1;
      this.stack.push(undefined);
      return;
    }
    const local = (colon >= 0 ? name.slice(colon + 1) : name).toLowerCase();
    const depth = this.stack.length;
    this.stack.push(local);
    if (depth === 1 && this.entry === undefined) {
      const root = this.stack[0];
      if (root === 'urlset' && local === 'url') this.entry = { kind: 'url', fields: {} };
      else if (root === 'sitemapindex' && local === 'sitemap') this.entry = { kind: 'sitemap', fields: {} };
    } else if (depth === 2 && this.entry !== undefined && isField(local)) {
      this.field = local;
      this.text = '';
    }
  }

  private close(): void {
    this.ns.pop();
    if (this.foreignDepth > 0) {
      this.foreignDepth--;
      if (this.foreignDepth === 0) this.stack.pop();
      return;
    }
    const depth = this.stack.length - 1;
    this.stack.pop();
    if (depth === 2 && this.field !== undefined && this.entry !== undefined) {
      if (this.entry.fields[this.field] === undefined) this.entry.fields[this.field] = this.text;
      this.field = undefined;
      this.text = '';
    } else if (depth === 1 && this.entry !== undefined) {
      const e = toEntry(this.entry.kind, this.entry.fields);
      if (e !== undefined) this.out.push(e);
      this.entry = undefined;
    }
  }

  private lookup(prefix: string): string | undefined {
    for (let i = this.ns.length - 1; i >= 0; i--) {
      const v = this.ns[i]?.get(prefix);
      if (v !== undefined) return v;
    }
    return undefined;
  }
}

function isField(name: string): name is Field {
  return name === 'loc' || name === 'lastmod' || name === 'changefreq' || name === 'priority';
}

function toEntry(kind: 'url' | 'sitemap', f: Partial<Record<Field, string>>): SitemapEntry | undefined {
  const loc = f.loc?.trim();
  if (loc === undefined || !validLoc(loc)) return undefined;
  const e: SitemapEntry = { kind, loc };
  const lastmod = f.lastmod?.trim();
  if (lastmod !== undefined && W3C_DATETIME.test(lastmod)) e.lastmod = lastmod;
  const changefreq = f.changefreq?.trim().toLowerCase();
  if (changefreq !== undefined && CHANGEFREQS.has(changefreq)) e.changefreq = changefreq as Changefreq;
  const priority = f.priority?.trim();
  if (priority !== undefined && /^(?:0(?:\.\d+)?|1(?:\.0+)?|\.\d+)$/.test(priority))
    e.priority = Number(priority);
  return e;
}

function validLoc(loc: string): boolean {
  if (loc.length > MAX_LOC_LENGTH || !/^https?:\/\//i.test(loc)) return false;
  return URL.canParse(loc);
}

/**
 * Reports whether `url` lies where a sitemap at `sitemapUrl` may list it (sitemaps.org
 * "Sitemap file location"): same scheme, host and port, and a path under the sitemap's
 * directory. Sitemaps submitted through robots.txt are exempt by the protocol, so crawlers
 * apply this only when they want the strict rule. False for unparseable URLs.
 */
export function isUnderSitemapLocation(sitemapUrl: string, url: string): boolean {
  try {
    const s = new URL(sitemapUrl);
    const u = new URL(url);
    if (s.protocol !== u.protocol || s.host !== u.host) return false;
    const dir = s.pathname.slice(0, s.pathname.lastIndexOf('/') + 1);
    return u.pathname.startsWith(dir);
  } catch {
    return false;
  }
}

/** Fetches a sitemap's body bytes (already Content-Encoding-decoded or not: gzip is sniffed). */
export type SitemapFetch = (url: string) => Promise<AsyncIterable<Uint8Array>>;

/** Options for {@link crawlSitemaps}. */
export interface CrawlSitemapsOptions {
  /** Page URLs failing this are skipped. Default: everything is in scope. */
  inScope?: (url: string) => boolean;
  /** Child sitemaps failing this are not fetched. Default: `inScope`. */
  followSitemap?: (url: string) => boolean;
  /** How many index levels to follow below the given sitemaps (they are depth 0). Default unbounded. */
  maxDepth?: number;
  /** Stop fetching after this many sitemaps in total (a trap guard). Default 10,000. */
  maxSitemaps?: number;
  /** Passed to {@link parseSitemap}. */
  maxBytes?: number;
  /** Called with a sitemap that failed to fetch or parse; the walk goes on. Default: ignore. */
  onError?: (sitemapUrl: string, err: unknown) => void;
  /** Stops the walk: the generator returns at the next entry or fetch. */
  signal?: AbortSignal;
}

/** A page found by {@link crawlSitemaps}, with the sitemap that listed it and that sitemap's depth. */
export interface SitemapPage extends SitemapEntry {
  kind: 'url';
  sitemap: string;
  depth: number;
}

/**
 * Walks sitemaps breadth-first from `urls`, yielding every in-scope page entry as its sitemap is
 * parsed. A sitemapindex's children are queued one level deeper and fetched if within
 * `maxDepth`, allowed by `followSitemap` and not seen before (URLs are compared after WHATWG
 * parsing and fragment removal), so index loops and repeats are fetched once; a `<url>` inside
 * an index or a `<sitemap>` inside a urlset is ignored by the parser. A sitemap that fails to
 * fetch or parse is reported to `onError` and skipped, keeping the entries it yielded before
 * failing. Pages are not de-duplicated across sitemaps (the frontier does that).
 */
export async function* crawlSitemaps(
  urls: Iterable<string>,
  fetchFn: SitemapFetch,
  opts: CrawlSitemapsOptions = {},
): AsyncGenerator<SitemapPage> {
  const inScope = opts.inScope ?? (() => true);
  const follow = opts.followSitemap ?? inScope;
  const maxDepth = opts.maxDepth ?? Number.POSITIVE_INFINITY;
  const maxSitemaps = opts.maxSitemaps ?? 10_000;
  const seen = new Set<string>();
  const queue: Array<{ url: string; depth: number }> = [];
  const enqueue = (raw: string, depth: number): void => {
    let key: string;
    try {
      const u = new URL(raw);
      u.hash = '';
      key = u.href;
    } catch {
      return;
    }
    if (seen.has(key) || seen.size >= maxSitemaps) return;
    seen.add(key);
    queue.push({ url: key, depth });
  };
  for (const u of urls) enqueue(u, 0);
  for (let i = 0; i < queue.length; i++) {
    if (opts.signal?.aborted) return;
    const { url, depth } = queue[i]!;
    try {
      const body = await fetchFn(url);
      for await (const e of parseSitemap(body, { url, maxBytes: opts.maxBytes, gzip: undefined })) {
        if (opts.signal?.aborted) return;
        if (e.kind === 'sitemap') {
          if (depth + 1 <= maxDepth && follow(e.loc)) enqueue(e.loc, depth + 1);
        } else if (inScope(e.loc)) {
          yield { ...e, kind: 'url', sitemap: url, depth };
        }
      }
    } catch (err) {
      opts.onError?.(url, err);
    }
    // Release finished entries: the queue only grows while indexes are being read.
    if (i > 1024) {
      queue.splice(0, i + 1);
      i = -1;
    }
  }
}
