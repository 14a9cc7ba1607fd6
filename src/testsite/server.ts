/**
 * The generated test site over HTTP (node:http only): the page graph of {@link buildSite},
 * robots.txt, sitemaps and the faults of faults.ts, with request accounting for assertions
 * (counts per path, peak concurrency, peak connections, receive times). Used by the tests,
 * `trawl demo` and the crawl benchmark.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { gzipSync } from 'node:zlib';
import {
  FAULT_ENDPOINTS,
  type FaultOptions,
  faultContext,
  resetMidBody,
  retryAfterValue,
  send,
  serveFaultEndpoint,
  trickle,
} from './faults.js';
import { type GenerationDiff, type GenerationOptions, Generations, serveVersioned } from './generations.js';
import { listen, stopServer } from './listen.js';
import { createMembersArea, type MembersArea, type MembersOptions } from './members.js';
import { buildSite, escapeHtml, mix, type Site } from './site.js';
import { serveTrap } from './traps.js';

/** How /robots.txt behaves. */
export interface RobotsOption {
  /** The body; `{origin}` is replaced by `http://host:port`. Default allows all and lists /sitemap.xml. */
  body?: string;
  /** Status to answer with (e.g. 404, 500). Default 200. */
  status?: number;
  /** Reset the connection instead of answering ("unreachable"). */
  reset?: boolean;
}

/** Options for {@link startTestSite}. */
export interface TestSiteOptions {
  /** Number of pages. Default 100. */
  pages?: number;
  /** Site links per page. Default 10. */
  linksPerPage?: number;
  /** Approximate page body size in bytes. Default 2048. */
  pageBytes?: number;
  /** PRNG seed. Default 1. */
  seed?: number;
  /** Delay before every response, in ms. Default 0. */
  latencyMs?: number;
  /** Listen address. Default 127.0.0.1. */
  host?: string;
  /** Listen port. Default 0: chosen by the OS (what tests use). */
  port?: number;
  /** Faults to lay on paths; the `/fault/...` endpoints are served regardless. */
  faults?: FaultOptions;
  /** /robots.txt behaviour. */
  robots?: RobotsOption;
  /**
   * Sitemap layout: at most `perFile` URLs per file (default 1000). With more pages,
   * /sitemap.xml is a sitemapindex of /sitemaps/<k>.xml (even k) and /sitemaps/<k>.xml.gz (odd k).
   */
  sitemap?: { perFile?: number };
  /** Record every request's receive time in `requestTimes`. Default true. */
  recordTimes?: boolean;
  /**
   * Recrawl support (generations.ts): pages carry a strong `ETag` and `Last-Modified`, answer
   * conditional GET/HEAD with 304, and change, disappear (404/410) or appear by `advance()`.
   * `true` means default options. Off by default: pages then carry no validators.
   */
  recrawl?: GenerationOptions | boolean;
  /** The members area (members.ts): /login, /members/*, a per-session guard. Off by default. */
  members?: MembersOptions;
  /** Every response carries `Set-Cookie: trawl_visit=<n>; Path=/` (n = request number). */
  setCookieEveryResponse?: boolean;
}

/** A running test site. */
export interface TestSite {
  /** Base URL with trailing slash, e.g. `http://127.0.0.1:40123/`. */
  readonly url: string;
  readonly port: number;
  /** The page graph (depths, links, bodies). */
  readonly site: Site;
  /** Requests per path including the query string, since start or the last reset(). */
  readonly counts: Map<string, number>;
  /** Total requests since start or the last reset(). */
  total(): number;
  /**
   * Peak number of requests in flight at once (received, response not yet closed). With
   * `latencyMs` 0 pages are answered synchronously, so overlap is only visible with latency.
   */
  readonly maxConcurrent: number;
  /** Peak number of open TCP connections. */
  readonly connections: number;
  /** Receive time of every request (ms since the epoch, sub-ms precision), in arrival order. */
  readonly requestTimes: number[];
  /** Page ids that answer 500 because of `faults.error500Rate`, ascending. */
  readonly errorPages: readonly number[];
  /** URL of page `id`. */
  pageUrl(id: number): string;
  /** The changing site when the `recrawl` option is set, else undefined. */
  readonly generations: Generations | undefined;
  /**
   * Moves the site to its next generation (see Generations.advance) and returns what changed;
   * sitemaps follow. Throws if the site was started without `recrawl`.
   */
  advance(): GenerationDiff;
  /** The members area when the `members` option is set, else undefined. */
  readonly members: MembersArea | undefined;
  /** Clears counts, times and fault hit counters; peaks restart from the current values. */
  reset(): void;
  /** A one-paragraph human description (for `trawl demo` and logs). */
  describe(): string;
  /** Stops listening, drops open connections and cancels pending slow/trickle responses. */
  close(): Promise<void>;
}

