/**
 * The guard proxy: a loopback HTTP/1.1 forward proxy in the crawl process that every request of
 * the crawl's Chromium goes through, so page scripts, iframes, subresources and every redirect
 * hop of each pass the same SSRF policy and the same upstream proxy as the crawler's own
 * requests. Playwright's `route()` cannot do this: it never sees redirect hops, so a same-origin
 * 302 to a private address would go through. Through a proxy, each hop is a new proxy request:
 * - `CONNECT host:port` (Chromium's https:, wss:) is opened with `opts.connect` (a checked raw
 *   connection on the session's route) and piped both ways;
 * - absolute-form requests (`GET http://host/path`, Chromium's plain http) are forwarded through
 *   `opts.dispatcher(sessionKey)`, the session's undici dispatcher, which checks at connect time;
 *   redirects are not followed here: a 3xx goes back to Chromium, which asks again.
 *
 * It listens on 127.0.0.1 only, on an ephemeral port, and wants a per-proxy random password
 * (Basic `Proxy-Authorization`; the user name is the session key) so that no other local process
 * can use it as an open proxy into the crawl's network position.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { pipeline } from 'node:stream';
import type { Dispatcher } from 'undici';
import { SSRF_CODE } from '../fetch/ssrf.js';

/** One request through the guard proxy, for metrics (per-host requests and refusals). */
export interface GuardEvent {
  /** The target host as a URL shows it (`example.com`, `0.0.0.0`, `[::1]`), without the port. */
  host: string;
  /** The session key the request authenticated with (the proxy user name). */
  sessionKey: string;
  /** `connect`: a CONNECT tunnel (https:, wss:); `http`: a forwarded plain-http request. */
  kind: 'http' | 'connect';
  /**
   * `ok`: the tunnel was opened, or the target answered (any status); `refused`: the SSRF policy
   * refused the target (answered 403); `error`: any other failure (answered 502).
   */
  outcome: 'ok' | 'refused' | 'error';
  /** Why, for `refused` and `error`: the error's message (never credentials). */
  error?: string;
}

/** Options of {@link startGuardProxy}. */
export interface GuardProxyOptions {
  /**
   * Opens a checked raw TCP connection to a CONNECT target on the session's route (SSRF policy +
   * upstream proxy; see fetch/tunnel-connect.ts). `host` is bare (an IPv6 literal without
   * brackets). Rejecting with an error whose code (or a cause's) is `ERR_TRAWL_SSRF` answers 403;
   * any other rejection 502. `signal` aborts when Chromium goes away or the proxy closes.
   */
  connect(target: { host: string; port: number }, sessionKey: string, signal: AbortSignal): Promise<Duplex>;
  /**
   * The session's undici dispatcher for an absolute-form request to `origin` (`http://host:port`,
   * given so that a route can depend on the target: HTTP_PROXY vs HTTPS_PROXY, NO_PROXY); it must
   * check SSRF at connect time and must not follow redirects (the crawl's agents do both).
   */
  dispatcher(sessionKey: string, origin: string): Dispatcher;
  /**
   * Called once per authenticated proxy request, when its outcome is known (not for requests cut
   * short by close()). Exceptions it throws are swallowed.
   */
  onRequest?(event: GuardEvent): void;
  /**
   * Most client connections (from Chromium) open at once; each carries at most one tunnel or one
   * forwarded request, so this also bounds the proxy's own upstream sockets. Connections beyond it
   * are closed at once. Default 1024.
   */
  maxConnections?: number;
}

/** A running guard proxy. */
export interface GuardProxy {
  /**
   * `http://127.0.0.1:PORT`, for a context: `browser.newContext({ proxy: { server,
   * ...credentials(key), bypass: '<-loopback>' } })`. The explicit `<-loopback>` makes Chromium
   * send loopback and link-local targets (127/8, localhost, [::1]), which it otherwise connects to
   * directly, through the guard; Playwright 1.65 adds it itself unless the bypass list names a
   * loopback host or PLAYWRIGHT_DISABLE_FORCED_CHROMIUM_PROXIED_LOOPBACK is set, so passing it
   * keeps it there in both cases. (A launch-level `--proxy-bypass-list` does not apply to
   * per-context proxies, and no launch-level proxy placeholder is needed.)
   */
  readonly server: string;
  /**
   * The proxy credentials for a session: user name = `sessionKey`, the proxy's password. Throws
   * RangeError for an empty key or one containing `:` (Basic auth could not carry it).
   */
  credentials(sessionKey: string): { username: string; password: string };
  /** Stops listening and destroys every connection and tunnel; idempotent. */
  close(): Promise<void>;
  /** Authenticated requests so far (tunnels and forwarded), and how many were refused or failed. */
  stats(): { requests: number; refused: number; errors: number };
}

