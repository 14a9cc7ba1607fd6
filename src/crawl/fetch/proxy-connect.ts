/**
 * trawl's proxy transport: an undici connector that opens every connection — http and https
 * targets alike — as a tunnel through one proxy (HTTP CONNECT over TCP or TLS, or SOCKS5), and the
 * agent built on it.
 *
 * Why not undici's ProxyAgent: it sends CONNECT through an undici Client, whose "socket closed"
 * error is a recoverable one, so a proxy that accepts and closes without answering is reconnected
 * to in a tight loop (tens of thousands of times a second) and the request never settles, not
 * even on abort. Here one connect is one attempt with one deadline: any failure settles that
 * connect with a {@link ProxyError}, which undici hands to the waiting requests (it retries
 * nothing), so a broken proxy costs one connection per request.
 *
 * SSRF: the proxy would resolve the target name where trawl's connect-time guard cannot see it,
 * so with a policy the name is resolved and checked here, before any byte goes to the proxy, and
 * the checked address — never the name — is what the proxy is asked to connect to: there is no
 * second resolution to rebind.
 */
import { isIP, type NetConnectOpts, type Socket, connect as tcpConnect } from 'node:net';
import { type ConnectionOptions, type TLSSocket, connect as tlsConnect } from 'node:tls';
import { type buildConnector, errors } from 'undici';
import { abortableHandler } from './abortable-handler.js';
import { type AgentOptions, agentPoolOptions, ConnectionCounter, CrawlAgent } from './agent.js';
import type { ProxySpec } from './proxy-url.js';
import { SsrfPolicy } from './ssrf.js';

/** Error code of every ProxyError. */
export const PROXY_CODE = 'ERR_TRAWL_PROXY';

/**
 * Why a proxy failed one connect:
 * - `refused`: the proxy could not be reached (connection refused, unreachable, its name unknown);
 * - `auth`: it wants credentials or refused ours (CONNECT 407, or 401 as tinyproxy answers a wrong
 *   password; SOCKS5 method or RFC 1929 refusal);
 * - `status`: it answered the handshake with a failure (a non-2xx CONNECT other than 407, e.g.
 *   502/503; a SOCKS5 reply code other than 0);
 * - `timeout`: the proxy connect or its handshake did not finish within the deadline;
 * - `closed`: it closed (or reset) the connection before a complete answer;
 * - `protocol`: it answered something that is not the protocol (garbage, an oversized header,
 *   bytes after the handshake), or TLS to an https proxy failed.
 */
export type ProxyFailure = 'refused' | 'auth' | 'status' | 'timeout' | 'closed' | 'protocol';

/**
 * One failed connect through a proxy. `message` is `proxy <display>: <detail>`; it never holds
 * credentials (the proxy is shown as its display `scheme://host:port`). `status` is the CONNECT
 * answer's status code, or the SOCKS5 reply code, when the proxy answered one; `proxyStatus` the
 * CONNECT answer's RFC 9209 `Proxy-Status` header, when it had one (a failing proxy may say there
 * whose fault it was).
 */
export class ProxyError extends Error {
  override readonly name = 'ProxyError';
  readonly code = PROXY_CODE;
  readonly proxy: string;
  readonly reason: ProxyFailure;
  readonly status?: number;
  readonly proxyStatus?: string;

  constructor(
    proxy: string,
    reason: ProxyFailure,
    detail: string,
    init: { status?: number; proxyStatus?: string; cause?: unknown } = {},
  ) {
    super(`proxy ${proxy}: ${detail}`, init.cause === undefined ? undefined : { cause: init.cause });
    this.proxy = proxy;
    this.reason = reason;
    if (init.status !== undefined) this.status = init.status;
    if (init.proxyStatus !== undefined) this.proxyStatus = init.proxyStatus;
  }
}