/**
 * Starts the test site on `host` (default 127.0.0.1), port chosen by the OS. Routes: `/` and
 * `/p/<id>` pages (see buildSite), `/robots.txt`, `/sitemap.xml`, `/sitemaps/<k>.xml[.gz]`,
 * `/sitemap.txt`, the `/fault/...` endpoints, and 404 for anything else. Path faults apply in
 * the order reset, 500, 429, 503, then slow (delay) and trickle (of the normal response).
 * Page bodies are rendered per request (a few µs; padding is a shared buffer slice) so memory
 * does not grow with the number of pages. Responses carry no Date header, so the same
 * options give byte-identical bodies.
 */
export async function startTestSite(opts: TestSiteOptions = {}): Promise<TestSite> {
  const faults = opts.faults ?? {};
  const site = buildSite({
    pages: opts.pages,
    linksPerPage: opts.linksPerPage,
    pageBytes: opts.pageBytes,
    seed: opts.seed,
    homeExtraLinks: [
      ...(faults.link === true ? FAULT_ENDPOINTS : []),
      ...(opts.members ? ['/members/'] : []),
    ],
  });
  const gens =
    opts.recrawl === undefined || opts.recrawl === false
      ? undefined
      : new Generations(site, opts.recrawl === true ? {} : opts.recrawl);
  const members = opts.members === undefined ? undefined : createMembersArea(opts.members);
  const setCookie = opts.setCookieEveryResponse === true;
  const latency = Math.max(0, opts.latencyMs ?? 0);
  const perFile = Math.max(1, opts.sitemap?.perFile ?? 1000);
  const recordTimes = opts.recordTimes ?? true;

  const errorPages: number[] = [];
  const rate = faults.error500Rate ?? 0;
  if (rate > 0) {
    for (let id = 1; id < site.pages; id++) {
      const leaf = site.branching * id + 1 >= site.pages;
      if (leaf && mix(site.seed, id, 4) / 2 ** 32 < rate) errorPages.push(id);
    }
  }
  const error500 = new Set<string>([
    ...(faults.error500Paths ?? []),
    ...errorPages.map((id) => site.pathOf(id)),
  ]);
  const setOf = (xs: readonly string[] | undefined): Set<string> => new Set(xs ?? []);
  const tooMany = setOf(faults.tooManyRequests?.paths);
  const unavailable = setOf(faults.unavailable?.paths);
  const slow = setOf(faults.slow?.paths);
  const trickled = setOf(faults.trickle?.paths);
  const resets = setOf(faults.reset?.paths);

  const counts = new Map<string, number>();
  const hitCounts = new Map<string, number>();
  const requestTimes: number[] = [];
  let total = 0;
  let inFlight = 0;
  let maxConcurrent = 0;
  let open = 0;
  let maxOpen = 0;
  let closing = false;
  const timers = new Set<NodeJS.Timeout>();
  const sitemapCache = new Map<string, Buffer>();
  let origin = '';

  const ctx = faultContext(hitCounts, timers, () => closing);

  const render = (
    req: IncomingMessage,
    path: string,
    res: ServerResponse,
    deliver: (status: number, type: string, body: Buffer, headers?: Record<string, string>) => void,
  ) => {
    if (gens !== undefined) {
      if (serveVersioned(gens, req, res, path, deliver)) return;
    } else {
      const id = site.idOfPath(path);
      if (id !== undefined) return deliver(200, 'text/html; charset=utf-8', site.render(id));
    }
    if (path === '/robots.txt') {
      const r = opts.robots ?? {};
      if (r.reset === true) return resetMidBody(res);
      const body = (r.body ?? 'User-agent: *\nAllow: /\n\nSitemap: {origin}/sitemap.xml\n').replaceAll(
        '{origin}',
        origin,
      );
      return deliver(r.status ?? 200, 'text/plain; charset=utf-8', Buffer.from(body));
    }
    if (path === '/sitemap.xml') return deliver(200, 'application/xml', sitemapXml());
    if (path === '/sitemap.txt') return deliver(200, 'text/plain; charset=utf-8', sitemapTxt());
    const m = /^\/sitemaps\/(\d+)\.xml(\.gz)?$/.exec(path);
    if (m !== null) {
      const k = Number(m[1]);
      const gz = m[2] !== undefined;
      if (idLimit() > perFile && k * perFile < idLimit() && gz === (k % 2 === 1)) {
        const xml = childSitemap(k);
        return deliver(
          200,
          gz ? 'application/gzip' : 'application/xml',
          gz ? cached(path, () => gzipSync(xml)) : xml,
        );
      }
    }
    return deliver(404, 'text/html; charset=utf-8', Buffer.from(notFound(path)));
  };

  // With generations, sitemaps list the pages ever created minus the gone ones, and are rebuilt
  // once per generation.
  const idLimit = (): number => gens?.size ?? site.pages;
  const listed = (id: number): boolean => gens === undefined || gens.isLive(id);
  let cachedGeneration = 0;
  const cached = (key: string, make: () => Buffer): Buffer => {
    if (gens !== undefined && gens.generation !== cachedGeneration) {
      sitemapCache.clear();
      cachedGeneration = gens.generation;
    }
    let b = sitemapCache.get(key);
    if (b === undefined) {
      b = make();
      sitemapCache.set(key, b);
    }
    return b;
  };
  const lastmod = (id: number): string =>
    gens !== undefined
      ? gens.lastmodText(id)
      : new Date(Date.UTC(2024, 0, 1) + (mix(site.seed, id, 5) % 365) * 86_400_000)
          .toISOString()
          .slice(0, 10);
  const urlEntries = (from: number, to: number): string => {
    let s = '';
    for (let id = from; id < to; id++) {
      if (!listed(id)) continue;
      s += `<url><loc>${origin}${site.pathOf(id)}</loc><lastmod>${lastmod(id)}</lastmod></url>\n`;
    }
    return s;
  };
  const XML_HEAD = '<?xml version="1.0" encoding="UTF-8"?>\n';
  const NS = 'xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"';
  const sitemapXml = (): Buffer =>
    cached('/sitemap.xml', () => {
      if (idLimit() <= perFile) {
        return Buffer.from(`${XML_HEAD}<urlset ${NS}>\n${urlEntries(0, idLimit())}</urlset>\n`);
      }
      let s = `${XML_HEAD}<sitemapindex ${NS}>\n`;
      for (let k = 0; k * perFile < idLimit(); k++) {
        s += `<sitemap><loc>${origin}/sitemaps/${k}.xml${k % 2 === 1 ? '.gz' : ''}</loc></sitemap>\n`;
      }
      return Buffer.from(`${s}</sitemapindex>\n`);
    });
  const childSitemap = (k: number): Buffer =>
    cached(`/sitemaps/${k}.xml`, () =>
      Buffer.from(
        `${XML_HEAD}<urlset ${NS}>\n${urlEntries(k * perFile, Math.min(idLimit(), (k + 1) * perFile))}</urlset>\n`,
      ),
    );
  const sitemapTxt = (): Buffer =>
    cached('/sitemap.txt', () => {
      let s = '';
      for (let id = 0; id < idLimit(); id++) if (listed(id)) s += `${origin}${site.pathOf(id)}\n`;
      return Buffer.from(s);
    });

  const handle = (req: IncomingMessage, res: ServerResponse, path: string): void => {
    if (members?.handle(req, res, path)) return;
    if (path.startsWith('/fault/')) {
      if (!serveFaultEndpoint(ctx, req, res, path))
        send(res, 404, 'text/html; charset=utf-8', notFound(path));
      return;
    }
    // Crawler traps (traps.ts), always served like the /fault/ endpoints.
    if (path.startsWith('/trap/')) {
      const q = (req.url ?? '').indexOf('?');
      if (!serveTrap(req, res, path, q < 0 ? '' : (req.url ?? '').slice(q + 1)))
        send(res, 404, 'text/html; charset=utf-8', notFound(path));
      return;
    }
    if (resets.has(path)) {
      resetMidBody(res);
      return;
    }
    if (error500.has(path)) {
      send(res, 500, 'text/html; charset=utf-8', errorPage(500, 'Internal Server Error'));
      return;
    }
    for (const [set, fault, status] of [
      [tooMany, faults.tooManyRequests, 429],
      [unavailable, faults.unavailable, 503],
    ] as const) {
      if (set.has(path) && fault !== undefined && ctx.hits(path) <= (fault.times ?? 1)) {
        send(res, status, 'text/html; charset=utf-8', errorPage(status, 'Try again later'), {
          'retry-after': retryAfterValue(fault.retryAfter ?? 1),
        });
        return;
      }
    }
    const deliver = (status: number, type: string, body: Buffer, headers?: Record<string, string>): void => {
      // A trickled response goes without validators (trickle writes its own head).
      if (trickled.has(path)) trickle(ctx, res, type, body, faults.trickle?.intervalMs ?? 100);
      else send(res, status, type, body, headers);
    };
    if (slow.has(path)) {
      ctx.later(() => {
        if (!res.destroyed) render(req, path, res, deliver);
      }, faults.slow?.delayMs ?? 10_000);
      return;
    }
    render(req, path, res, deliver);
  };

  const server = createServer({ keepAlive: true }, (req, res) => {
    res.sendDate = false;
    const raw = req.url ?? '/';
    total++;
    if (setCookie) res.setHeader('set-cookie', `trawl_visit=${total}; Path=/`);
    counts.set(raw, (counts.get(raw) ?? 0) + 1);
    if (recordTimes) requestTimes.push(performance.timeOrigin + performance.now());
    inFlight++;
    if (inFlight > maxConcurrent) maxConcurrent = inFlight;
    res.once('close', () => inFlight--);
    const q = raw.indexOf('?');
    let path = q < 0 ? raw : raw.slice(0, q);
    if (path.startsWith('http://') || path.startsWith('https://')) path = new URL(path).pathname;
    hitCounts.set(path, (hitCounts.get(path) ?? 0) + 1);
    if (latency > 0) ctx.later(() => !res.destroyed && handle(req, res, path), latency);
    else handle(req, res, path);
  });
  server.keepAliveTimeout = 30_000;
  const sockets = new Set<Socket>();
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    open++;
    if (open > maxOpen) maxOpen = open;
    socket.once('close', () => {
      sockets.delete(socket);
      open--;
    });
  });

  const bound = await listen(server, opts);
  origin = bound.origin;
  const url = `${origin}/`;

  return {
    url,
    port: bound.port,
    site,
    counts,
    total: () => total,
    get maxConcurrent() {
      return maxConcurrent;
    },
    get connections() {
      return maxOpen;
    },
    requestTimes,
    errorPages,
    pageUrl: (id) => `${origin}${site.pathOf(id)}`,
    generations: gens,
    advance() {
      if (gens === undefined) throw new Error('advance(): the test site was started without `recrawl`');
      return gens.advance();
    },
    members,
    reset() {
      counts.clear();
      hitCounts.clear();
      requestTimes.length = 0;
      total = 0;
      maxConcurrent = inFlight;
      maxOpen = open;
    },
    describe() {
      const f: string[] = [];
      if (errorPages.length > 0) f.push(`${errorPages.length} pages answer 500`);
      if (error500.size > errorPages.length) f.push(`${error500.size - errorPages.length} extra 500 paths`);
      if (tooMany.size > 0) f.push(`429 on ${tooMany.size} paths`);
      if (unavailable.size > 0) f.push(`503 on ${unavailable.size} paths`);
      if (slow.size > 0) f.push(`${slow.size} slow paths`);
      if (trickled.size > 0) f.push(`${trickled.size} trickled paths`);
      if (resets.size > 0) f.push(`${resets.size} reset paths`);
      if (faults.link === true) f.push(`home links ${FAULT_ENDPOINTS.length} /fault/ endpoints`);
      if (gens !== undefined) f.push(`recrawl generation ${gens.generation} (ETag, Last-Modified, 304)`);
      if (members !== undefined) f.push(`members area at /login and /members/`);
      if (setCookie) f.push('a cookie set on every response');
      return (
        `trawl test site at ${url}: ${site.pages} pages, ${site.linksPerPage} links/page, ` +
        `~${site.pageBytes} bytes/page, seed ${site.seed}, depth 0–${site.maxDepth}` +
        (latency > 0 ? `, ${latency} ms latency` : '') +
        `; faults: ${f.length > 0 ? f.join(', ') : 'none'}; robots.txt, /sitemap.xml and /sitemap.txt served.`
      );
    },
    close() {
      closing = true;
      for (const t of timers) clearTimeout(t);
      timers.clear();
      return stopServer(server, sockets);
    },
  };
}

function notFound(path: string): string {
  return errorPage(404, `Not found: ${path}`);
}

function errorPage(status: number, text: string): string {
  return `<!doctype html>\n<html><head><title>${status}</title></head><body><p>${escapeHtml(text)}</p></body></html>\n`;
}
