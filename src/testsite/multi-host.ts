/**
 * The multi-host test site: the graph of multi-host-graph.ts served over N loopback addresses
 * (127.0.0.2, 127.0.0.3, …) on one shared port, each address its own host with its own
 * robots.txt and sitemap, and accounting per host (requests per path, peak concurrency, peak
 * connections, receive times) for politeness assertions. For broad-crawl tests and benchmarks.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { type AddressInfo, createServer as createNetServer, type Server, type Socket } from 'node:net';
import { resetMidBody, send } from './faults.js';
import { buildMultiHostGraph, type MultiHostGraph, type MultiHostGraphOptions } from './multi-host-graph.js';
import type { RobotsOption } from './server.js';
import { escapeHtml } from './site.js';

/** Options for {@link startMultiHostSite}: the graph's options plus serving options. */
export interface MultiHostSiteOptions extends MultiHostGraphOptions {
  /** Delay before every response, in ms. Default 0. */
  latencyMs?: number;
  /**
   * The port every address listens on. Default 0: the OS picks a free port for host 0 and the
   * other hosts bind the same one (retried on a new port if another process holds it on some
   * address).
   */
  port?: number;
  /**
   * /robots.txt per host: one option for all hosts or a function of the host index. In the
   * body `{origin}` becomes `http://127.0.x.y:port` and `{host}` the host index. Default: a
   * comment naming the host, allow all, and `Sitemap: {origin}/sitemap.xml`.
   */
  robots?: RobotsOption | ((host: number) => RobotsOption);
  /** Record every request's receive time per host. Default true; turn off for very long runs. */
  recordTimes?: boolean;
}

/** Request accounting of one host since start or the last reset(). */
export interface HostStats {
  readonly host: number;
  /** The loopback address, e.g. `127.0.0.2`. */
  readonly address: string;
  /** `http://127.0.x.y:port`. */
  readonly origin: string;
  /** Requests per path including the query string. */
  readonly counts: Map<string, number>;
  /** Requests received. */
  readonly total: number;
  /** Requests in flight now (received, response not yet closed). */
  readonly inFlight: number;
  /** Peak requests in flight at once (visible only with latencyMs > 0, as on the single site). */
  readonly maxConcurrent: number;
  /** Peak open TCP connections to this address. */
  readonly maxConnections: number;
  /** Receive time of each request (ms since the epoch, sub-ms precision), in arrival order. */
  readonly requestTimes: number[];
}

/** A running multi-host site. */
export interface MultiHostSite {
  /** Host 0's home page, `http://127.0.0.2:port/`: the seed that reaches every page. */
  readonly url: string;
  /** The port shared by every host. */
  readonly port: number;
  readonly graph: MultiHostGraph;
  /** Per-host accounting, indexed by host. */
  readonly hosts: readonly HostStats[];
  /** `http://127.0.x.y:port` of host `h`. */
  originOf(host: number): string;
  /** URL of page `id` on host `host`. */
  pageUrl(host: number, id: number): string;
  /** Every page URL, host by host (hosts × pagesPerHost strings). */
  pageUrls(): string[];
  /** Requests over all hosts since start or the last reset(). */
  total(): number;
  /** Peak requests in flight over all hosts at once. */
  readonly maxConcurrent: number;
  /**
   * Resolves once `pred` holds, checked now and after every request's arrival and completion —
   * for a test to wait until requests are being held, without sleeping.
   */
  until(pred: (s: MultiHostSite) => boolean): Promise<void>;
  /** Clears counts and times on every host; peaks restart from the current values. */
  reset(): void;
  /** A one-paragraph human description (for `trawl serve-demo` and logs). */
  describe(): string;
  /** Stops every listener, drops open connections and cancels pending delayed responses. */
  close(): Promise<void>;
}

interface HostState {
  readonly host: number;
  readonly address: string;
  origin: string;
  counts: Map<string, number>;
  total: number;
  inFlight: number;
  maxConcurrent: number;
  open: number;
  maxConnections: number;
  requestTimes: number[];
}

/**
 * Starts the multi-host site: one listening socket per host address, each bound explicitly to
 * its 127.0.x.y (never 0.0.0.0, which would listen on every interface), all on the same port,
 * all feeding one node:http server; the host a request belongs to is the address its
 * connection was accepted on (not the Host header). Routes per host: `/` and `/p/<id>` pages,
 * `/robots.txt`, `/sitemap.xml` (a urlset of that host's pages), and 404 for anything else.
 * Needs one file descriptor per host plus one per open connection: check `ulimit -n` (1,000
 * hosts crawled with 64 connections needs about 1,100). Linux only for hosts beyond the first:
 * it routes all of 127.0.0.0/8 to `lo`; macOS needs each alias added by hand. Rejects (after
 * closing what it opened) if an address cannot be bound; running out of file descriptors gives
 * an error that says to raise `ulimit -n`.
 */
