/**
 * The client-rendered test site (node:http only): every page is an app shell — a root
 * `<div id=app>`, a `<noscript>` asking for JavaScript, one script and almost no text — whose
 * script (spa-client.ts) fetches JSON from `/api/...` and renders the title and links. Besides
 * the generated pages it serves the cases a rendering crawler must handle: client-side routes
 * (`history.pushState`), links that appear after a delay, an infinite-scroll list, a page whose
 * content arrives through a chain of fetches after `load` (needs networkidle), and a page whose
 * script tries to reach loopback forms an SSRF guard must refuse (`0.0.0.0`, `[::]`, and a
 * same-origin 302 to `0.0.0.0`). A mixed mode serves the same graph server-rendered, with a
 * given fraction of pages as app shells, for `--render auto`. Used by the render tests, the
 * render benchmark and `trawl serve-demo --site spa`.
 */
import { createServer, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { listen, stopServer, trackSockets } from './listen.js';
import { buildSite, escapeHtml, prng } from './site.js';
import { SPA_CLIENT_JS } from './spa-client.js';

/** Options for {@link startSpaSite}. */
export interface SpaSiteOptions {
  /** Generated pages (`/` and `/p/<id>`); the special pages come on top. Default 50; at least 1. */
  pages?: number;
  /** Site links per generated page (distinct targets may be fewer). Default 6. */
  linksPerPage?: number;
  /** PRNG seed: the same options give the same graph, titles and bytes. Default 1. */
  seed?: number;
  /** Delay before every `/api/` response, in ms. Default 20. */
  apiLatencyMs?: number;
  /** How long after `load` the `/delayed` page inserts its late links, in ms. Default 300. */
  lateMs?: number;
  /** Infinite-scroll list: `batches` batches of `perBatch` items. Default 5 × 10. */
  scroll?: { batches?: number; perBatch?: number };
  /** `/chain`: sequential fetches after `load` (at least 2) and the pause between them. Default 3, 100 ms. */
  chain?: { steps?: number; gapMs?: number };
  /**
   * Mixed mode: a server-rendered site where this fraction of the generated pages (rounded,
   * never `/`) are app shells and the rest plain HTML with the same titles and links. The
   * special pages are not served in mixed mode. Default: off (every page is a shell).
   */
  mixed?: number;
  /** Listen address. Default 127.0.0.1. */
  host?: string;
  /** Listen port. Default 0: chosen by the OS (what tests use). */
  port?: number;
}

/** What a page is, for tests that treat the special pages apart. */
export type SpaPageKind = 'page' | 'delayed' | 'scroll' | 'chain' | 'probe' | 'target';

/** One page as a browser shows it once settled (after delays and the chain; no scrolling). */
export interface SpaPage {
  /** URL path, e.g. `/p/7`. */
  readonly path: string;
  /** `document.title` as the script sets it (mixed mode: also the plain page's `<title>`). */
  readonly title: string;
  /** The `href` attributes of the rendered links, in document order: absolute paths, distinct. */
  readonly links: readonly string[];
  readonly kind: SpaPageKind;
  /** Served as an app shell (always true unless mixed mode made it plain HTML). */
  readonly shell: boolean;
  /** `/delayed` only: the links inserted `lateMs` after load (also the tail of `links`). */
  readonly lateLinks?: readonly string[];
}

/** The probe page's attempts, for SSRF tests. */
export interface SpaProbes {
  /** URLs the `/probe` script passes to fetch(): `http://0.0.0.0:<port>/secret?via=v4`, `http://[::]:<port>/secret?via=v6`, and the same-origin `/go/secret?via=fetch`. */
  readonly fetch: readonly string[];
  /** URLs the script loads in iframes: the same-origin `/go/secret?via=frame`. */
  readonly frames: readonly string[];
  /** Where each same-origin `/go/secret?via=X` redirects (302): `http://0.0.0.0:<port>/secret?via=redirect-X`. */
  redirectTarget(via: string): string;
}

/** A running client-rendered site. */
export interface SpaSite {
  /** Base URL with trailing slash, e.g. `http://127.0.0.1:40123/`. */
  readonly url: string;
  readonly port: number;
  /** Every page the site serves as HTML, generated pages first (ascending id), then the special pages. */
  readonly pages: readonly SpaPage[];
  /** The infinite-scroll list: `batches[k]` holds batch k's item hrefs (batch 0 is in `/scroll`'s `links`). */
  readonly scroll: { readonly batches: readonly (readonly string[])[]; readonly perBatch: number };
  readonly probes: SpaProbes;
  /** Fraction of generated pages served as shells (1 unless mixed). */
  readonly shellFraction: number;
  /** Requests per path including the query string (`/secret?...` hits included), since start or reset(). */
  readonly counts: Map<string, number>;
  /** Total requests since start or reset(). */
  total(): number;
  /** Requests that reached `/secret` (any query) since start or reset(): 0 proves a guard held. */
  secretHits(): number;
  /** The expected page at `path`, or undefined. */
  page(path: string): SpaPage | undefined;
  /** Clears counts and the total. */
  reset(): void;
  /** A one-line human description (for `trawl serve-demo`). */
  describe(): string;
  /** Stops listening, drops open connections and cancels pending API responses. */
  close(): Promise<void>;
}

const SHELL_TITLE = 'Loading…';

/**
 * Starts the client-rendered site on `host` (default 127.0.0.1), port chosen by the OS unless
 * given. Routes: every page path answers the shell (or, in mixed mode, plain HTML) on a direct
 * GET; `/static/app.js` the client script; `/api/page?path=P`, `/api/scroll?batch=K` and
 * `/api/chain/<n>` JSON after `apiLatencyMs`; `/go/secret?via=X` a 302 to
 * `http://0.0.0.0:<port>/secret?via=redirect-X`; `/secret` a 200 (counted: any hit means a
 * guard let a request through); `/robots.txt` allows everything; anything else 404. The graph is
 * buildSite's (`linksOf`), so reachability from `/` is guaranteed; the home page also links the
 * special pages `/delayed`, `/scroll`, `/chain`, `/probe`, and `/delayed`'s late links and
 * `/chain`'s final links lead to target pages reachable only through them. Responses carry no
 * Date header, so bodies are byte-identical for the same options.
 */
export async function startSpaSite(opts: SpaSiteOptions = {}): Promise<SpaSite> {
  const seed = (opts.seed ?? 1) >>> 0;
  const graph = buildSite({
    pages: opts.pages ?? 50,
    linksPerPage: opts.linksPerPage ?? 6,
    pageBytes: 0,
    seed,
  });
  const n = graph.pages;
  const latency = Math.max(0, opts.apiLatencyMs ?? 20);
  const lateMs = Math.max(0, opts.lateMs ?? 300);
  const batchCount = Math.max(1, Math.floor(opts.scroll?.batches ?? 5));
  const perBatch = Math.max(1, Math.floor(opts.scroll?.perBatch ?? 10));
  const chainSteps = Math.max(2, Math.floor(opts.chain?.steps ?? 3));
  const chainGap = Math.max(0, opts.chain?.gapMs ?? 100);
  const mixed = opts.mixed;
  if (mixed !== undefined && !(mixed >= 0 && mixed <= 1))
    throw new RangeError(`mixed must be in [0, 1], got ${mixed}`);

  // Mixed mode: exactly round(fraction·n) shells among ids 1..n-1 (`/` stays plain so a plain
  // crawl can start), picked by a seeded Fisher–Yates so they are spread over the graph.
  const shellIds = new Set<number>();
  if (mixed === undefined) for (let id = 0; id < n; id++) shellIds.add(id);
  else {
    const want = Math.min(n - 1, Math.round(mixed * n));
    const ids = Array.from({ length: n - 1 }, (_, i) => i + 1);
    const rand = prng(seed ^ 0x5a5a5a5a);
    for (let i = 0; i < want; i++) {
      const j = i + Math.floor(rand() * (ids.length - i));
      [ids[i], ids[j]] = [ids[j]!, ids[i]!];
      shellIds.add(ids[i]!);
    }
  }
  const specials = mixed === undefined;

  const SPECIAL_PATHS = ['/delayed', '/scroll', '/chain', '/probe'];
  const pathOf = graph.pathOf;
  const titleOf = (id: number): string => (id === 0 ? 'SPA home' : `SPA page ${id}`);
  const linksOf = (id: number): string[] => {
    const l = graph.linksOf(id).map(pathOf);
    if (id === 0 && specials) l.push(...SPECIAL_PATHS);
    return l;
  };

  const scrollBatches: string[][] = [];
  for (let b = 0; b < batchCount; b++) {
    const batch: string[] = [];
    for (let i = 0; i < perBatch; i++) batch.push(n > 1 ? pathOf(1 + ((b * perBatch + i) % (n - 1))) : '/');
    scrollBatches.push(batch);
  }
  const lateLinks = ['/delayed/1', '/delayed/2', '/delayed/3'];

  interface Entry extends SpaPage {
    /** Links in the `/api/page` answer (render-time links, before late ones). */
    readonly apiLinks: readonly string[];
  }
  const special = new Map<string, Entry>();
  const addSpecial = (e: Omit<Entry, 'shell'>): void => {
    special.set(e.path, { ...e, shell: true });
  };
  if (specials) {
    addSpecial({
      path: '/delayed',
      title: 'Delayed links',
      kind: 'delayed',
      apiLinks: ['/'],
      links: ['/', ...lateLinks],
      lateLinks,
    });
    // The scroll page's links dedupe like any rendered page's: `/` then batch 0's distinct hrefs.
    addSpecial({
      path: '/scroll',
      title: 'Infinite scroll',
      kind: 'scroll',
      apiLinks: ['/'],
      links: [...new Set(['/', ...scrollBatches[0]!])],
    });
    addSpecial({
      path: '/chain',
      title: 'Chained fetches',
      kind: 'chain',
      apiLinks: ['/', '/chain/done'],
      links: ['/', '/chain/done'],
    });
    addSpecial({ path: '/probe', title: 'Probe', kind: 'probe', apiLinks: ['/'], links: ['/'] });
    for (const p of [...lateLinks, '/chain/done']) {
      addSpecial({ path: p, title: `Target ${p}`, kind: 'target', apiLinks: ['/'], links: ['/'] });
    }
  }

  const entryOf = (path: string): Entry | undefined => {
    const id = graph.idOfPath(path);
    if (id !== undefined) {
      const links = linksOf(id);
      return { path, title: titleOf(id), links, apiLinks: links, kind: 'page', shell: shellIds.has(id) };
    }
    return special.get(path);
  };

  const counts = new Map<string, number>();
  let total = 0;
  let closing = false;
  const timers = new Set<NodeJS.Timeout>();
  const sockets = new Set<Socket>();
  let origin = '';
  let port = 0;

  const secretUrl = (host: string, via: string): string => `http://${host}:${port}/secret?via=${via}`;
  const probeFetch = (): string[] => [
    secretUrl('0.0.0.0', 'v4'),
    secretUrl('[::]', 'v6'),
    '/go/secret?via=fetch',
  ];
  const probeFrames = ['/go/secret?via=frame'];

  const shellHtml = Buffer.from(
    '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">' +
      `<title>${SHELL_TITLE}</title>\n<meta name="viewport" content="width=device-width, initial-scale=1">\n` +
      '<script src="/static/app.js" defer></script>\n</head><body>\n' +
      '<noscript>You need to enable JavaScript to run this app.</noscript>\n<div id="app"></div>\n</body></html>\n',
  );
  const plainHtml = (e: Entry): Buffer => {
    const links = e.links.map((h) => `<li><a href="${escapeHtml(h)}">${escapeHtml(h)}</a></li>`).join('\n');
    return Buffer.from(
      `<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(e.title)}</title></head>\n` +
        `<body><h1>${escapeHtml(e.title)}</h1>\n<p>${escapeHtml(e.title)} is served as plain HTML: its title, ` +
        'this paragraph and the links below are in the document itself, so a crawler needs no browser ' +
        'to read it. The same page on a client-rendered site would arrive as an empty shell.</p>\n' +
        `<nav><ul>\n${links}\n</ul></nav>\n</body></html>\n`,
    );
  };
  const clientJs = Buffer.from(SPA_CLIENT_JS);

  const send = (
    res: ServerResponse,
    status: number,
    type: string,
    body: Buffer | string,
    extra: Record<string, string> = {},
  ): void => {
    const b = typeof body === 'string' ? Buffer.from(body) : body;
    res.writeHead(status, { 'content-type': type, 'content-length': String(b.length), ...extra });
    res.end(b);
  };
  const json = (res: ServerResponse, status: number, value: unknown): void => {
    const t = setTimeout(() => {
      timers.delete(t);
      if (!res.destroyed && !closing)
        send(res, status, 'application/json', JSON.stringify(value), { 'cache-control': 'no-store' });
    }, latency);
    timers.add(t);
  };

  /** The status and JSON body of an `/api/` request (sent after the latency by the caller). */
  const api = (path: string, query: URLSearchParams): [number, unknown] => {
    if (path === '/api/page') {
      const e = entryOf(query.get('path') ?? '');
      if (e === undefined || e.kind === 'scroll' || e.kind === 'chain')
        return [404, { error: 'no such page' }];
      const body: Record<string, unknown> = { title: e.title, links: e.apiLinks };
      if (e.lateLinks !== undefined) body.late = { afterMs: lateMs, links: e.lateLinks };
      if (e.kind === 'probe') body.probes = { fetch: probeFetch(), frames: probeFrames };
      return [200, body];
    }
    if (path === '/api/scroll' && specials) {
      const k = Number(query.get('batch'));
      if (!Number.isInteger(k) || k < 0 || k >= batchCount) return [404, { error: 'no such batch' }];
      return [
        200,
        {
          title: 'Infinite scroll',
          links: ['/'],
          items: scrollBatches[k]!.map((href, i) => ({ href, text: `Item ${k * perBatch + i + 1}` })),
          next: k + 1 < batchCount ? k + 1 : null,
        },
      ];
    }
    const m = /^\/api\/chain\/([1-9]\d*)$/.exec(path);
    if (m !== null && specials) {
      const step = Number(m[1]);
      if (step > chainSteps) return [404, { error: 'no such step' }];
      if (step < chainSteps) return [200, { next: `/api/chain/${step + 1}`, gapMs: chainGap }];
      const e = special.get('/chain')!;
      return [200, { title: e.title, links: e.apiLinks }];
    }
    return [404, { error: 'not found' }];
  };

  const server = createServer({ keepAlive: true }, (req, res) => {
    res.sendDate = false;
    const raw = req.url ?? '/';
    total++;
    counts.set(raw, (counts.get(raw) ?? 0) + 1);
    const u = new URL(raw, 'http://x');
    const path = u.pathname;
    if (path.startsWith('/api/')) return json(res, ...api(path, u.searchParams));
    if (path === '/static/app.js') {
      return send(res, 200, 'text/javascript; charset=utf-8', clientJs, { 'cache-control': 'max-age=3600' });
    }
    if (path === '/go/secret') {
      const via = (u.searchParams.get('via') ?? 'x').replace(/[^\w-]/g, '');
      return send(res, 302, 'text/plain; charset=utf-8', 'Found\n', {
        location: secretUrl('0.0.0.0', `redirect-${via}`),
      });
    }
    if (path === '/secret') return send(res, 200, 'text/plain; charset=utf-8', 'secret\n');
    if (path === '/robots.txt')
      return send(res, 200, 'text/plain; charset=utf-8', 'User-agent: *\nAllow: /\n');
    const e = entryOf(path);
    if (e !== undefined)
      return send(res, 200, 'text/html; charset=utf-8', e.shell ? shellHtml : plainHtml(e));
    send(
      res,
      404,
      'text/html; charset=utf-8',
      `<!doctype html>\n<title>404</title><p>Not found: ${escapeHtml(path)}</p>\n`,
    );
  });
  server.keepAliveTimeout = 30_000;
  trackSockets(server, sockets);
  ({ port, origin } = await listen(server, opts));

  const pages: Entry[] = [];
  for (let id = 0; id < n; id++) pages.push(entryOf(pathOf(id))!);
  pages.push(...special.values());
  const expected: SpaPage[] = pages.map(({ apiLinks: _, ...p }) => p);
  const byPath = new Map(expected.map((p) => [p.path, p]));
  const shellFraction = mixed === undefined ? 1 : shellIds.size / n;

  return {
    url: `${origin}/`,
    port,
    pages: expected,
    scroll: { batches: scrollBatches, perBatch },
    probes: {
      fetch: probeFetch(),
      frames: probeFrames,
      redirectTarget: (via) => secretUrl('0.0.0.0', `redirect-${via}`),
    },
    shellFraction,
    counts,
    total: () => total,
    secretHits() {
      let s = 0;
      for (const [k, v] of counts) if (k === '/secret' || k.startsWith('/secret?')) s += v;
      return s;
    },
    page: (path) => byPath.get(path),
    reset() {
      counts.clear();
      total = 0;
    },
    describe() {
      const kind =
        mixed === undefined
          ? `client-rendered site: ${n} app-shell pages plus ${special.size} special pages (/delayed, /scroll, /chain, /probe and targets)`
          : `mixed site: ${n} pages, ${shellIds.size} of them app shells (${(shellFraction * 100).toFixed(1)} %), the rest plain HTML`;
      return `trawl ${kind} at ${origin}/, seed ${seed}, API latency ${latency} ms.`;
    },
    close() {
      closing = true;
      for (const t of timers) clearTimeout(t);
      timers.clear();
      return stopServer(server, sockets);
    },
  };
}
