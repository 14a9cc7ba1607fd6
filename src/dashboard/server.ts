import { randomBytes, timingSafeEqual } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import { isIP } from 'node:net';
import { CrawlMetrics } from '../crawl/metrics/metrics.js';
import type { DashboardSnapshot } from '../crawl/metrics/snapshot.js';
import { parseRequestTarget } from './request-target.js';

/** Produces the dashboard's data on demand (a running crawl's metrics, or a state-file reader). */
export type DashboardSource = () => DashboardSnapshot;

/** Options of {@link startDashboard}. */
export interface DashboardOptions {
  /** Address to bind; default 127.0.0.1. Any non-loopback address requires a token. */
  host?: string;
  /** Port; default 9090; 0 picks a free port (read it from the returned `url`/`port`). */
  port?: number;
  /**
   * What to show: a CrawlMetrics (then `/metrics` serves its registry), or a snapshot source
   * function (then `/metrics` answers 404: there is no live registry, e.g. over a state file).
   */
  metrics: CrawlMetrics | DashboardSource;
  /** Access token; when a token is required and none is given, 32 random hex digits are generated. */
  token?: string;
  /**
   * Require the token on every request. Defaults to true exactly when `host` is not a loopback
   * address; `false` with a non-loopback host is refused (an open dashboard on the network).
   */
  requireToken?: boolean;
  /** Minimum milliseconds between two SSE snapshots; default 250 (at most 4 per second); at least 100. */
  intervalMs?: number;
}

/** A running dashboard. */
export interface Dashboard {
  /** The page's address, with `?token=…` when a token is required (print this one). */
  url: string;
  /** The bound host and port. */
  host: string;
  port: number;
  /** The access token, or null when none is required. */
  token: string | null;
  /**
   * True while the SSE timer runs, i.e. while at least one `/events` client is connected: with no
   * client the dashboard reads no snapshot at all (its source may be a state file on disk).
   */
  readonly streaming: boolean;
  /**
   * Stops the SSE timer, ends every open event stream and connection, and closes the listener.
   * Resolves once the server is closed; calling it again resolves immediately.
   */
  close(): Promise<void>;
}

interface Asset {
  type: string;
  body: Buffer;
}

const SECURITY_HEADERS: Record<string, string> = {
  'Content-Security-Policy':
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
  'X-Content-Type-Options': 'nosniff',
  'X-Frame-Options': 'DENY',
  'Referrer-Policy': 'no-referrer',
  'Cache-Control': 'no-store',
};

/** True for 127.0.0.0/8, ::1, ::ffff:127.x and the name `localhost`. */
export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (h === 'localhost' || h === '::1') return true;
  if (h.startsWith('::ffff:')) return isLoopback(h.slice(7));
  return isIP(h) === 4 && h.startsWith('127.');
}

async function loadAssets(): Promise<Map<string, Asset>> {
  const dir = new URL('../../assets/dashboard/', import.meta.url);
  const require = createRequire(import.meta.url);
  const files: [string, string | URL, string][] = [
    ['/', new URL('page.html', dir), 'text/html; charset=utf-8'],
    ['/page.js', new URL('page.js', dir), 'text/javascript; charset=utf-8'],
    ['/page.css', new URL('page.css', dir), 'text/css; charset=utf-8'],
    [
      '/vendor/uPlot.iife.min.js',
      require.resolve('uplot/dist/uPlot.iife.min.js'),
      'text/javascript; charset=utf-8',
    ],
    ['/vendor/uPlot.min.css', require.resolve('uplot/dist/uPlot.min.css'), 'text/css; charset=utf-8'],
  ];
  const assets = new Map<string, Asset>();
  await Promise.all(
    files.map(async ([path, file, type]) => {
      assets.set(path, { type, body: await readFile(file) });
    }),
  );
  assets.set('/index.html', assets.get('/')!);
  return assets;
}

