/**
 * Go channels for TypeScript: typed FIFO conduits between async tasks with Go's exact semantics —
 * unbuffered rendezvous, bounded buffers, close, FIFO service of blocked senders and receivers —
 * plus cancellation through AbortSignal (Go's `ctx`). See `select.ts` for `select`.
 *
 * Implementation notes: the buffer is a power-of-two ring that grows lazily up to the capacity
 * (a `makeChan(1e6)` that never fills costs a few slots, and nothing is ever `Array.shift`ed);
 * blocked operations wait in intrusive linked lists (`waitqueue.ts`). An operation that can
 * complete at once does so synchronously inside the call and returns an already-settled promise
 * (sends share one resolved promise), so the hot path allocates at most the result object.
 */

import { unwatchAbort, watchAbort } from './abort-watch.js';
import { ChannelClosedError, CloseOfClosedChannelError } from './errors.js';
import type { Keeper } from './keep-alive.js';
import {
  CLOSED,
  kKeepAlive,
  kPut,
  kReady,
  kTake,
  kWait,
  kWaiting,
  RECV_ITER,
  RECV_RESULT,
  WaitNode,
  WaitQueue,
} from './waitqueue.js';

/**
 * The outcome of a receive, Go's `v, ok := <-ch`. `ok` is true when `value` was sent by a
 * sender; `ok` is false only when the channel is closed and its buffer drained, and then
 * `value` is `undefined` (Go's zero value).
 */
export type RecvResult<T> = { value: T; ok: true } | { value: undefined; ok: false };

const RESOLVED: Promise<void> = Promise.resolve();
const CLOSED_RESULT: RecvResult<never> = Object.freeze({ value: undefined, ok: false });
const DONE: IteratorReturnResult<undefined> = Object.freeze({ value: undefined, done: true as const });
/** Initial ring size for buffered channels; the ring doubles on demand up to the capacity. */
const INITIAL_RING = 16;

/** Wakes a blocked receiver (plain or select case) with `(value, ok)`. */
function wakeRecv(node: WaitNode, value: unknown, ok: boolean): void {
  if (node.sel !== null) {
    node.sel.win(node, value, ok);
    return;
  }
  if (node.signal !== undefined) unwatchAbort(node.signal, node);
  node.resolve!(
    node.index === RECV_ITER
      ? ok
        ? { value, done: false }
        : DONE
      : ok
        ? { value, ok: true }
        : CLOSED_RESULT,
  );
}

/** Completes a blocked sender (plain or select case) whose value has been taken. */
function wakeSend(node: WaitNode): void {
  node.value = undefined;
  if (node.sel !== null) {
    node.sel.win(node, undefined, true);
    return;
  }
  if (node.signal !== undefined) unwatchAbort(node.signal, node);
  node.resolve!(undefined);
}

/** Fails a blocked sender whose channel was closed (Go wakes it and it panics). */
function failSend(node: WaitNode): void {
  node.value = undefined;
  if (node.sel !== null) {
    node.sel.fail(new ChannelClosedError());
    return;
  }
  if (node.signal !== undefined) unwatchAbort(node.signal, node);
  node.reject!(new ChannelClosedError());
}

/** Rounds `n` (≥ 1) up to a power of two. */
function ringSize(n: number): number {
  let size = 1;
  while (size < n) size *= 2;
  return size;
}

/**
 * A Go channel carrying values of type `T`.
 *
 * - **Capacity.** `new Channel(0)` (the default) is unbuffered: a send completes only when a
 *   receiver takes the value (rendezvous). `new Channel(n)` buffers up to `n` values; a send
 *   blocks only while the buffer is full, a receive only while it is empty.
 * - **Order.** Values are received in the order their sends completed; blocked senders and
 *   blocked receivers are each served first-come first-served, with no cap on how many wait.
 * - **Close.** After `close()`, buffered values are still received, then every receive yields
 *   `{ value: undefined, ok: false }` at once. Receivers blocked at the close get `ok: false`;
 *   senders blocked at the close, and every later send, reject with {@link ChannelClosedError};
 *   closing twice throws {@link CloseOfClosedChannelError}.
 * - **Cancellation.** `send` and `recv` take an optional AbortSignal. If it is already aborted
 *   the call rejects with `signal.reason` at once *even if the operation could complete* — it
 *   takes and delivers nothing (this is the platform's convention, e.g. `timers/promises`, and
 *   it matches `select`, where an aborted select takes nothing). If it aborts while the operation
 *   waits, the operation rejects with `signal.reason` and the channel is left exactly as if it
 *   had never been tried. An operation that already completed is unaffected by a later abort.
 *   Abort listeners are released as soon as an operation settles. While an operation waits,
 *   the deadline timer of a conc context on `signal` keeps the process alive, so a program
 *   blocked only on that deadline waits for it, as in Go (see `keep-alive.ts`).
 *
 * Values may be anything, including `undefined` (use `ok` to tell a closed channel apart). The
 * `{ value: undefined, ok: false }` result is one shared frozen object: read it, don't mutate it.
 */
