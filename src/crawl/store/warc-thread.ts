import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { Exchange } from '../exchange.js';
import type { RevisitOf, RevisitProfile, WarcBatch, WarcEntry } from './warc-record.js';

/** Something that turns a batch into its file bytes (serializeBatch's result), maybe elsewhere. */
export interface WarcSerializer {
  /** The bytes serializeBatch(batch) returns; rejects with what it throws. */
  serialize(batch: WarcBatch): Promise<Buffer>;
}

/** Options of a {@link WarcThread}. */
export interface WarcThreadOptions {
  /**
   * Move response bodies to the thread instead of copying them: a `responseBody` of at least
   * 4 KiB that owns its whole ArrayBuffer is transferred, which detaches it here (it reads as
   * empty afterwards). Only for bodies nobody reads again, like the crawl's own copies (the wire
   * tap's Buffer.concat). Default false: everything is copied.
   */
  moveBodies?: boolean;
}

/** A body this size or more is moved (when allowed and it owns its memory); smaller ones are packed. */
const MOVE_MIN = 4096;

/**
 * The exchange fields of an entry without its buffers; `lens` gives, in order, the byte lengths
 * in the packed buffer of requestHead, requestBody (-1: null), responseHead and responseBody
 * (-1: it travels in `body`).
 */
interface WireEntry {
  type: WarcEntry['type'];
  id: string | undefined;
  profile: RevisitProfile | undefined;
  refersTo: RevisitOf | undefined;
  url: string;
  date: number;
  ip: string | null;
  status: number;
  truncated: Exchange['truncated'];
  lens: [number, number, number, number];
  body: Uint8Array | undefined;
}

/** A batch as posted to the thread: the warcinfo head (`headLen` bytes, -1: none) and every small buffer packed into one. */
export interface WireBatch {
  id: number;
  warcinfoId: string;
  gzip: boolean;
  headLen: number;
  packed: Uint8Array;
  entries: WireEntry[];
}

/** True when `b` spans its whole ArrayBuffer, so transferring that moves exactly `b` (never a slice of Node's pool). */
function ownsMemory(b: Uint8Array): boolean {
  return b.byteOffset === 0 && b.byteLength === b.buffer.byteLength && b.buffer instanceof ArrayBuffer;
}

/**
 * `batch` as one message and its transfer list: small buffers copied into one packed buffer
 * (its own memory, so it is transferred), bodies moved when `move` and they qualify.
 */
export function encodeBatch(
  id: number,
  batch: WarcBatch,
  move: boolean,
): { msg: WireBatch; transfer: ArrayBuffer[] } {
  const parts: Uint8Array[] = [];
  let total = 0;
  const add = (b: Uint8Array): number => {
    parts.push(b);
    total += b.length;
    return b.length;
  };
  const transfer = new Set<ArrayBuffer>();
  const headLen = batch.head === null ? -1 : add(batch.head);
  const entries: WireEntry[] = [];
  for (const e of batch.entries) {
    const ex = e.exchange;
    const rb = ex.responseBody;
    let body: Uint8Array | undefined;
    if (move && rb.byteLength >= MOVE_MIN && ownsMemory(rb)) {
      body = rb;
      transfer.add(rb.buffer as ArrayBuffer);
    }
    entries.push({
      type: e.type,
      id: e.id,
      profile: e.type === 'revisit' ? e.profile : undefined,
      refersTo: e.type === 'revisit' ? e.refersTo : undefined,
      url: ex.url,
      date: ex.date,
      ip: ex.ip,
      status: ex.status,
      truncated: ex.truncated,
      lens: [
        add(ex.requestHead),
        ex.requestBody === null ? -1 : add(ex.requestBody),
        add(ex.responseHead),
        body === undefined ? add(rb) : -1,
      ],
      body,
    });
  }
  // allocUnsafeSlow: never the shared pool, so the packed buffer can be transferred.
  const packed = Buffer.allocUnsafeSlow(total);
  let at = 0;
  for (const p of parts) {
    packed.set(p, at);
    at += p.length;
  }
  transfer.add(packed.buffer as ArrayBuffer);
  return {
    msg: { id, warcinfoId: batch.warcinfoId, gzip: batch.gzip, headLen, packed, entries },
    transfer: [...transfer],
  };
}