function sameToken(given: string | null, token: string): boolean {
  if (given === null) return false;
  const a = Buffer.from(given);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

function cookie(req: IncomingMessage, name: string): string | null {
  const header = req.headers.cookie;
  if (header === undefined) return null;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) {
      try {
        return decodeURIComponent(part.slice(eq + 1).trim());
      } catch {
        return null; // a malformed %-escape is no token (401), not a server error
      }
    }
  }
  return null;
}

/**
 * Starts the monitoring dashboard: an HTTP server on `host:port` serving `/` (the page and its
 * static assets, uPlot included, from the package), `/metrics` (Prometheus text of the
 * CrawlMetrics registry), `/api/snapshot` (one DashboardSnapshot as JSON) and `/events`
 * (Server-Sent Events: a snapshot on connect, then one every `intervalMs` while at least one client
 * is connected; the timer is unref'd, stops when the last client leaves, and never keeps the
 * process alive).
 *
 * Security: binds 127.0.0.1 unless told otherwise. When a token is required (always off
 * loopback), every request must carry it as `?token=`, the `trawl_token_<port>` cookie (set from a
 * valid `?token=` so the page's own requests carry it) or `Authorization: Bearer <token>`
 * (Prometheus scrapes); anything else gets 401. Without a token, requests whose Host header is
 * not a loopback name get 403 (DNS-rebinding guard). A request target that is not a path on this
 * server (`//`, `*`, `%zz`: see parseRequestTarget) gets 400, after those same checks. Every
 * response carries a strict Content-Security-Policy and `X-Content-Type-Options: nosniff`. Only
 * GET and HEAD are served (405 otherwise, before any check).
 *
 * Rejects if the address cannot be bound (e.g. EADDRINUSE), naming the address.
 */