export async function startMultiHostSite(opts: MultiHostSiteOptions): Promise<MultiHostSite> {
  const graph = buildMultiHostGraph(opts);
  const latency = Math.max(0, opts.latencyMs ?? 0);
  const recordTimes = opts.recordTimes ?? true;
  const robotsOf = (h: number): RobotsOption =>
    typeof opts.robots === 'function' ? opts.robots(h) : (opts.robots ?? {});

  const states: HostState[] = [];
  for (let h = 0; h < graph.hosts; h++) {
    states.push({
      host: h,
      address: graph.addressOf(h),
      origin: '',
      counts: new Map(),
      total: 0,
      inFlight: 0,
      maxConcurrent: 0,
      open: 0,
      maxConnections: 0,
      requestTimes: [],
    });
  }
  let port = 0;
  let total = 0;
  let inFlight = 0;
  let maxConcurrent = 0;
  let closing = false;
  const timers = new Set<NodeJS.Timeout>();
  const sockets = new Set<Socket>();
  const hostOfSocket = new WeakMap<Socket, HostState>();
  const waiters = new Set<{ pred: (s: MultiHostSite) => boolean; resolve: () => void }>();
  const notify = (): void => {
    for (const w of waiters) {
      if (w.pred(view)) {
        waiters.delete(w);
        w.resolve();
      }
    }
  };

  const serve = (st: HostState, path: string, res: ServerResponse): void => {
    if (res.destroyed) return;
    const id = graph.idOfPath(path);
    if (id !== undefined) {
      send(res, 200, 'text/html; charset=utf-8', graph.render(st.host, id, port));
      return;
    }
    if (path === '/robots.txt') {
      const r = robotsOf(st.host);
      if (r.reset === true) {
        resetMidBody(res);
        return;
      }
      const body = (
        r.body ??
        '# trawl multi-host test site, host {host}\nUser-agent: *\nAllow: /\n\nSitemap: {origin}/sitemap.xml\n'
      )
        .replaceAll('{origin}', st.origin)
        .replaceAll('{host}', String(st.host));
      send(res, r.status ?? 200, 'text/plain; charset=utf-8', body);
      return;
    }
    if (path === '/sitemap.xml') {
      let s =
        '<?xml version="1.0" encoding="UTF-8"?>\n<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n';
      for (let p = 0; p < graph.pagesPerHost; p++)
        s += `<url><loc>${st.origin}${graph.pathOf(p)}</loc></url>\n`;
      send(res, 200, 'application/xml', `${s}</urlset>\n`);
      return;
    }
    send(
      res,
      404,
      'text/html; charset=utf-8',
      `<!doctype html>\n<html><head><title>404</title></head><body><p>Not found: ${escapeHtml(path)}</p></body></html>\n`,
    );
  };

  const http = createServer({ keepAlive: true }, (req: IncomingMessage, res: ServerResponse) => {
    res.sendDate = false;
    const st = hostOfSocket.get(req.socket);
    if (st === undefined) {
      res.destroy();
      return;
    }
    const raw = req.url ?? '/';
    total++;
    st.total++;
    st.counts.set(raw, (st.counts.get(raw) ?? 0) + 1);
    if (recordTimes) st.requestTimes.push(performance.timeOrigin + performance.now());
    inFlight++;
    st.inFlight++;
    if (inFlight > maxConcurrent) maxConcurrent = inFlight;
    if (st.inFlight > st.maxConcurrent) st.maxConcurrent = st.inFlight;
    res.once('close', () => {
      inFlight--;
      st.inFlight--;
      if (waiters.size > 0) notify();
    });
    if (waiters.size > 0) notify();
    const q = raw.indexOf('?');
    let path = q < 0 ? raw : raw.slice(0, q);
    if (path.startsWith('http://') || path.startsWith('https://')) path = new URL(path).pathname;
    if (latency > 0) {
      const t = setTimeout(() => {
        timers.delete(t);
        serve(st, path, res);
      }, latency);
      timers.add(t);
    } else {
      serve(st, path, res);
    }
  });
  http.keepAliveTimeout = 30_000;

  const listeners: Server[] = [];
  const accept = (st: HostState) => (socket: Socket) => {
    if (closing) {
      socket.destroy();
      return;
    }
    sockets.add(socket);
    hostOfSocket.set(socket, st);
    st.open++;
    if (st.open > st.maxConnections) st.maxConnections = st.open;
    socket.once('close', () => {
      sockets.delete(socket);
      st.open--;
    });
    // node:http documents emitting 'connection' to hand it a socket accepted elsewhere.
    http.emit('connection', socket);
  };
  const listen = (st: HostState, p: number): Promise<Server> => {
    const srv = createNetServer(accept(st));
    listeners.push(srv);
    return new Promise<Server>((resolve, reject) => {
      srv.once('error', reject);
      srv.listen({ port: p, host: st.address }, () => {
        srv.off('error', reject);
        resolve(srv);
      });
    });
  };
  const closeListeners = async (): Promise<void> => {
    const all = listeners.splice(0);
    await Promise.all(
      all.map(
        (srv) => new Promise<void>((resolve) => (srv.listening ? srv.close(() => resolve()) : resolve())),
      ),
    );
  };

  const wanted = opts.port ?? 0;
  for (let attempt = 0; ; attempt++) {
    try {
      const first = await listen(states[0]!, wanted);
      port = (first.address() as AddressInfo).port;
      await Promise.all(states.slice(1).map((st) => listen(st, port)));
      break;
    } catch (err) {
      await closeListeners();
      // With an OS-chosen port, another process may hold it on one of the other addresses.
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EADDRINUSE' && wanted === 0 && attempt < 4) continue;
      if (code === 'EMFILE' || code === 'ENFILE') {
        throw new Error(
          `multi-host test site: out of file descriptors binding ${graph.hosts} hosts ` +
            `(${(err as Error).message}); it needs one per host plus one per open connection: raise \`ulimit -n\``,
          { cause: err },
        );
      }
      throw err;
    }
  }
  for (const st of states) st.origin = `http://${st.address}:${port}`;

  const hostsView: HostStats[] = states.map((st) => ({
    host: st.host,
    address: st.address,
    get origin() {
      return st.origin;
    },
    get counts() {
      return st.counts;
    },
    get total() {
      return st.total;
    },
    get inFlight() {
      return st.inFlight;
    },
    get maxConcurrent() {
      return st.maxConcurrent;
    },
    get maxConnections() {
      return st.maxConnections;
    },
    get requestTimes() {
      return st.requestTimes;
    },
  }));

  const view: MultiHostSite = {
    url: `${states[0]!.origin}/`,
    port,
    graph,
    hosts: hostsView,
    originOf: (h) => `http://${graph.addressOf(h)}:${port}`,
    pageUrl: (h, id) => `http://${graph.addressOf(h)}:${port}${graph.pathOf(id)}`,
    pageUrls() {
      const out: string[] = [];
      for (const st of states)
        for (let p = 0; p < graph.pagesPerHost; p++) out.push(`${st.origin}${graph.pathOf(p)}`);
      return out;
    },
    total: () => total,
    get maxConcurrent() {
      return maxConcurrent;
    },
    until(pred) {
      if (pred(view)) return Promise.resolve();
      return new Promise<void>((resolve) => waiters.add({ pred, resolve }));
    },
    reset() {
      total = 0;
      maxConcurrent = inFlight;
      for (const st of states) {
        st.counts = new Map();
        st.requestTimes = [];
        st.total = 0;
        st.maxConcurrent = st.inFlight;
        st.maxConnections = st.open;
      }
    },
    describe() {
      const last = graph.addressOf(graph.hosts - 1);
      return (
        `trawl multi-host test site: ${graph.hosts} hosts (${states[0]!.address}` +
        (graph.hosts > 1 ? ` … ${last}` : '') +
        `, port ${port}), ${graph.pagesPerHost} pages/host, ${graph.linksPerPage} links/page, ` +
        `${Math.round(graph.crossHostLinks * 100)}% of random links cross hosts, ~${graph.pageBytes} bytes/page, ` +
        `seed ${graph.seed}` +
        (latency > 0 ? `, ${latency} ms latency` : '') +
        `; each host serves its own robots.txt and /sitemap.xml; start at ${states[0]!.origin}/.`
      );
    },
    async close() {
      closing = true;
      for (const t of timers) clearTimeout(t);
      timers.clear();
      const done = closeListeners();
      for (const s of sockets) s.destroy();
      await done;
    },
  };
  return view;
}