export class Channel<T> implements AsyncIterable<T> {
  readonly #cap: number;
  /** Ring buffer of length power-of-two (empty for unbuffered channels). */
  #buf: (T | undefined)[];
  #head = 0;
  #count = 0;
  #closed = false;
  readonly #recvq = new WaitQueue();
  readonly #sendq = new WaitQueue();

  /**
   * Creates a channel buffering up to `capacity` values (default 0: unbuffered). Throws
   * RangeError unless `capacity` is a non-negative safe integer.
   */
  constructor(capacity = 0) {
    if (!Number.isSafeInteger(capacity) || capacity < 0) {
      throw new RangeError(`channel capacity must be a non-negative integer, got ${String(capacity)}`);
    }
    this.#cap = capacity;
    this.#buf = capacity === 0 ? [] : new Array<T | undefined>(ringSize(Math.min(capacity, INITIAL_RING)));
  }

  /** The number of values buffered now (Go's `len(ch)`); always 0 for an unbuffered channel. */
  get length(): number {
    return this.#count;
  }

  /** The buffer capacity given at creation (Go's `cap(ch)`). */
  get capacity(): number {
    return this.#cap;
  }

  /** Whether `close()` has been called (buffered values may remain to be received). */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Sends `value`, Go's `ch <- value`. Resolves once the value is handed to a receiver
   * (unbuffered, or a receiver was already waiting) or stored in the buffer; otherwise waits,
   * FIFO behind earlier blocked senders. Rejects with {@link ChannelClosedError} if the channel
   * is closed now or is closed while this send waits (the value is then delivered to no one).
   * With `signal`: rejects with `signal.reason` at once if it is already aborted (sending
   * nothing, even if the send could have completed), or when it aborts while the send waits
   * (the value is withdrawn; no receiver will ever see it).
   */
  send(value: T, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (this.#closed) return Promise.reject(new ChannelClosedError());
    const r = this.#recvq.shift();
    if (r !== null) {
      wakeRecv(r, value, true);
      return RESOLVED;
    }
    if (this.#count < this.#cap) {
      this.#push(value);
      return RESOLVED;
    }
    return new Promise<void>((resolve, reject) => {
      const node = new WaitNode(value, 0, null);
      node.resolve = resolve as (v: unknown) => void;
      node.reject = reject;
      this.#sendq.push(node);
      if (signal !== undefined) {
        node.signal = signal;
        watchAbort(signal, node);
      }
    });
  }

  /**
   * Receives a value, Go's `v, ok := <-ch`. Resolves with `{ value, ok: true }` for a value
   * taken from the buffer or from a sender, or `{ value: undefined, ok: false }` when the channel
   * is closed and drained (now, or while this receive waits). Otherwise waits, FIFO behind
   * earlier blocked receivers. With `signal`: rejects with `signal.reason` at once if already
   * aborted (taking nothing, even if a value is ready), or when it aborts while the receive waits
   * (nothing is taken; the value this receiver would have got goes to the next receiver).
   */
  recv(signal?: AbortSignal): Promise<RecvResult<T>> {
    // The buffered fast path is inlined here (not shared with #recv): it is the hottest call.
    if (this.#count > 0 && signal?.aborted !== true)
      return Promise.resolve({ value: this.#shift(), ok: true });
    return this.#recv(signal, RECV_RESULT) as Promise<RecvResult<T>>;
  }

  /**
   * Sends without blocking, Go's `select { case ch <- v: default: }`. Returns true if the value
   * was handed to a waiting receiver or buffered, false if the send would block (nothing is
   * sent). Throws {@link ChannelClosedError} if the channel is closed.
   */
  trySend(value: T): boolean {
    if (this.#closed) throw new ChannelClosedError();
    const r = this.#recvq.shift();
    if (r !== null) {
      wakeRecv(r, value, true);
      return true;
    }
    if (this.#count < this.#cap) {
      this.#push(value);
      return true;
    }
    return false;
  }

  /**
   * Receives without blocking, Go's `select { case v, ok := <-ch: default: }`. Returns
   * `{ value, ok: true }` if a value was buffered or a sender was waiting, `{ value: undefined,
   * ok: false }` if the channel is closed and drained, and `undefined` if the receive would block.
   */
  tryRecv(): RecvResult<T> | undefined {
    if (this.#count > 0) return { value: this.#shift(), ok: true };
    const s = this.#sendq.shift();
    if (s !== null) {
      const value = s.value as T;
      wakeSend(s);
      return { value, ok: true };
    }
    return this.#closed ? CLOSED_RESULT : undefined;
  }

  /**
   * Closes the channel, Go's `close(ch)`: no more values will be sent. Buffered values stay
   * receivable; receivers blocked now complete with `ok: false`; senders blocked now reject with
   * {@link ChannelClosedError}. Throws {@link CloseOfClosedChannelError} if already closed.
   */
  close(): void {
    if (this.#closed) throw new CloseOfClosedChannelError();
    this.#closed = true;
    for (let r = this.#recvq.shift(); r !== null; r = this.#recvq.shift()) wakeRecv(r, undefined, false);
    for (let s = this.#sendq.shift(); s !== null; s = this.#sendq.shift()) failSend(s);
  }

  /**
   * Iterates the received values, Go's `for v := range ch`: ends when the channel is closed and
   * drained. Each `next()` is one receive, so several loops over one channel share its values
   * (each value goes to exactly one loop). Breaking out of a loop takes nothing further.
   */
  [Symbol.asyncIterator](): AsyncIterableIterator<T> {
    return this.#iterator(undefined);
  }

  /**
   * Like iterating the channel, but every receive is cancelled by `signal`: when it aborts (or
   * already has) the loop throws `signal.reason` and no value is lost — one not yet received
   * stays in the channel for others.
   */
  range(signal?: AbortSignal): AsyncIterable<T> {
    return { [Symbol.asyncIterator]: () => this.#iterator(signal) };
  }

  #iterator(signal: AbortSignal | undefined): AsyncIterableIterator<T> {
    const next = (): Promise<IteratorResult<T>> =>
      this.#count > 0 && signal?.aborted !== true
        ? Promise.resolve({ value: this.#shift(), done: false })
        : (this.#recv(signal, RECV_ITER) as Promise<IteratorResult<T>>);
    return {
      next,
      [Symbol.asyncIterator]() {
        return this;
      },
    };
  }

  #recv(signal: AbortSignal | undefined, mode: number): Promise<unknown> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    let value: T | undefined;
    if (this.#count > 0) {
      value = this.#shift();
    } else {
      const s = this.#sendq.shift();
      if (s !== null) {
        value = s.value as T;
        wakeSend(s);
      } else if (this.#closed) {
        return Promise.resolve(mode === RECV_ITER ? DONE : CLOSED_RESULT);
      } else {
        return new Promise((resolve, reject) => {
          const node = new WaitNode(undefined, mode, null);
          node.resolve = resolve;
          node.reject = reject;
          this.#recvq.push(node);
          if (signal !== undefined) {
            node.signal = signal;
            watchAbort(signal, node);
          }
        });
      }
    }
    return Promise.resolve(mode === RECV_ITER ? { value, done: false } : { value, ok: true });
  }

  /** Appends to the ring (caller checked `#count < #cap`), growing it if full. */
  #push(value: T): void {
    let buf = this.#buf;
    if (this.#count === buf.length) {
      const grown = new Array<T | undefined>(buf.length * 2);
      for (let i = 0; i < this.#count; i++) grown[i] = buf[(this.#head + i) & (buf.length - 1)];
      this.#buf = buf = grown;
      this.#head = 0;
    }
    buf[(this.#head + this.#count) & (buf.length - 1)] = value;
    this.#count++;
  }

  /**
   * Takes the oldest buffered value (caller checked `#count > 0`), then moves the first blocked
   * sender's value into the freed slot, completing that send (Go's `recv` on a full buffer).
   */
  #shift(): T {
    const buf = this.#buf;
    const value = buf[this.#head] as T;
    buf[this.#head] = undefined;
    this.#head = (this.#head + 1) & (buf.length - 1);
    this.#count--;
    const s = this.#sendq.shift();
    if (s !== null) {
      this.#push(s.value as T);
      wakeSend(s);
    }
    return value;
  }

  /** @internal Whether a send (`send`) or receive would proceed now; a closed channel is ready for both. */
  [kReady](send: boolean): boolean {
    if (this.#closed) return true;
    return send
      ? this.#recvq.head !== null || this.#count < this.#cap
      : this.#count > 0 || this.#sendq.head !== null;
  }

  /** @internal Receives now (caller checked `[kReady](false)`); {@link CLOSED} when closed and drained. */
  [kTake](): T | typeof CLOSED {
    if (this.#count > 0) return this.#shift();
    const s = this.#sendq.shift();
    if (s !== null) {
      const value = s.value as T;
      wakeSend(s);
      return value;
    }
    return CLOSED;
  }

  /** @internal Sends now (caller checked `[kReady](true)` and that the channel is open). */
  [kPut](value: T): void {
    const r = this.#recvq.shift();
    if (r !== null) wakeRecv(r, value, true);
    else this.#push(value);
  }

  /** @internal Enqueues a select's node as a blocked sender or receiver. */
  [kWait](send: boolean, node: WaitNode): void {
    (send ? this.#sendq : this.#recvq).push(node);
  }

  /**
   * @internal Makes `keeper` held while any receiver (plain, iterator or select case) is blocked
   * on this channel: a timer channel keeps its host timer ref'd exactly while it is awaited.
   */
  [kKeepAlive](keeper: Keeper): void {
    this.#recvq.keeper = keeper;
  }

  /** @internal How many senders and receivers are blocked (for tests and diagnostics). */
  get [kWaiting](): { senders: number; receivers: number } {
    return { senders: this.#sendq.size, receivers: this.#recvq.size };
  }
}

/**
 * Creates a channel, Go's `make(chan T, capacity)`. Same as `new Channel<T>(capacity)`:
 * capacity 0 (the default) is unbuffered; RangeError unless a non-negative safe integer.
 */
export function makeChan<T>(capacity = 0): Channel<T> {
  return new Channel<T>(capacity);
}