/** Options of {@link proxyConnector}. */
export interface ProxyConnectOptions {
  /**
   * Deadline of one whole connect, in ms: target name resolution, TCP (and TLS) to the proxy, the
   * CONNECT or SOCKS5 handshake, and the TLS handshake with an https target.
   */
  timeoutMs: number;
  /** The SSRF policy the target is checked against (see ssrf.ts). Undefined: no check, names go to the proxy. */
  ssrf?: SsrfPolicy;
  /** TLS options for https targets (`ca`, `rejectUnauthorized`...); servername and ALPN are set here. */
  tls?: ConnectionOptions;
  /** TLS options for an `https://` proxy itself. Default: `tls`. */
  proxyTls?: ConnectionOptions;
}

/** Biggest CONNECT answer header accepted (a proxy's answer is a few hundred bytes). */
const MAX_ANSWER = 16 * 1024;

const SOCKS_REPLIES: Readonly<Record<number, string>> = {
  1: 'general failure',
  2: 'connection not allowed by ruleset',
  3: 'network unreachable',
  4: 'host unreachable',
  5: 'connection refused',
  6: 'TTL expired',
  7: 'command not supported',
  8: 'address type not supported',
};

/** Codes of a proxy that cannot be reached at all. */
const UNREACHABLE = new Set([
  'ECONNREFUSED',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EADDRNOTAVAIL',
]);

function codeOf(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** A reason phrase or header value from the proxy, made safe to show: printable ASCII, bounded. */
function printable(s: string): string {
  const clean = s.replace(/[^\x20-\x7e]/g, '?');
  return clean.length > 120 ? `${clean.slice(0, 120)}...` : clean;
}

/**
 * Reads a handshake answer from a socket: bytes are buffered as they arrive and handed out by
 * `take(n)` (exactly n bytes) or `head()` (up to the blank line of an HTTP answer). A wait rejects
 * with a ProxyError 'closed' when the socket ends, closes or errors first; `detach()` stops
 * listening and returns any bytes not taken.
 */
class HandshakeReader {
  #buf: Buffer = Buffer.alloc(0);
  #ended: ProxyError | null = null;
  #wake: (() => void) | null = null;
  readonly #socket: Socket;
  readonly #proxy: string;

  constructor(socket: Socket, proxy: string) {
    this.#socket = socket;
    this.#proxy = proxy;
    socket.on('data', this.#onData);
    socket.on('end', this.#onEnd);
    socket.on('close', this.#onEnd);
    socket.on('error', this.#onError);
  }

  #onData = (chunk: Buffer): void => {
    this.#buf = this.#buf.length === 0 ? chunk : Buffer.concat([this.#buf, chunk]);
    this.#wake?.();
  };

  #onEnd = (): void => {
    this.#ended ??= new ProxyError(this.#proxy, 'closed', 'closed the connection before answering');
    this.#wake?.();
  };

  #onError = (err: Error): void => {
    this.#ended ??= new ProxyError(
      this.#proxy,
      'closed',
      `connection failed during the handshake (${codeOf(err) ?? err.message})`,
      { cause: err },
    );
    this.#wake?.();
  };

  /** Waits until `ready()` holds for the buffer (re-checked on every chunk). */
  async #until(ready: () => boolean): Promise<void> {
    while (!ready()) {
      if (this.#ended !== null) throw this.#ended;
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
      });
      this.#wake = null;
    }
  }

  /** The next n bytes. */
  async take(n: number): Promise<Buffer> {
    await this.#until(() => this.#buf.length >= n);
    const out = this.#buf.subarray(0, n);
    this.#buf = this.#buf.subarray(n);
    return out;
  }

  /**
   * An HTTP answer's status line and headers (up to and without the blank line). Rejects with
   * 'protocol' as soon as the first bytes cannot start an HTTP/1 answer or the header passes
   * MAX_ANSWER bytes without ending.
   */
  async head(): Promise<string> {
    let end = -1;
    await this.#until(() => {
      const lead = this.#buf.subarray(0, 5).toString('latin1');
      if (!'HTTP/'.startsWith(lead))
        throw new ProxyError(this.#proxy, 'protocol', 'answered CONNECT with something that is not HTTP');
      end = this.#buf.indexOf('\r\n\r\n');
      if (end < 0 && this.#buf.length > MAX_ANSWER)
        throw new ProxyError(
          this.#proxy,
          'protocol',
          `CONNECT answer header longer than ${MAX_ANSWER} bytes`,
        );
      return end >= 0;
    });
    const text = this.#buf.subarray(0, end).toString('latin1');
    this.#buf = this.#buf.subarray(end + 4);
    return text;
  }

  /** Stops reading; returns the bytes received and not taken. */
  detach(): Buffer {
    this.#socket.off('data', this.#onData);
    this.#socket.off('end', this.#onEnd);
    this.#socket.off('close', this.#onEnd);
    this.#socket.off('error', this.#onError);
    this.#socket.pause();
    return this.#buf;
  }
}