export async function startDashboard(opts: DashboardOptions): Promise<Dashboard> {
  const host = opts.host ?? '127.0.0.1';
  const loopback = isLoopback(host);
  const requireToken = opts.requireToken ?? !loopback;
  if (!requireToken && !loopback) {
    throw new Error(
      `dashboard: refusing to serve ${host} without an access token (only loopback may go without)`,
    );
  }
  const token = requireToken ? (opts.token ?? randomBytes(16).toString('hex')) : null;
  if (token !== null && token.length === 0) throw new Error('dashboard: the access token must not be empty');
  const intervalMs = Math.max(100, opts.intervalMs ?? 250);
  const source: DashboardSource =
    opts.metrics instanceof CrawlMetrics
      ? (
          (m) => () =>
            m.dashboardSnapshot()
        )(opts.metrics)
      : opts.metrics;
  const registry = opts.metrics instanceof CrawlMetrics ? opts.metrics.registry : null;
  const assets = await loadAssets();

  const clients = new Set<ServerResponse>();
  let timer: ReturnType<typeof setInterval> | undefined;
  let closed = false;
  let port = 0;

  const frame = (): string | null => {
    try {
      return `data: ${JSON.stringify(source())}\n\n`;
    } catch {
      // A failing source (e.g. a state file mid-rewrite) skips one frame; the next tick retries.
      return null;
    }
  };
  const broadcast = (): void => {
    if (clients.size === 0) return;
    const f = frame();
    if (f === null) return;
    for (const res of clients) {
      // A slow client skips frames instead of buffering them: each frame is the full state.
      if (!res.writableNeedDrain) res.write(f);
    }
  };
  const stopTimer = (): void => {
    if (timer !== undefined) clearInterval(timer);
    timer = undefined;
  };

  const send = (
    res: ServerResponse,
    status: number,
    type: string,
    body: string | Buffer,
    head: boolean,
  ): void => {
    res.writeHead(status, {
      ...SECURITY_HEADERS,
      'Content-Type': type,
      'Content-Length': Buffer.byteLength(body),
    });
    res.end(head ? undefined : body);
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const head = req.method === 'HEAD';
    if (req.method !== 'GET' && !head) {
      res.setHeader('Allow', 'GET, HEAD');
      return send(res, 405, 'text/plain; charset=utf-8', 'method not allowed\n', false);
    }
    // A target that is not a path on this server (`//`, `*`, `%zz`...) is still checked for the
    // token and host first, like any request, and then answered 400.
    const target = parseRequestTarget(req.url);
    // Browsers ask for an icon on their own, without the token: answer it, empty, before the check.
    if (target?.path === '/favicon.ico') return send(res, 204, 'image/x-icon', '', head);
    const cookieName = `trawl_token_${port}`;
    if (token !== null) {
      const bearer = req.headers.authorization?.match(/^Bearer\s+(.+)$/i)?.[1] ?? null;
      const query = target?.query.get('token') ?? null;
      if (sameToken(query, token)) {
        res.setHeader(
          'Set-Cookie',
          `${cookieName}=${encodeURIComponent(token)}; HttpOnly; SameSite=Strict; Path=/`,
        );
      } else if (!sameToken(cookie(req, cookieName), token) && !sameToken(bearer, token)) {
        return send(
          res,
          401,
          'text/plain; charset=utf-8',
          'unauthorized: open the address printed at start (with ?token=)\n',
          head,
        );
      }
    } else if (loopback) {
      // An absolute-form target's authority stands for the Host header (RFC 9112 §3.2.2).
      const hostHeader = (target?.authority ?? req.headers.host ?? '').replace(/:\d+$/, '');
      if (!isLoopback(hostHeader))
        return send(res, 403, 'text/plain; charset=utf-8', 'forbidden host\n', head);
    }
    if (target === null) return send(res, 400, 'text/plain; charset=utf-8', 'bad request target\n', head);

    const asset = assets.get(target.path);
    if (asset !== undefined) return send(res, 200, asset.type, asset.body, head);
    switch (target.path) {
      case '/metrics': {
        if (registry === null)
          return send(res, 404, 'text/plain; charset=utf-8', 'no live metrics registry\n', head);
        return send(res, 200, registry.contentType, await registry.metrics(), head);
      }
      case '/api/snapshot':
        return send(res, 200, 'application/json; charset=utf-8', JSON.stringify(source()), head);
      case '/events': {
        res.writeHead(200, {
          ...SECURITY_HEADERS,
          'Content-Type': 'text/event-stream; charset=utf-8',
          Connection: 'keep-alive',
          'X-Accel-Buffering': 'no',
        });
        if (head || closed) {
          res.end();
          return;
        }
        res.write('retry: 2000\n\n');
        const f = frame();
        if (f !== null) res.write(f);
        clients.add(res);
        res.on('close', () => {
          clients.delete(res);
          if (clients.size === 0) stopTimer();
        });
        if (timer === undefined) {
          timer = setInterval(broadcast, intervalMs);
          timer.unref();
        }
        return;
      }
      default:
        return send(res, 404, 'text/plain; charset=utf-8', 'not found\n', head);
    }
  };

  const server = createServer((req, res) => {
    handle(req, res).catch(() => {
      // The error's text stays on the server: it may describe internals to an unauthenticated peer.
      if (!res.headersSent) send(res, 500, 'text/plain; charset=utf-8', 'internal error\n', false);
      else res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err) =>
      reject(new Error(`dashboard: cannot listen on ${host}:${opts.port ?? 9090}: ${err.message}`)),
    );
    server.listen(opts.port ?? 9090, host, () => resolve());
  });
  const addr = server.address();
  port = typeof addr === 'object' && addr !== null ? addr.port : 0;
  const urlHost = isIP(host) === 6 ? `[${host}]` : host;
  const pageUrl = `http://${urlHost}:${port}/${token === null ? '' : `?token=${encodeURIComponent(token)}`}`;

  let closing: Promise<void> | undefined;
  return {
    url: pageUrl,
    host,
    port,
    token,
    get streaming() {
      return timer !== undefined;
    },
    close() {
      closing ??= new Promise<void>((resolve) => {
        closed = true;
        stopTimer();
        for (const res of clients) res.end();
        clients.clear();
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closing;
    },
  };
}