/** The batch a {@link WireBatch} stands for, its buffers views of the received memory (on the thread). */
export function decodeBatch(msg: WireBatch): WarcBatch {
  const mem = msg.packed;
  let at = 0;
  const take = (n: number): Buffer => {
    const b = Buffer.from(mem.buffer, mem.byteOffset + at, n);
    at += n;
    return b;
  };
  const head = msg.headLen < 0 ? null : take(msg.headLen);
  const entries: WarcEntry[] = msg.entries.map((w) => {
    const [rqh, rqb, rsh, rsb] = w.lens;
    const requestHead = take(rqh);
    const requestBody = rqb < 0 ? null : take(rqb);
    const responseHead = take(rsh);
    const b = w.body;
    const responseBody =
      rsb < 0 && b !== undefined ? Buffer.from(b.buffer, b.byteOffset, b.byteLength) : take(rsb);
    const exchange: Exchange = {
      url: w.url,
      date: w.date,
      ip: w.ip,
      requestHead,
      requestBody,
      responseHead,
      status: w.status,
      responseBody,
    };
    if (w.truncated !== undefined) exchange.truncated = w.truncated;
    const id = w.id === undefined ? {} : { id: w.id };
    return w.type === 'revisit'
      ? {
          type: 'revisit',
          exchange,
          profile: w.profile as RevisitProfile,
          refersTo: w.refersTo as RevisitOf,
          ...id,
        }
      : { type: 'exchange', exchange, ...id };
  });
  return { head, entries, warcinfoId: msg.warcinfoId, gzip: msg.gzip };
}

interface Pending {
  resolve: (out: Buffer) => void;
  reject: (err: Error) => void;
}

/** The thread's answer: the batch's bytes, or what serializing threw (name and message). */
export type WarcAnswer =
  | { id: number; out: Uint8Array }
  | { id: number; error: { name: string; message: string } };

/**
 * One worker thread that serializes WARC batches (serializeBatch: record building, SHA-1 digests,
 * per-record gzip) off the calling thread. The worker starts on the first {@link serialize}, so
 * an unused WarcThread costs nothing. Jobs are answered in the order sent. The thread is
 * `unref`'d while idle, so it never keeps the process alive on its own; a thread that dies fails
 * its pending jobs (and every later one) with the cause instead of leaving them hanging.
 */
export class WarcThread implements WarcSerializer {
  #worker: Worker | null = null;
  readonly #pending = new Map<number, Pending>();
  readonly #move: boolean;
  #seq = 0;
  #dead: Error | null = null;

  constructor(o: WarcThreadOptions = {}) {
    this.#move = o.moveBodies === true;
  }

  /**
   * Serializes `batch` on the thread and resolves to exactly the bytes serializeBatch(batch)
   * returns, moved back without a copy. Rejects with a RangeError as serializeBatch throws it,
   * with the cause when the thread has died or been closed, and with a DataCloneError when the
   * batch cannot be posted. Small buffers are copied to the thread; with moveBodies, large
   * response bodies that own their memory are moved (detached here) even when the job fails.
   */
  serialize(batch: WarcBatch): Promise<Buffer> {
    if (this.#dead) return Promise.reject(this.#dead);
    const worker = this.#worker ?? this.#spawn();
    const id = ++this.#seq;
    if (this.#pending.size === 0) worker.ref();
    return new Promise((resolve, reject) => {
      const { msg, transfer } = encodeBatch(id, batch, this.#move);
      this.#pending.set(id, { resolve, reject });
      try {
        worker.postMessage(msg, transfer);
      } catch (err) {
        this.#settled(id);
        reject(err as Error);
      }
    });
  }

  /** Stops the thread (when started); pending and later jobs are rejected. Idempotent. */
  async close(): Promise<void> {
    if (this.#dead === null) this.#dead = new Error('WARC thread closed');
    const w = this.#worker;
    this.#worker = null;
    if (w !== null) await w.terminate();
  }

  #settled(id: number): Pending | undefined {
    const p = this.#pending.get(id);
    this.#pending.delete(id);
    if (this.#pending.size === 0) this.#worker?.unref();
    return p;
  }

  #spawn(): Worker {
    const worker = spawnWarcWorker();
    this.#worker = worker;
    worker.on('message', (msg: WarcAnswer) => {
      const p = this.#settled(msg.id);
      if (!p) return;
      if ('out' in msg) {
        p.resolve(Buffer.from(msg.out.buffer, msg.out.byteOffset, msg.out.byteLength));
      } else {
        const err =
          msg.error.name === 'RangeError' ? new RangeError(msg.error.message) : new Error(msg.error.message);
        p.reject(err);
      }
    });
    const fail = (err: Error) => {
      this.#dead ??= err;
      for (const p of this.#pending.values()) p.reject(this.#dead);
      this.#pending.clear();
    };
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`WARC thread exited with code ${code}`)));
    return worker;
  }
}

// From dist/ the compiled .js worker runs as is; from src/ (tests, tsx) the .ts worker needs tsx.
function spawnWarcWorker(): Worker {
  const js = new URL('./warc-worker.js', import.meta.url);
  if (existsSync(fileURLToPath(js))) return new Worker(js);
  // Running from TypeScript sources (tests, tsx): register tsx inside the thread, then load the .ts worker.
  const ts = new URL('./warc-worker.ts', import.meta.url).href;
  // tsx resolved here, not by bare name in the thread: the process's cwd may have no node_modules.
  const tsx = JSON.stringify(import.meta.resolve('tsx/esm/api'));
  const boot = `import(${tsx}).then((api) => { api.register(); return import(${JSON.stringify(ts)}); });`;
  return new Worker(boot, { eval: true });
}
