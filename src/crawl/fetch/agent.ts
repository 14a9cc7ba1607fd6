import { Agent, type buildConnector } from 'undici';
import { guardedConnector, type SsrfOptions, SsrfPolicy } from './ssrf.js';

/**
 * Counts the sockets an Agent has open, from its 'connect' and 'disconnect' events: `open` is the
 * number connected right now, `peak` the highest `open` ever seen, `total` how many connections
 * were ever established, `failed` how many connection attempts failed ('connectionError'). A
 * socket counts from the moment undici reports it connected (after the TLS handshake for https)
 * until it is closed for any reason (keep-alive expiry, server close, error, agent close).
 */
export class ConnectionCounter {
  open = 0;
  peak = 0;
  total = 0;
  failed = 0;

  /** Records one established connection. */
  connected(): void {
    this.open++;
    this.total++;
    if (this.open > this.peak) this.peak = this.open;
  }

  /** Records one closed connection; never lets `open` go below 0. */
  disconnected(): void {
    if (this.open > 0) this.open--;
  }
}

/** Options for createAgent. */
export interface AgentOptions {
  /**
   * Most sockets to keep to any one origin (the Pool's `connections`; at 1 undici makes a Client
   * per origin instead of a Pool). At most the crawl's connection cap, so that undici never opens
   * more than the engine's semaphore allows (the crawl's direct agent uses the smaller of that and
   * the per-host concurrency); the global cap across origins is the engine's, not the agent's.
   */
  maxConnections: number;
  /** Budget for TCP connect plus TLS handshake, in ms (undici's connect `timeout`). */
  connectTimeoutMs: number;
  /** HTTP/2 stays off: with pipelining 1, one socket = one request in flight, which the cap counts. */
  allowH2?: false;
  /**
   * Extra socket options passed to undici's connector (e.g. `ca`, `rejectUnauthorized`, a `lookup`
   * that refuses private addresses). `timeout` is overridden by connectTimeoutMs.
   */
  connect?: Partial<buildConnector.BuildOptions>;
  /** How long an idle keep-alive socket is kept, in ms. Default 4000 (undici's). */
  keepAliveTimeoutMs?: number;
  /**
   * undici's own headers and body idle timeouts, in ms. fetchPage enforces its all-covering
   * deadline itself; these are only a backstop for other callers. Default 300000 (undici's).
   */
  headersTimeoutMs?: number;
  bodyTimeoutMs?: number;
  /**
   * Turns the SSRF guard on (see ssrf.ts): every connection's host is resolved and checked at
   * connect time, and non-public addresses are refused unless `allowPrivate` or a non-public seed
   * allows them. Undefined: no guard (callers that only ever talk to a known server).
   */
  ssrf?: SsrfOptions;
}

/**
 * An undici Agent for the crawl, with its connection counter attached. It is an ordinary Agent
 * (usable as any undici `dispatcher`); `connections` is live.
 */
export class CrawlAgent extends Agent {
  readonly connections: ConnectionCounter;

  constructor(options: Agent.Options, counter: ConnectionCounter) {
    super(options);
    this.connections = counter;
    this.on('connect', () => counter.connected());
    this.on('disconnect', () => counter.disconnected());
    this.on('connectionError', () => {
      counter.failed++;
    });
  }
}

/**
 * The pool settings every crawl agent shares (createAgent's, and proxy-connect.ts's
 * createProxyAgent): per-origin `connections` cap, pipelining 1, no HTTP/2, keep-alive and
 * undici's own timeouts from `opts`; everything but `connect`. Throws RangeError when
 * maxConnections or connectTimeoutMs is not a positive integer.
 */
export function agentPoolOptions(opts: AgentOptions): Agent.Options {
  if (!Number.isInteger(opts.maxConnections) || opts.maxConnections < 1) {
    throw new RangeError(`maxConnections must be a positive integer, got ${opts.maxConnections}`);
  }
  if (!Number.isInteger(opts.connectTimeoutMs) || opts.connectTimeoutMs < 1) {
    throw new RangeError(`connectTimeoutMs must be a positive integer, got ${opts.connectTimeoutMs}`);
  }
  return {
    connections: opts.maxConnections,
    pipelining: 1,
    allowH2: false,
    keepAliveTimeout: opts.keepAliveTimeoutMs ?? 4_000,
    headersTimeout: opts.headersTimeoutMs ?? 300_000,
    bodyTimeout: opts.bodyTimeoutMs ?? 300_000,
  };
}

/**
 * Creates the crawl's HTTP agent: one Pool per origin of at most `maxConnections` sockets,
 * pipelining 1 (one request per socket at a time, so "open sockets" and "requests in flight" are
 * the same number the engine's semaphore counts), HTTP/1.1 only, connect timeout as given, and no
 * redirect following (undici 7 only follows redirects through the redirect interceptor, which is
 * not installed; fetchPage follows them itself). With `ssrf`, connections go through the SSRF guard,
 * so links and redirect hops alike are checked on the address actually connected to. No `maxResponseSize` is set: it would count
 * compressed bytes, while the crawl's cap is on decompressed bytes and is enforced by fetchPage.
 * Throws RangeError when maxConnections or connectTimeoutMs is not a positive integer.
 */
export function createAgent(opts: AgentOptions): CrawlAgent {
  const counter = new ConnectionCounter();
  return new CrawlAgent(
    {
      ...agentPoolOptions(opts),
      connect:
        opts.ssrf === undefined
          ? { ...opts.connect, timeout: opts.connectTimeoutMs }
          : guardedConnector(new SsrfPolicy(opts.ssrf), { ...opts.connect, timeout: opts.connectTimeoutMs }),
    },
    counter,
  );
}
