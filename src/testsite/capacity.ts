/**
 * A capacity-limited test host: the generated site of site.ts behind a server that takes at
 * most C requests at once — the (C+1)-th concurrent request gets 503 (or 429) at once — and
 * slows as its load approaches C. Every admission decision, with the latency the server chose,
 * is logged, and so is every change of concurrency, so a throttle test can assert what the
 * server saw rather than timing it. For the server-aware throttle (`--auto-throttle`).
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { type Clock, systemClock, type TimerHandle } from '../conc/clock.js';
import { send } from './faults.js';
import { listen, stopServer, trackSockets } from './listen.js';
import { buildSite, escapeHtml, type Site } from './site.js';

/** Options for {@link startCapacitySite}. */
export interface CapacitySiteOptions {
  /** C: the most requests served at once; at least 1. */
  capacity: number;
  /** Latency of a request served alone is about this (see {@link capacityLatency}). Default 20 ms. */
  baseLatencyMs?: number;
  /** Status of a refused request: 503 (default) or 429. */
  rejectStatus?: 503 | 429;
  /** Retry-After seconds sent with a refusal; default none (no header). */
  retryAfter?: number;
  /** Paths served at once and outside the limit (not counted). Default `['/robots.txt']`. */
  exempt?: readonly string[];
  /** Pages of the generated site. Default 3000. */
  pages?: number;
  /** Site links per page. Default 10. */
  linksPerPage?: number;
  /** Approximate page body size. Default 2048. */
  pageBytes?: number;
  /** PRNG seed. Default 1. */
  seed?: number;
  /** Listen address. Default 127.0.0.1. */
  host?: string;
  /** Listen port. Default 0 (chosen by the OS). */
  port?: number;
  /**
   * Source of time and of the response delays. Default the system clock; with a FakeClock a
   * test holds every admitted request until it advances the clock.
   */
  clock?: Clock;
  /** Keep the decision log and concurrency series. Default true; turn off for very long runs. */
  record?: boolean;
}

/** One admission decision. */
export interface CapacityDecision {
  /** Clock time of the arrival (ms). */
  readonly at: number;
  /** Request path including the query string. */
  readonly path: string;
  /** Requests in flight counting this one: at most C for an admitted request, C+1 for a refusal. */
  readonly inFlight: number;
  /** 200/404 for an admitted request, the reject status for a refusal. */
  readonly status: number;
  /** The delay the server chose before answering; 0 for a refusal. */
  readonly latencyMs: number;
}

/** A point of the concurrency time series: in-flight admitted requests from `at` on. */
export interface ConcurrencySample {
  readonly at: number;
  readonly inFlight: number;
}

/** A running capacity-limited site. */
export interface CapacitySite {
  /** Base URL with trailing slash. */
  readonly url: string;
  readonly port: number;
  /** The page graph served. */
  readonly site: Site;
  /** C. */
  readonly capacity: number;
  readonly baseLatencyMs: number;
  /** Admitted requests in flight now (arrived, response not yet closed). */
  readonly inFlight: number;
  /** Peak of inFlight; never above C. */
  readonly maxConcurrent: number;
  /** Admitted requests (any status the site gives them) since start or reset(). */
  readonly successes: number;
  /** Refused requests (503/429) since start or reset(). */
  readonly rejected: number;
  /** Every decision in arrival order (if recording). */
  readonly decisions: readonly CapacityDecision[];
  /** inFlight after each change, starting with the value at start or reset() (if recording). */
  readonly series: readonly ConcurrencySample[];
  /** The latency the server gives the k-th concurrent request ({@link capacityLatency}). */
  latencyFor(k: number): number;
  /**
   * Resolves once `pred` holds, checked now and after every arrival, refusal and completion — for a
   * test to wait until, say, exactly C requests are being held, without sleeping.
   */
  until(pred: (s: CapacitySite) => boolean): Promise<void>;
  /** Clears counters, log and series; the peak restarts from the current inFlight. */
  reset(): void;
  describe(): string;
  /** Stops listening, drops connections and cancels pending responses. */
  close(): Promise<void>;
}

/**
 * The delay the capacity host gives a request admitted as the k-th in flight (1 ≤ k ≤ C):
 * `base × (1 + (k/C)²)` — just over `base` alone, twice `base` at full load, so a client that
 * watches latency sees the server filling up before it starts refusing. The server's
 * throughput at steady load k is k / latency(k), which rises with k up to C.
 */
export function capacityLatency(baseMs: number, k: number, capacity: number): number {
  const r = k / capacity;
  return baseMs * (1 + r * r);
}

/**
 * Starts the capacity-limited site on `host` (default 127.0.0.1). On arrival a request that is
 * not exempt is refused with `rejectStatus` (a short HTML body, Retry-After only if
 * `retryAfter` is set, the connection kept alive) when C requests are already in flight, i.e.
 * exactly when it would make in-flight exceed C; refusals are answered at once and never count
 * as in flight. Otherwise it is admitted as the k-th in flight, its delay fixed at admission as
 * capacityLatency(base, k, C), and after the delay it gets its page (`/`, `/p/<id>` of
 * buildSite), `/sitemap.xml` or 404; it leaves in-flight when its response closes (also when
 * the client goes away first). Exempt paths (robots.txt by default, allowing everything) are
 * answered at once and not counted.
 */
