import { subscribe } from 'node:diagnostics_channel';
import type { Socket } from 'node:net';
import type { Dispatcher } from 'undici';
import type { Exchange } from '../exchange.js';

type Handler = Dispatcher.DispatchHandler;
type LegacyHandler = Handler & Record<string, unknown>;

/** Legacy handler callbacks forwarded as they are, besides the ones the tap looks at. */
const FORWARDED = ['onUpgrade', 'onResponseStarted', 'onBodySent', 'onRequestSent'] as const;

/** Methods undici sends `content-length: 0` for when they have no body (client-h1's expectsPayload). */
const PAYLOAD_METHODS = new Set(['PUT', 'POST', 'PATCH', 'QUERY', 'PROPFIND', 'PROPPATCH']);

/**
 * What the tap saw of one request on its connection. `head` and `ip` come from undici's
 * `undici:client:sendHeaders` diagnostics channel, the rest from the dispatch handler.
 */
class HopTap {
  date = 0;
  head: string | null = null;
  ip: string | null = null;
  status = 0;
  statusText = '';
  rawHeaders: Buffer[] = [];
  chunks: Buffer[] = [];
  bytes = 0;
  complete = false;
  failed = false;
}

/**
 * The tap whose handler got `onConnect` last. undici's client calls a request's onConnect and
 * then, in the same synchronous step (client-h1 writeH1), builds its head and publishes it on
 * `undici:client:sendHeaders`; so the head published next belongs to this tap. A request that is
 * aborted between the two publishes nothing, and the next onConnect replaces the stale tap.
 */
let connecting: HopTap | null = null;
let subscribed = false;

function onSendHeaders(message: unknown): void {
  const tap = connecting;
  if (tap === null) return;
  connecting = null;
  const m = message as { headers: string; socket: Socket };
  tap.head = m.headers;
  tap.ip = m.socket.remoteAddress ?? null;
}

/**
 * The received body as one buffer. One chunk that is a view into a larger buffer — undici's
 * chunks are views into the socket's reads, so a page that came in one read with its head is one
 * (every page of the archive benchmark) — is used as it is: nothing moves or changes such a
 * view's memory (a parse thread copies it rather than moving it, and so does WarcThread), so a
 * copy would buy nothing and cost a 20 KB page ≈ 6 µs (allocation, copy, GC; measured in a loop).
 * A chunk that owns all its memory is copied — fetchPage may return that same chunk as the page
 * body and move its memory to a parse thread (parse-thread.ts), which would leave this one
 * empty — and several chunks are joined.
 */
function bodyOf(chunks: readonly Buffer[], bytes: number): Buffer {
  const only = chunks.length === 1 ? (chunks[0] as Buffer) : null;
  if (only !== null && (only.byteOffset > 0 || only.byteLength < only.buffer.byteLength)) return only;
  return Buffer.concat(chunks, bytes);
}

function rawHeaderBytes(raw: readonly (Buffer | string)[]): Buffer[] {
  return raw.map((b) => (typeof b === 'string' ? Buffer.from(b, 'latin1') : b));
}

/**
 * Wraps a legacy-style dispatch handler (the kind `Dispatcher.request` makes) so that it records
 * what passes: the time of the connection, the status, the raw header lines and every body chunk
 * as received (before any content decoding). The handler is forwarded everything unchanged.
 */
function tapHandler(handler: Handler, tap: HopTap): Handler {
  const inner = handler as LegacyHandler;
  const call = (name: string, args: unknown[]): unknown =>
    (inner[name] as (...a: unknown[]) => unknown).apply(inner, args);
  const wrapped: Record<string, unknown> = {
    onConnect(...args: unknown[]): unknown {
      tap.date = Date.now();
      connecting = tap;
      return call('onConnect', args);
    },
    onHeaders(status: number, raw: (Buffer | string)[], resume: () => void, statusText: string): unknown {
      tap.status = status;
      tap.statusText = statusText ?? '';
      tap.rawHeaders = rawHeaderBytes(raw);
      return call('onHeaders', [status, raw, resume, statusText]);
    },
    onData(chunk: Buffer): unknown {
      tap.chunks.push(chunk);
      tap.bytes += chunk.length;
      return call('onData', [chunk]);
    },
    onComplete(...args: unknown[]): unknown {
      tap.complete = true;
      return call('onComplete', args);
    },
    onError(...args: unknown[]): unknown {
      tap.failed = true;
      return call('onError', args);
    },
  };
  for (const name of FORWARDED) {
    if (typeof inner[name] === 'function') wrapped[name] = (...args: unknown[]) => call(name, args);
  }
  return wrapped as Handler;
}