/** Settles when `socket` has connected (event `ready`), or rejects with what `fail` makes of an error or early close. */
function connected(
  socket: Socket,
  ready: 'connect' | 'secureConnect',
  fail: (err: Error | null) => Error,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const done = (err: Error | null | undefined): void => {
      socket.off(ready, onReady);
      socket.off('error', onError);
      socket.off('close', onClose);
      if (err === undefined) resolve();
      else reject(fail(err));
    };
    const onReady = (): void => done(undefined);
    const onError = (err: Error): void => done(err);
    const onClose = (): void => done(null);
    socket.once(ready, onReady);
    socket.once('error', onError);
    socket.once('close', onClose);
  });
}

/** `host:port` for a CONNECT request line (IPv6 in brackets). */
function authority(host: string, port: number): string {
  return isIP(host) === 6 ? `[${host}]:${port}` : `${host}:${port}`;
}

/** HTTP CONNECT handshake on an open connection to the proxy. */
async function httpConnect(socket: Socket, proxy: ProxySpec, host: string, port: number): Promise<Buffer> {
  const reader = new HandshakeReader(socket, proxy.display);
  const target = authority(host, port);
  let req = `CONNECT ${target} HTTP/1.1\r\nHost: ${target}\r\n`;
  if (proxy.username !== null) {
    const basic = Buffer.from(`${proxy.username}:${proxy.password ?? ''}`, 'utf8').toString('base64');
    req += `Proxy-Authorization: Basic ${basic}\r\n`;
  }
  socket.write(`${req}\r\n`);
  const head = await reader.head();
  const lines = head.split('\r\n');
  const m = /^HTTP\/1\.[01] (\d{3})(?: (.*))?$/.exec(lines[0]!);
  if (m === null)
    throw new ProxyError(proxy.display, 'protocol', 'answered CONNECT with a malformed status line');
  const status = Number(m[1]);
  const phrase = printable(m[2] ?? '');
  // 407 is the standard answer; tinyproxy answers a wrong password with 401. A CONNECT answer is
  // always the proxy's own (the target has not been contacted yet), so both mean our credentials.
  if (status === 407 || status === 401) {
    const detail =
      proxy.username === null
        ? `wants credentials (CONNECT answered ${status})`
        : `refused the credentials (CONNECT answered ${status})`;
    throw new ProxyError(proxy.display, 'auth', detail, { status });
  }
  if (status < 200 || status > 299) {
    let proxyStatus: string | undefined;
    for (const line of lines.slice(1)) {
      const colon = line.indexOf(':');
      if (colon > 0 && line.slice(0, colon).trim().toLowerCase() === 'proxy-status')
        proxyStatus = printable(line.slice(colon + 1).trim());
    }
    const detail = `CONNECT to ${target} answered ${status}${phrase === '' ? '' : ` ${phrase}`}`;
    throw new ProxyError(
      proxy.display,
      'status',
      detail,
      proxyStatus === undefined ? { status } : { status, proxyStatus },
    );
  }
  return reader.detach();
}