/**
 * Chromium flags the guard needs besides the per-context proxy. WebRTC: without a policy a page
 * script's RTCPeerConnection sends STUN/TURN over UDP straight to any address it names (measured
 * on Chromium 156: 10 datagrams reached a loopback UDP port through a proxied context);
 * `disable_non_proxied_udp` leaves WebRTC only what can go through the proxy (TCP TURN), and the
 * guard proxy carries no UDP, so: no candidates, no datagrams. (The often-quoted
 * `--force-webrtc-ip-handling-policy` has no effect on this Chromium.) QUIC and WebTransport send
 * nothing with a proxy configured (measured), and `--disable-quic` is in CHROMIUM_ARGS anyway.
 */
export const GUARD_CHROMIUM_ARGS: readonly string[] = ['--webrtc-ip-handling-policy=disable_non_proxied_udp'];

/**
 * Request and response headers that belong to one connection, not to the message (RFC 9110
 * 7.6.1), plus the proxy's own: never forwarded. `expect` too: Node's server answers
 * `100-continue` itself, and undici refuses the header.
 */
const HOP_BY_HOP = new Set([
  'connection',
  'proxy-connection',
  'keep-alive',
  'proxy-authorization',
  'proxy-authenticate',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'expect',
]);

/** The header names a message's Connection headers list (lower-case): also hop-by-hop. */
function connectionListed(values: Iterable<string>): Set<string> {
  const out = new Set<string>();
  for (const v of values)
    for (const t of v.split(',')) {
      const n = t.trim().toLowerCase();
      if (n !== '') out.add(n);
    }
  return out;
}

/** Whether the error (or one in its cause chain) is an SSRF refusal. */
function isSsrf(err: unknown): boolean {
  let e: unknown = err;
  for (let i = 0; i < 8 && e !== null && typeof e === 'object'; i++) {
    if ((e as { code?: unknown }).code === SSRF_CODE) return true;
    e = (e as { cause?: unknown }).cause;
  }
  return false;
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** An RFC 9209 Proxy-Status error type for a failed upstream connection or exchange. */
function proxyStatusOf(err: unknown): string {
  let e: unknown = err;
  for (let i = 0; i < 8 && e !== null && typeof e === 'object'; i++) {
    const code = (e as { code?: unknown }).code;
    if (code === 'ECONNREFUSED') return 'connection_refused';
    if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return 'dns_error';
    if (code === 'UND_ERR_CONNECT_TIMEOUT' || code === 'ETIMEDOUT') return 'connection_timeout';
    if (code === 'UND_ERR_HEADERS_TIMEOUT') return 'http_response_timeout';
    if (code === 'ECONNRESET' || code === 'UND_ERR_SOCKET') return 'connection_terminated';
    e = (e as { cause?: unknown }).cause;
  }
  return 'destination_unavailable';
}

/** The guard's Proxy-Status for an SSRF refusal (what {@link guardVerdict} recognizes). */
const REFUSED_PROXY_STATUS = 'trawl; error=destination_ip_prohibited';

/**
 * How the guard answers a target it could not reach: 403 for an SSRF refusal, 502 for any other
 * failure, each with its RFC 9209 Proxy-Status.
 */
function failureAnswer(err: unknown): { refused: boolean; status: 403 | 502; proxyStatus: string } {
  const refused = isSsrf(err);
  return {
    refused,
    status: refused ? 403 : 502,
    proxyStatus: refused ? REFUSED_PROXY_STATUS : `trawl; error=${proxyStatusOf(err)}`,
  };
}

/** `host` as a URL shows it: IPv6 literals in brackets. */
function urlHost(host: string): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
}