export async function startCapacitySite(opts: CapacitySiteOptions): Promise<CapacitySite> {
  const capacity = Math.floor(opts.capacity);
  if (!(capacity >= 1)) throw new RangeError(`capacity must be at least 1, got ${opts.capacity}`);
  const base = Math.max(0, opts.baseLatencyMs ?? 20);
  const rejectStatus = opts.rejectStatus ?? 503;
  const exempt = new Set(opts.exempt ?? ['/robots.txt']);
  const clock = opts.clock ?? systemClock;
  const record = opts.record ?? true;
  const site = buildSite({
    pages: opts.pages ?? 3000,
    linksPerPage: opts.linksPerPage,
    pageBytes: opts.pageBytes,
    seed: opts.seed,
  });

  let inFlight = 0;
  let maxConcurrent = 0;
  let successes = 0;
  let rejected = 0;
  let decisions: CapacityDecision[] = [];
  let series: ConcurrencySample[] = [{ at: clock.now(), inFlight: 0 }];
  const waiters = new Set<{ pred: (s: CapacitySite) => boolean; resolve: () => void }>();
  const timers = new Set<TimerHandle>();
  const sockets = new Set<Socket>();
  let origin = '';

  const notify = (): void => {
    for (const w of waiters) {
      if (w.pred(view)) {
        waiters.delete(w);
        w.resolve();
      }
    }
  };
  const changed = (): void => {
    if (record) series.push({ at: clock.now(), inFlight });
    notify();
  };

  const answer = (path: string, res: ServerResponse): void => {
    const id = site.idOfPath(path);
    if (id !== undefined) {
      send(res, 200, 'text/html; charset=utf-8', site.render(id));
    } else if (path === '/robots.txt') {
      send(
        res,
        200,
        'text/plain; charset=utf-8',
        `User-agent: *\nAllow: /\n\nSitemap: ${origin}/sitemap.xml\n`,
      );
    } else if (path === '/sitemap.xml') {
      let s =
        '<?xml version="1.0" encoding="UTF-8"?>\n<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n';
      for (let p = 0; p < site.pages; p++) s += `<url><loc>${origin}${site.pathOf(p)}</loc></url>\n`;
      send(res, 200, 'application/xml', `${s}</urlset>\n`);
    } else {
      const body = `<!doctype html>\n<title>404</title><p>Not found: ${escapeHtml(path)}</p>\n`;
      send(res, 404, 'text/html; charset=utf-8', body);
    }
  };

  const server = createServer({ keepAlive: true }, (req: IncomingMessage, res: ServerResponse) => {
    res.sendDate = false;
    const raw = req.url ?? '/';
    const q = raw.indexOf('?');
    const path = q < 0 ? raw : raw.slice(0, q);
    if (exempt.has(path)) {
      answer(path, res);
      return;
    }
    const at = clock.now();
    if (inFlight >= capacity) {
      rejected++;
      if (record)
        decisions.push({ at, path: raw, inFlight: inFlight + 1, status: rejectStatus, latencyMs: 0 });
      const headers = opts.retryAfter === undefined ? {} : { 'retry-after': String(opts.retryAfter) };
      send(
        res,
        rejectStatus,
        'text/html; charset=utf-8',
        `<!doctype html>\n<title>${rejectStatus}</title><p>Over capacity (${capacity} requests at once).</p>\n`,
        headers,
      );
      notify();
      return;
    }
    inFlight++;
    successes++;
    if (inFlight > maxConcurrent) maxConcurrent = inFlight;
    const latencyMs = capacityLatency(base, inFlight, capacity);
    const status = site.idOfPath(path) !== undefined || path === '/sitemap.xml' ? 200 : 404;
    if (record) decisions.push({ at, path: raw, inFlight, status, latencyMs });
    let timer: TimerHandle | undefined;
    res.once('close', () => {
      if (timer !== undefined) {
        clock.clearTimeout(timer);
        timers.delete(timer);
      }
      inFlight--;
      changed();
    });
    timer = clock.setTimeout(() => {
      if (timer !== undefined) timers.delete(timer);
      timer = undefined;
      if (!res.destroyed) answer(path, res);
    }, latencyMs);
    timers.add(timer);
    changed();
  });
  server.keepAliveTimeout = 30_000;
  trackSockets(server, sockets);

  const bound = await listen(server, opts);
  origin = bound.origin;

  const view: CapacitySite = {
    url: `${origin}/`,
    port: bound.port,
    site,
    capacity,
    baseLatencyMs: base,
    get inFlight() {
      return inFlight;
    },
    get maxConcurrent() {
      return maxConcurrent;
    },
    get successes() {
      return successes;
    },
    get rejected() {
      return rejected;
    },
    get decisions() {
      return decisions;
    },
    get series() {
      return series;
    },
    latencyFor: (k) => capacityLatency(base, k, capacity),
    until(pred) {
      if (pred(view)) return Promise.resolve();
      return new Promise<void>((resolve) => waiters.add({ pred, resolve }));
    },
    reset() {
      successes = 0;
      rejected = 0;
      maxConcurrent = inFlight;
      decisions = [];
      series = [{ at: clock.now(), inFlight }];
    },
    describe() {
      return (
        `trawl capacity test host at ${origin}/: ${site.pages} pages, serves at most ${capacity} requests at once ` +
        `(${rejectStatus}${opts.retryAfter === undefined ? ' without Retry-After' : `, Retry-After ${opts.retryAfter}`} above), ` +
        `latency ${base} ms × (1 + (k/${capacity})²) at k in flight.`
      );
    },
    close() {
      for (const t of timers) clock.clearTimeout(t);
      timers.clear();
      return stopServer(server, sockets);
    },
  };
  return view;
}