/** SOCKS5 handshake (RFC 1928, CONNECT command; RFC 1929 user/password when the spec has a user). */
async function socks5Connect(socket: Socket, proxy: ProxySpec, host: string, port: number): Promise<Buffer> {
  const display = proxy.display;
  const reader = new HandshakeReader(socket, display);
  const withAuth = proxy.username !== null;
  socket.write(Buffer.from(withAuth ? [5, 2, 0, 2] : [5, 1, 0]));
  const [ver, method] = await reader.take(2);
  if (ver !== 5)
    throw new ProxyError(display, 'protocol', 'answered the SOCKS5 greeting with something else');
  if (method === 0xff)
    throw new ProxyError(
      display,
      'auth',
      withAuth ? 'accepts none of the offered SOCKS5 methods' : 'wants credentials (SOCKS5)',
    );
  if (method === 2 && withAuth) {
    const user = Buffer.from(proxy.username!, 'utf8');
    const pass = Buffer.from(proxy.password ?? '', 'utf8');
    if (user.length > 255 || pass.length > 255)
      throw new ProxyError(display, 'auth', 'SOCKS5 user name and password are limited to 255 bytes each');
    socket.write(Buffer.concat([Buffer.from([1, user.length]), user, Buffer.from([pass.length]), pass]));
    const [, status] = await reader.take(2);
    if (status !== 0) throw new ProxyError(display, 'auth', 'refused the credentials (SOCKS5)');
  } else if (method !== 0) {
    throw new ProxyError(display, 'protocol', `chose SOCKS5 method ${method}, which was not offered`);
  }
  let addr: Buffer;
  const fam = isIP(host);
  if (fam === 4) addr = Buffer.from([1, ...host.split('.').map(Number)]);
  else if (fam === 6) addr = Buffer.concat([Buffer.from([4]), ipv6Bytes(host)]);
  else {
    const name = Buffer.from(host, 'utf8');
    if (name.length > 255)
      throw new ProxyError(display, 'protocol', 'target host name longer than 255 bytes');
    addr = Buffer.concat([Buffer.from([3, name.length]), name]);
  }
  socket.write(Buffer.concat([Buffer.from([5, 1, 0]), addr, Buffer.from([port >> 8, port & 0xff])]));
  const [rver, rep, , atyp] = await reader.take(4);
  if (rver !== 5)
    throw new ProxyError(display, 'protocol', 'answered the SOCKS5 request with something else');
  if (rep !== 0) {
    const what = SOCKS_REPLIES[rep!] ?? `unknown reply ${rep}`;
    throw new ProxyError(display, 'status', `SOCKS5 connect to ${authority(host, port)} failed: ${what}`, {
      status: rep!,
    });
  }
  const addrLen = atyp === 1 ? 4 : atyp === 4 ? 16 : atyp === 3 ? (await reader.take(1))[0]! : -1;
  if (addrLen < 0)
    throw new ProxyError(display, 'protocol', `SOCKS5 reply with unknown address type ${atyp}`);
  await reader.take(addrLen + 2);
  return reader.detach();
}

/** The 16 bytes of an IPv6 address (no zone). */
function ipv6Bytes(host: string): Buffer {
  const bare = host.split('%')[0]!;
  const [head, tail] = bare.includes('::') ? bare.split('::') : [bare, undefined];
  const parse = (s: string | undefined): number[] => {
    if (s === undefined || s === '') return [];
    const out: number[] = [];
    for (const g of s.split(':')) {
      if (g.includes('.')) {
        const v4 = g.split('.').map(Number);
        out.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!);
      } else out.push(Number.parseInt(g, 16));
    }
    return out;
  };
  const h = parse(head);
  const t = parse(tail);
  const groups = tail === undefined ? h : [...h, ...new Array<number>(8 - h.length - t.length).fill(0), ...t];
  const buf = Buffer.alloc(16);
  for (let i = 0; i < 8; i++) buf.writeUInt16BE(groups[i] ?? 0, i * 2);
  return buf;
}

/** What the connect is doing, for the deadline's message and for whose fault a timeout is. */
type Stage = 'resolve' | 'proxy' | 'handshake' | 'target-tls';