/** Parses a CONNECT request target `host:port` / `[v6]:port`; null when malformed. */
function parseAuthority(target: string): { host: string; port: number } | null {
  const m = /^(?:\[([0-9A-Fa-f:.]+(?:%[\w.~-]+)?)\]|([^\s:/?#@[\]]+)):(\d{1,5})$/.exec(target);
  if (m === null) return null;
  const port = Number(m[3]);
  if (port < 1 || port > 65535) return null;
  return { host: (m[1] ?? m[2])!, port };
}

/**
 * The origin (`http://host:port`) and request path of an absolute-form request target, the path
 * kept as sent (no normalization; a missing path is `/`, a fragment dropped); null when the
 * target is not an absolute http(s) URL.
 */
function parseAbsolute(target: string): { origin: string; host: string; path: string } | null {
  const m = /^(https?):\/\/([^/?#]+)([^#]*)/i.exec(target);
  if (m === null) return null;
  let url: URL;
  try {
    url = new URL(`${m[1]!.toLowerCase()}://${m[2]}/`);
  } catch {
    return null;
  }
  if (url.username !== '' || url.password !== '') return null;
  const rest = m[3]!;
  const path = rest === '' ? '/' : rest.startsWith('/') ? rest : `/${rest}`;
  return { origin: url.origin, host: url.hostname, path };
}

/**
 * What a response Chromium got says about the guard: `'refused'` when it is the guard's SSRF
 * refusal (403 with `Proxy-Status: trawl; error=destination_ip_prohibited`), `'error'` when it is
 * the guard's 502 for an upstream failure (`Proxy-Status: trawl; error=...`), else null (the
 * target's own answer). For plain http Chromium shows a proxy's answer as the page's response, so
 * the render step uses this to record a refused main document as an SSRF error rather than as the
 * site's 403. `headers` as Playwright gives them (lower-case names). A site could send the same
 * header to make its own page look refused; that only fails its own page.
 */
export function guardVerdict(
  status: number,
  headers: Readonly<Record<string, string>>,
): 'refused' | 'error' | null {
  const ps = headers['proxy-status'];
  if (ps === undefined || !ps.startsWith('trawl; error=')) return null;
  if (status === 403 && ps === REFUSED_PROXY_STATUS) return 'refused';
  return status === 502 ? 'error' : null;
}

const REALM = 'Basic realm="trawl"';

/**
 * Starts the guard proxy on 127.0.0.1, an ephemeral port, with a fresh random password (18 bytes
 * from the OS's CSPRNG). Behaviour, per client connection (keep-alive; errors on one connection
 * never reach another nor the process):
 * - no valid `Proxy-Authorization: Basic base64(sessionKey:password)` → 407 with
 *   `Proxy-Authenticate: Basic realm="trawl"` (Chromium then retries with the context's
 *   credentials); not counted, no event;
 * - `CONNECT host:port` → `opts.connect`, then `200 Connection Established` and bytes piped both
 *   ways until either side closes (bytes Chromium sent after its CONNECT head are passed on);
 *   SSRF refusal → 403, other failure → 502, both with `Connection: close`;
 * - an absolute-form request (`GET http://host:port/path`) → `opts.dispatcher(sessionKey)`
 *   `.request` with the method, the path as sent and the headers minus hop-by-hop ones
 *   (Connection and what it lists, Proxy-Connection, Proxy-Authorization, Keep-Alive, TE,
 *   Trailer, Transfer-Encoding, Upgrade, Expect); the body streamed when the request has one; the
 *   answer's status, headers (hop-by-hop removed, every Set-Cookie kept as its own header line)
 *   and body streamed back. An upstream 407 becomes 502 (Chromium would take it for this proxy's
 *   challenge). SSRF refusal → 403, other failure before the answer → 502, with an RFC 9209
 *   `Proxy-Status` header; a failure mid-body cuts the client connection (the body is truncated,
 *   as a direct fetch's would be). Chromium going away aborts the upstream request.
 * - an origin-form request (not a proxy request), a non-http(s) absolute URL, or an Upgrade
 *   request → 400.
 * Resolves once listening. Rejects with the listen error (none expected on loopback).
 */
export async function startGuardProxy(opts: GuardProxyOptions): Promise<GuardProxy> {
  const password = randomBytes(18).toString('base64url');
  const expected = (key: string): Buffer =>
    Buffer.from(`Basic ${Buffer.from(`${key}:${password}`, 'utf8').toString('base64')}`, 'latin1');
  const counts = { requests: 0, refused: 0, errors: 0 };
  const sockets = new Set<Socket | Duplex>();
  const aborts = new Set<AbortController>();
  let closing: Promise<void> | null = null;

  const report = (event: GuardEvent): void => {
    if (closing !== null) return; // requests cut by close() are the shutdown's, not failures
    counts.requests++;
    if (event.outcome === 'refused') counts.refused++;
    else if (event.outcome === 'error') counts.errors++;
    try {
      opts.onRequest?.(event);
    } catch {
      // a metrics callback must not break the proxy
    }
  };

  /** The session key of a request with valid credentials, else null. */
  const authenticate = (req: IncomingMessage): string | null => {
    const header = req.headers['proxy-authorization'];
    if (typeof header !== 'string' || !/^basic /i.test(header)) return null;
    const decoded = Buffer.from(header.slice(6).trim(), 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon <= 0) return null;
    const key = decoded.slice(0, colon);
    const want = expected(key);
    const got = Buffer.from(`Basic ${header.slice(6).trim()}`, 'latin1');
    return want.length === got.length && timingSafeEqual(want, got) ? key : null;
  };

  const track = (ac: AbortController): (() => void) => {
    aborts.add(ac);
    return () => aborts.delete(ac);
  };

  const onHttp = (req: IncomingMessage, res: ServerResponse): void => {
    res.on('error', () => {}); // the client socket's errors are handled on the socket
    const target = parseAbsolute(req.url ?? '');
    if (target === null) {
      const body = 'trawl guard proxy: only absolute-form http(s) proxy requests and CONNECT\n';
      res.writeHead(400, { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(body) });
      res.end(body);
      return;
    }
    const sessionKey = authenticate(req);
    if (sessionKey === null) {
      res.writeHead(407, { 'proxy-authenticate': REALM, 'content-length': '0' });
      res.end();
      return;
    }
    const raw = req.rawHeaders;
    const listed = new Set<string>();
    for (let i = 0; i < raw.length; i += 2)
      if (raw[i]!.toLowerCase() === 'connection')
        for (const n of connectionListed([raw[i + 1]!])) listed.add(n);
    const headers: string[] = [];
    for (let i = 0; i < raw.length; i += 2) {
      const name = raw[i]!.toLowerCase();
      if (!HOP_BY_HOP.has(name) && !listed.has(name)) headers.push(raw[i]!, raw[i + 1]!);
    }
    const length = req.headers['content-length'];
    const hasBody =
      req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
    const ac = new AbortController();
    const untrack = track(ac);
    res.once('close', () => {
      if (!res.writableFinished) ac.abort(new Error('client went away'));
      untrack();
    });
    const fail = (err: unknown): void => {
      const a = failureAnswer(err);
      report({
        host: target.host,
        sessionKey,
        kind: 'http',
        outcome: a.refused ? 'refused' : 'error',
        error: messageOf(err),
      });
      if (res.headersSent || res.destroyed) {
        res.destroy();
        return;
      }
      const body = a.refused ? 'trawl guard: destination refused\n' : 'trawl guard: upstream failed\n';
      res.writeHead(a.status, {
        'content-type': 'text/plain',
        'content-length': Buffer.byteLength(body),
        'proxy-status': a.proxyStatus,
        'cache-control': 'no-store',
      });
      res.end(body);
    };
    let dispatcher: Dispatcher;
    try {
      dispatcher = opts.dispatcher(sessionKey, target.origin);
    } catch (err) {
      fail(err);
      return;
    }
    dispatcher
      .request({
        origin: target.origin,
        path: target.path,
        method: (req.method ?? 'GET') as Dispatcher.HttpMethod,
        headers,
        body: hasBody ? req : null,
        signal: ac.signal,
      })
      .then(
        (up) => {
          if (up.statusCode === 407) {
            up.body.destroy();
            fail(new Error('upstream answered 407'));
            return;
          }
          report({ host: target.host, sessionKey, kind: 'http', outcome: 'ok' });
          if (res.destroyed) {
            up.body.destroy();
            return;
          }
          const h = up.headers;
          const drop = connectionListed(
            ([] as string[])
              .concat(h.connection ?? [], h['proxy-connection'] ?? [])
              .filter((v): v is string => typeof v === 'string'),
          );
          const out: string[] = [];
          for (const [name, value] of Object.entries(h)) {
            if (value === undefined || HOP_BY_HOP.has(name) || drop.has(name)) continue;
            if (Array.isArray(value)) for (const v of value) out.push(name, v);
            else out.push(name, value);
          }
          try {
            res.writeHead(up.statusCode, up.statusText || undefined, out);
          } catch {
            // A reason phrase or header Node will not write (undici parsed it, so unlikely): the
            // answer cannot be passed on; cut the connection rather than crash.
            up.body.destroy();
            res.destroy();
            return;
          }
          pipeline(up.body, res, (err) => {
            if (err) res.destroy();
          });
        },
        (err: unknown) => fail(err),
      );
  };

  const onConnect = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    sockets.add(socket);
    socket.on('error', () => socket.destroy());
    socket.once('close', () => sockets.delete(socket));
    const answer = (status: string, extra = ''): void => {
      if (socket.destroyed) return;
      socket.end(`HTTP/1.1 ${status}\r\n${extra}Content-Length: 0\r\nConnection: close\r\n\r\n`);
    };
    const target = parseAuthority(req.url ?? '');
    if (target === null) {
      answer('400 Bad Request');
      return;
    }
    const sessionKey = authenticate(req);
    if (sessionKey === null) {
      answer('407 Proxy Authentication Required', `Proxy-Authenticate: ${REALM}\r\n`);
      return;
    }
    const host = urlHost(target.host);
    const ac = new AbortController();
    const untrack = track(ac);
    const onGone = (): void => ac.abort(new Error('client went away'));
    socket.once('close', onGone);
    let opening: Promise<Duplex>;
    try {
      opening = opts.connect(target, sessionKey, ac.signal);
    } catch (err) {
      opening = Promise.reject(err);
    }
    opening.then(
      (upstream) => {
        untrack();
        socket.off('close', onGone);
        report({ host, sessionKey, kind: 'connect', outcome: 'ok' });
        if (socket.destroyed || closing !== null) {
          upstream.destroy();
          return;
        }
        sockets.add(upstream);
        const end = (): void => {
          socket.destroy();
          upstream.destroy();
        };
        upstream.on('error', end);
        upstream.once('close', () => {
          sockets.delete(upstream);
          end();
        });
        socket.once('close', end);
        socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
        if (head.length > 0) upstream.write(head);
        socket.pipe(upstream);
        upstream.pipe(socket);
      },
      (err: unknown) => {
        untrack();
        socket.off('close', onGone);
        const a = failureAnswer(err);
        report({
          host,
          sessionKey,
          kind: 'connect',
          outcome: a.refused ? 'refused' : 'error',
          error: messageOf(err),
        });
        answer(a.refused ? '403 Forbidden' : '502 Bad Gateway', `Proxy-Status: ${a.proxyStatus}\r\n`);
      },
    );
  };

  const server = createServer({ keepAlive: true }, onHttp);
  server.maxConnections = opts.maxConnections ?? 1024;
  server.keepAliveTimeout = 30_000;
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('error', () => s.destroy());
    s.once('close', () => sockets.delete(s));
  });
  server.on('connect', onConnect);
  server.on('upgrade', (_req: IncomingMessage, socket: Duplex) => {
    socket.on('error', () => socket.destroy());
    socket.end('HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
  });
  // Malformed client input: Node's default 'clientError' handling answers 400/408/431 and
  // destroys that socket, which is what we want.

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  server.on('error', () => {}); // after listening, nothing is expected here; never crash on it
  const port = (server.address() as AddressInfo).port;

  return {
    server: `http://127.0.0.1:${port}`,
    credentials(sessionKey) {
      // Basic credentials split at the first colon: a key with one could never authenticate.
      if (sessionKey === '' || sessionKey.includes(':'))
        throw new RangeError(`session key must be non-empty without ':', got ${JSON.stringify(sessionKey)}`);
      return { username: sessionKey, password };
    },
    stats() {
      return { ...counts };
    },
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const ac of aborts) ac.abort(new Error('guard proxy closed'));
        aborts.clear();
        for (const s of sockets) s.destroy();
        sockets.clear();
      });
      return closing;
    },
  };
}