/**
 * A dispatcher that sends through `inner` and keeps what each request looked like on the wire,
 * for fetchPage's `capture` (WARC and the HTTP cache). One WireTap serves one fetchPage call:
 * `take(...)` after a hop's body was read (or dropped) turns that hop's observations into
 * an {@link Exchange} and forgets them. Only HTTP/1.1 is seen (the crawl's agent never speaks
 * HTTP/2). The request head is undici's own, taken from its `undici:client:sendHeaders`
 * diagnostics channel, plus the content-length line undici appends when it writes the head; a
 * hop that never got a connection has no head, and `take` returns null for it.
 */
export class WireTap {
  readonly #inner: Dispatcher;
  #tap: HopTap | null = null;

  constructor(inner: Dispatcher) {
    this.#inner = inner;
    if (!subscribed) {
      subscribe('undici:client:sendHeaders', onSendHeaders);
      subscribed = true;
    }
  }

  /** The dispatcher to send the hop through: `inner`, with this tap on the hop's handler. */
  readonly dispatcher = {
    request: (opts: Dispatcher.RequestOptions): Promise<Dispatcher.ResponseData> => {
      this.#tap = new HopTap();
      const tap = this.#tap;
      const inner = this.#inner;
      // Dispatcher.request is defined on the base class in terms of dispatch(); a thin object whose
      // dispatch wraps the handler reuses it without subclassing the agent.
      const through = Object.create(inner) as Dispatcher;
      through.dispatch = (o: Dispatcher.DispatchOptions, h: Handler): boolean =>
        inner.dispatch(o, tapHandler(h, tap));
      return through.request(opts);
    },
  };

  /**
   * The exchange of the hop just sent: `url` is its URL, `method` and `body` what was sent. When
   * the response body did not arrive whole (the reader stopped early, or the connection ended),
   * the exchange is marked `truncated: ifIncomplete`. Null when the hop never reached a
   * connection or got no response head.
   */
  take(
    url: string,
    method: string,
    body: Uint8Array | null,
    ifIncomplete: NonNullable<Exchange['truncated']> = 'disconnect',
  ): Exchange | null {
    const tap = this.#tap;
    this.#tap = null;
    if (tap === null || tap.head === null || tap.status === 0) return null;
    const bodyBytes = body === null ? null : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
    let head = tap.head;
    if (bodyBytes !== null && bodyBytes.length > 0) head += `content-length: ${bodyBytes.length}\r\n`;
    else if (PAYLOAD_METHODS.has(method)) head += 'content-length: 0\r\n';
    head += '\r\n';
    let responseHead = `HTTP/1.1 ${tap.status} ${tap.statusText}\r\n`;
    const raw = tap.rawHeaders;
    for (let i = 0; i + 1 < raw.length; i += 2) {
      responseHead += `${raw[i]!.toString('latin1')}: ${raw[i + 1]!.toString('latin1')}\r\n`;
    }
    responseHead += '\r\n';
    const ex: Exchange = {
      url,
      date: tap.date,
      ip: tap.ip,
      requestHead: Buffer.from(head, 'latin1'),
      requestBody: bodyBytes !== null && bodyBytes.length > 0 ? bodyBytes : null,
      responseHead: Buffer.from(responseHead, 'latin1'),
      status: tap.status,
      responseBody: bodyOf(tap.chunks, tap.bytes),
    };
    if (!tap.complete) ex.truncated = ifIncomplete;
    return ex;
  }
}