/**
 * An undici connector (for `Agent`'s `connect` option) that tunnels every connection through
 * `proxy`, whatever the target's scheme:
 * - `http://` proxy: TCP to the proxy, `CONNECT host:port` (with `Proxy-Authorization: Basic` when
 *   the spec has a user name; a null password is sent as empty); `https://` proxy: the same over
 *   TLS to the proxy (servername = the proxy's host name, options `proxyTls`); `socks5://`: RFC
 *   1928 CONNECT, offering RFC 1929 user/password when the spec has a user name.
 * - an https target then gets TLS over the tunnel with servername = the target host name (undici's
 *   `servername` when it passes one; none for an IP literal), ALPN http/1.1, options `tls`. Its
 *   errors (certificate...) are passed on as they are: they are the target's, not the proxy's.
 * - with `ssrf`, the target is resolved and checked by `ssrf.check` before anything is sent to
 *   the proxy: a refused address fails with the policy's SsrfError, a resolver failure with the
 *   resolver's error, and the proxy is sent the first checked address, never the name. Without
 *   `ssrf` the name is sent and the proxy resolves it.
 *
 * Every failure of the proxy settles the connect once with a {@link ProxyError} (reason refused,
 * auth, status, closed or protocol) and destroys its sockets; nothing is retried here. One deadline
 * of `timeoutMs` covers the whole connect: when it passes during the proxy connect or handshake the
 * error is ProxyError 'timeout'; during target resolution or the target's TLS handshake it is
 * undici's ConnectTimeoutError (the target was slow, not the proxy). Throws RangeError when
 * timeoutMs is not a positive finite number.
 */
export function proxyConnector(proxy: ProxySpec, opts: ProxyConnectOptions): buildConnector.connector {
  if (!(opts.timeoutMs > 0 && Number.isFinite(opts.timeoutMs)))
    throw new RangeError(`timeoutMs must be a positive number, got ${opts.timeoutMs}`);
  const proxyTls = opts.proxyTls ?? opts.tls ?? {};
  const targetTls = opts.tls ?? {};

  return (req, callback) => {
    const https = req.protocol === 'https:';
    const port = req.port === '' || req.port === undefined ? (https ? 443 : 80) : Number(req.port);
    const hostname = req.hostname;
    const sockets: Socket[] = [];
    let stage: Stage = 'resolve';
    let settled = false;

    const finish = (err: Error | null, socket: Socket | null): void => {
      if (settled) {
        socket?.destroy();
        return;
      }
      settled = true;
      clearTimeout(timer);
      if (err !== null || socket === null) {
        for (const s of sockets) s.destroy();
        callback(err ?? new Error('no socket'), null);
      } else {
        callback(null, socket);
      }
    };

    const timer = setTimeout(() => {
      const ms = opts.timeoutMs;
      const err =
        stage === 'proxy'
          ? new ProxyError(proxy.display, 'timeout', `no connection to the proxy within ${ms} ms`)
          : stage === 'handshake'
            ? new ProxyError(
                proxy.display,
                'timeout',
                `no tunnel to ${authority(hostname, port)} within ${ms} ms`,
              )
            : new errors.ConnectTimeoutError(
                `connect to ${authority(hostname, port)} through ${proxy.display} timed out after ${ms} ms`,
              );
      finish(err, null);
    }, opts.timeoutMs);

    const run = async (): Promise<Socket> => {
      let target = hostname;
      if (opts.ssrf !== undefined) {
        const addrs = await opts.ssrf.check(hostname);
        if (settled) throw new Error('settled');
        target = addrs[0]!.address;
      }

      stage = 'proxy';
      const viaTls = proxy.protocol === 'https';
      const raw: Socket = viaTls
        ? tlsConnect({
            ...proxyTls,
            host: proxy.host,
            port: proxy.port,
            servername: isIP(proxy.host) === 0 ? proxy.host : undefined,
            ALPNProtocols: ['http/1.1'],
          })
        : // undici's own sockets read 64 KiB at a time; Node's default 16 KiB would stop and
          // restart reading several times per page (measured: 10k extra polls per 5k pages).
          // (Node's Socket takes the stream option; @types/node does not declare it for connect.)
          tcpConnect({ host: proxy.host, port: proxy.port, highWaterMark: 64 * 1024 } as NetConnectOpts);
      sockets.push(raw);
      await connected(raw, viaTls ? 'secureConnect' : 'connect', (err) => {
        if (err === null)
          return new ProxyError(proxy.display, 'closed', 'closed the connection while connecting');
        const code = codeOf(err);
        if (code !== undefined && UNREACHABLE.has(code))
          return new ProxyError(proxy.display, 'refused', `cannot connect (${code})`, { cause: err });
        if (viaTls)
          return new ProxyError(
            proxy.display,
            'protocol',
            `TLS to the proxy failed (${code ?? err.message})`,
            { cause: err },
          );
        return new ProxyError(proxy.display, 'closed', `connection failed (${code ?? err.message})`, {
          cause: err,
        });
      });
      raw.setNoDelay(true);
      raw.setKeepAlive(true, 60_000);

      stage = 'handshake';
      const rest =
        proxy.protocol === 'socks5'
          ? await socks5Connect(raw, proxy, target, port)
          : await httpConnect(raw, proxy, target, port);
      if (rest.length > 0)
        throw new ProxyError(proxy.display, 'protocol', 'sent data before the tunnel was used');
      // The socket is left paused: undici reads it through 'readable', as it does its own.
      if (!https) return raw;

      stage = 'target-tls';
      const servername = req.servername || (isIP(hostname) === 0 ? hostname : undefined);
      const secure: TLSSocket = tlsConnect({
        ...targetTls,
        socket: raw,
        servername,
        ALPNProtocols: ['http/1.1'],
      });
      sockets.push(secure);
      // The tunnel under the TLS socket: its errors and close end the TLS socket. Nobody else
      // listens to it (an https proxy's TLS socket is wrapped, not taken over), so without this an
      // error there would be an uncaught exception.
      raw.on('error', (err) => secure.destroy(err));
      secure.once('close', () => raw.destroy());
      await connected(secure, 'secureConnect', (err) =>
        err === null
          ? Object.assign(new Error('socket closed during the TLS handshake'), { code: 'ECONNRESET' })
          : err,
      );
      return secure;
    };

    run().then(
      (socket) => finish(null, socket),
      (err: Error) => finish(err, null),
    );
  };
}

