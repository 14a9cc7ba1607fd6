// The archive benchmark's network model: a TCP relay in front of the bench site that makes the
// loopback look like a WAN link. Every byte the site sends (status lines, headers, bodies, 304s)
// goes through one shared byte-rate token bucket — the bandwidth of the whole link, so 64
// connections share it as they would share an uplink — and then waits `latencyMs` before it is
// written to the crawler, so every response starts at least that long after its request (the
// round trip, charged to the response). Requests go through unshaped: they are a few hundred bytes.
// A relay rather than pacing inside the test site: it sees exactly the bytes on the wire, leaves
// src/testsite untouched, and applies alike to every variant (a cache replay makes no request).
import { createConnection, createServer, type Server, type Socket } from 'node:net';

/** The network a run pretends to cross. */
export interface NetModel {
  /** Delay before each byte of a response reaches the crawler, in ms. */
  latencyMs: number;
  /** Shared bandwidth over all responses in bytes per second; Infinity for none. */
  bytesPerSec: number;
}

/**
 * Parses `--net`: `off`, or comma-separated parts `<n>ms` (latency) and `<n>kbit|mbit|gbit`
 * (bandwidth, decimal units as links are sold: 100mbit = 12.5 MB/s); null for `off`.
 */
export function parseNet(spec: string): NetModel | null {
  if (spec === 'off' || spec === '') return null;
  const model: NetModel = { latencyMs: 0, bytesPerSec: Number.POSITIVE_INFINITY };
  for (const part of spec.split(',')) {
    const m = /^(\d+(?:\.\d+)?)(ms|kbit|mbit|gbit)$/i.exec(part.trim());
    if (m === null) throw new Error(`--net: cannot read "${part}" (want e.g. 20ms,100mbit or off)`);
    const n = Number(m[1]);
    const unit = m[2]!.toLowerCase();
    if (unit === 'ms') model.latencyMs = n;
    else model.bytesPerSec = (n * { kbit: 1e3, mbit: 1e6, gbit: 1e9 }[unit]!) / 8;
  }
  return model;
}

/** One line for the benchmark's header. */
export function describeNet(model: NetModel | null): string {
  if (model === null) return 'none (loopback, no latency, no bandwidth cap)';
  const bw = Number.isFinite(model.bytesPerSec)
    ? `${((model.bytesPerSec * 8) / 1e6).toFixed(model.bytesPerSec * 8 >= 1e7 ? 0 : 1)} Mbit/s shared by all responses (token bucket over every byte the site sends)`
    : 'no bandwidth cap';
  return `${model.latencyMs} ms before each response, ${bw}`;
}

/** Pieces a response is cut into for pacing: a 20 KB page goes out in two steps, not one burst. */
const SLICE = 16 * 1024;

/** A piece of the site→crawler stream on its way: bytes, or null for the site's end of stream. */
interface Piece {
  to: Socket;
  data: Buffer | null;
  due: number;
}

/** A FIFO over an array with a moving head (shift() is O(n) on long queues). */
class Fifo<T> {
  #items: T[] = [];
  #head = 0;
  get length(): number {
    return this.#items.length - this.#head;
  }
  push(x: T): void {
    this.#items.push(x);
  }
  peek(): T | undefined {
    return this.#items[this.#head];
  }
  shift(): T | undefined {
    const x = this.#items[this.#head];
    if (x === undefined) return undefined;
    this.#items[this.#head++] = undefined as T;
    if (this.#head > 1024 && this.#head * 2 > this.#items.length) {
      this.#items = this.#items.slice(this.#head);
      this.#head = 0;
    }
    return x;
  }
}

/**
 * Starts the relay on 127.0.0.1 (a port the OS picks) to `target` (the site's origin,
 * `http://127.0.0.1:PORT`) and resolves with its origin. `close` drops every connection.
 */
export async function startLink(
  target: string,
  model: NetModel,
): Promise<{ origin: string; close(): Promise<void> }> {
  const { hostname, port } = new URL(target);
  const rate = model.bytesPerSec / 1000; // bytes per ms
  const paced = Number.isFinite(rate);
  // Debt-based token bucket: a piece may go when the balance is ≥ 0 and takes it negative by its
  // size; the balance refills at `rate`. While pieces wait, a late timer (this process busy
  // serving pages) is caught up on, so the relay's own lag does not cut the bandwidth; an idle
  // link saves up at most one slice.
  let tokens = SLICE;
  let last = performance.now();
  const waiting = new Fifo<Piece>(); // for the bucket
  const flying = new Fifo<Piece>(); // through the latency, due times in order
  let bucketTimer: NodeJS.Timeout | null = null;
  let flightTimer: NodeJS.Timeout | null = null;
  const sockets = new Set<Socket>();

  const deliver = (p: Piece): void => {
    if (p.to.destroyed) return;
    if (p.data === null) p.to.end();
    else p.to.write(p.data);
  };
  const land = (): void => {
    flightTimer = null;
    const now = performance.now();
    for (let p = flying.peek(); p !== undefined && p.due <= now; p = flying.peek()) deliver(flying.shift()!);
    const next = flying.peek();
    if (next !== undefined) flightTimer = setTimeout(land, Math.max(0, next.due - now));
  };
  const launch = (p: Piece, now: number): void => {
    if (model.latencyMs <= 0) {
      deliver(p);
      return;
    }
    p.due = now + model.latencyMs;
    flying.push(p);
    if (flightTimer === null) flightTimer = setTimeout(land, model.latencyMs);
  };
  const pump = (busy: boolean): void => {
    bucketTimer = null;
    const now = performance.now();
    tokens += (now - last) * rate;
    if (!busy) tokens = Math.min(SLICE, tokens);
    last = now;
    while (waiting.length > 0 && tokens >= 0) {
      const p = waiting.shift()!;
      if (p.data !== null) tokens -= p.data.length;
      launch(p, now);
    }
    if (waiting.length > 0) bucketTimer = setTimeout(pump, Math.max(1, Math.ceil(-tokens / rate)), true);
  };
  const send = (to: Socket, data: Buffer | null): void => {
    const now = performance.now();
    if (!paced) launch({ to, data, due: 0 }, now);
    else if (data === null) waiting.push({ to, data, due: 0 });
    else
      for (let i = 0; i < data.length; i += SLICE)
        waiting.push({ to, data: data.subarray(i, i + SLICE), due: 0 });
    if (paced && bucketTimer === null) pump(false);
  };

  const server: Server = createServer((client) => {
    const site = createConnection({ host: hostname, port: Number(port) });
    for (const s of [client, site]) {
      s.setNoDelay(true);
      sockets.add(s);
      s.once('close', () => sockets.delete(s));
    }
    client.on('data', (b) => site.write(b));
    client.once('end', () => site.end());
    site.on('data', (b) => send(client, b));
    site.once('end', () => send(client, null));
    const drop = (): void => {
      client.destroy();
      site.destroy();
    };
    client.on('error', drop);
    site.on('error', drop);
    client.once('close', () => site.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const addr = server.address() as { port: number };
  return {
    origin: `http://127.0.0.1:${addr.port}`,
    close: () =>
      new Promise<void>((resolve) => {
        if (bucketTimer !== null) clearTimeout(bucketTimer);
        if (flightTimer !== null) clearTimeout(flightTimer);
        server.close(() => resolve());
        for (const s of sockets) s.destroy();
      }),
  };
}