/**
 * The crawl agent of {@link createAgent} (same pool settings: per-origin connection cap,
 * pipelining 1, HTTP/1.1, keep-alive and undici timeouts from `opts`) whose every connection is a
 * tunnel through `proxy` ({@link proxyConnector}): `opts.connectTimeoutMs` is the whole connect's
 * deadline, `opts.ssrf` the policy the targets are checked against before the proxy sees them,
 * and `opts.connect` the TLS options for https targets (and for an https proxy). A request whose
 * signal aborts while its connection is still being tunnelled settles at once with the abort
 * reason (undici alone would wait for the connect; see abortable-handler.ts). Throws RangeError
 * like createAgent.
 */
export function createProxyAgent(proxy: ProxySpec, opts: AgentOptions): CrawlAgent {
  const pool = agentPoolOptions(opts);
  const { timeout: _ignored, ...tls } = (opts.connect ?? {}) as ConnectionOptions & { timeout?: unknown };
  const connect = proxyConnector(proxy, {
    timeoutMs: opts.connectTimeoutMs,
    tls,
    ...(opts.ssrf === undefined ? {} : { ssrf: new SsrfPolicy(opts.ssrf) }),
  });
  return new ProxyCrawlAgent({ ...pool, connect }, new ConnectionCounter());
}

/** A CrawlAgent whose requests settle on abort even while their tunnel is being opened. */
class ProxyCrawlAgent extends CrawlAgent {
  override dispatch(
    options: Parameters<CrawlAgent['dispatch']>[0],
    handler: Parameters<CrawlAgent['dispatch']>[1],
  ): boolean {
    return super.dispatch(options, abortableHandler(handler, (options as { signal?: unknown }).signal));
  }
}
