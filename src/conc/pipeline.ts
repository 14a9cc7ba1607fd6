/**
 * Pipelines of channels, as in "Go Concurrency Patterns: Pipelines and cancellation": a source
 * ({@link generate}) feeds stages ({@link stage}, {@link filter}) connected by channels; a
 * channel can be shared by several stages (fan-out) and several channels merged into one
 * (fan-in, {@link merge}). Every stage is a loop that closes its output when its input is
 * closed and drained, so closing flows downstream and a `for await` over the last channel ends.
 *
 * A {@link Pipeline} owns a shared context for a set of stages built through it: the first
 * error in any stage (or `cancel`, or the parent signal aborting) aborts the pipeline signal,
 * every loop exits and closes its output, and `wait()` rejects with that first error — reported
 * once. `wait()` settles only after every loop has exited and every stage function still
 * running has settled, so nothing is left behind.
 *
 * The same builders also exist as free functions for stages that stand alone: they stop when
 * `options.signal` aborts, and since nobody waits on them, a stage function's error is rethrown
 * from a microtask (an uncaught exception, as a panic in a Go stage would be) after stopping
 * that stage. Use a Pipeline when stage functions can fail.
 */
import { Channel } from './channel.js';
import type { CancelContext } from './context.js';
import { CanceledError, withCancel } from './context.js';
import { WaitGroup } from './waitgroup.js';

/** Returned by a {@link stage} function to drop the value instead of emitting it. */
export const skip: unique symbol = Symbol('trawl.conc.pipeline.skip');
/** The type of {@link skip}. */
export type Skip = typeof skip;

/** What {@link generate} reads: an iterable, or a function of the pipeline signal giving one. */
export type Source<T> =
  | Iterable<T>
  | AsyncIterable<T>
  | ((signal: AbortSignal) => Iterable<T> | AsyncIterable<T>);

/** Options of a stage's output channel. */
export interface BufferOptions {
  /** Capacity of the output channel(s); default 0 (unbuffered, as in Go's examples). */
  buffer?: number;
}

/** Options of {@link stage} and {@link filter}. */
export interface StageOptions extends BufferOptions {
  /** How many values the function works on at once (default 1). */
  concurrency?: number;
  /**
   * With `concurrency > 1`: emit results in input order (default false: emit each as soon as
   * it is ready). Ordered mode still runs up to `concurrency` calls at once; a slow call holds
   * back the results after it, not the calls.
   */
  ordered?: boolean;
}

/** Options for a free-standing builder: the signal that stops it. */
export interface SignalOptions {
  /** Aborting it stops the stage and closes its output. */
  signal?: AbortSignal;
}

/** The context stages run in: a Pipeline, or a one-stage scope for the free functions. */
interface Scope {
  readonly signal: AbortSignal;
  /** Runs `loop`; its rejection is reported with `fail`. */
  spawn(loop: (signal: AbortSignal) => Promise<void>): void;
  /** Records a failure and aborts the scope's signal, synchronously. */
  fail(err: unknown): void;
}

function noop(): void {}

function isThenable(v: unknown): v is PromiseLike<unknown> {
  return (
    v !== null &&
    (typeof v === 'object' || typeof v === 'function') &&
    typeof (v as { then?: unknown }).then === 'function'
  );
}

function checkBuffer(n: number | undefined): number {
  const b = n ?? 0;
  if (!Number.isSafeInteger(b) || b < 0)
    throw new RangeError(`pipeline: buffer must be a non-negative integer`);
  return b;
}

function checkCount(name: string, n: number): number {
  if (!Number.isSafeInteger(n) || n < 1) throw new RangeError(`pipeline: ${name} must be a positive integer`);
  return n;
}

/**
 * A set of stages sharing one context (Go: an errgroup plus its derived ctx, with each stage a
 * goroutine). Build stages with its methods, consume the last channel, then `await wait()`.
 *
 * ```ts
 * const p = pipeline(signal);
 * const raw = p.generate(extract(5));
 * const cleaned = p.stage(raw, transform);
 * const enriched = p.stage(cleaned, enrich, { concurrency: 4, ordered: true });
 * p.sink(enriched, load);
 * await p.wait(); // rejects with the first error of any stage
 * ```
 *
 * If the consumer of the last channel stops reading early, call `cancel()`: otherwise the
 * stages wait forever to hand on their next value and `wait()` never settles.
 */
export class Pipeline {
  readonly #ctx: CancelContext;
  readonly #wg = new WaitGroup();
  readonly #scope: Scope;
  #failed = false;
  #error: unknown;

  /** Creates a pipeline whose signal is derived from `parent` (none: never aborted from outside). */
  constructor(parent?: AbortSignal) {
    this.#ctx = withCancel(parent);
    const signal = this.#ctx.signal;
    this.#scope = {
      signal,
      spawn: (loop) => {
        this.#wg.add(1);
        let p: Promise<void>;
        try {
          p = loop(signal);
        } catch (err) {
          this.#fail(err);
          this.#wg.done();
          return;
        }
        p.then(noop, (err: unknown) => this.#fail(err)).finally(() => this.#wg.done());
      },
      fail: (err) => this.#fail(err),
    };
  }

  /**
   * The pipeline's signal, passed to every stage function: aborted by the first error (reason:
   * that error), by `cancel`, by the parent aborting, and when `wait` settles.
   */
  get signal(): AbortSignal {
    return this.#ctx.signal;
  }

  /** The number of stage loops and tasks still running (0 once everything has exited). */
  get running(): number {
    return this.#wg.count;
  }

  /** Records the first error and aborts the pipeline signal with it, synchronously. */
  #fail(err: unknown): void {
    if (this.#failed) return;
    this.#failed = true;
    this.#error = err;
    this.#ctx.cancel(err);
  }

  /**
   * Runs `fn(signal)` as a task of the pipeline (Go's `g.Go`): `wait` waits for it, and its
   * throw or rejection fails the whole pipeline. Use it for hand-written stages, e.g. a
   * producer that sends into a channel and closes it.
   */
  go(fn: (signal: AbortSignal) => unknown): void {
    this.#scope.spawn(async (signal) => {
      await fn(signal);
    });
  }

  /**
   * Aborts the pipeline with `reason` (default: a `CanceledError`): every stage stops and
   * closes its output, and `wait` rejects with `reason` unless an error came first. Does nothing
   * once the pipeline has failed or `wait` has settled.
   */
  cancel(reason?: unknown): void {
    this.#ctx.cancel(reason === undefined ? new CanceledError() : reason);
  }

  /**
   * Resolves when every stage loop and task has exited normally; rejects with the first error
   * (a stage function's throw, the `cancel` reason, or the parent's abort reason) once every
   * loop has exited. Afterwards the pipeline signal is aborted (Go's errgroup cancels its ctx
   * when Wait returns), which also releases it from its parent; so call `wait` after building
   * the stages, not before. If `signal` aborts first, rejects with its reason and stops waiting
   * without affecting the pipeline.
   */
  async wait(signal?: AbortSignal): Promise<void> {
    await this.#wg.wait(signal);
    this.#ctx.cancel();
    if (this.#failed) throw this.#error;
  }

  /**
   * {@link generate}, run in this pipeline: it stops (closing its output and calling the
   * iterator's `return()`) when the pipeline is cancelled or fails, and an iterator throw fails
   * the pipeline.
   */
  generate<T>(source: Source<T>, options: BufferOptions = {}): Channel<T> {
    return buildGenerate(this.#scope, source, options);
  }

  /**
   * {@link stage}, run in this pipeline: `fn` receives the pipeline signal, the stage stops when
   * the pipeline is cancelled or fails, and a throw or rejection of `fn` fails the pipeline (after
   * which `wait` still waits for this stage's calls in flight).
   */
  stage<I, O>(
    input: Channel<I>,
    fn: (value: I, signal: AbortSignal) => O | Skip | Promise<O | Skip>,
    options: StageOptions = {},
  ): Channel<O> {
    return buildStage(this.#scope, input, fn, options);
  }

  /** {@link filter}, run in this pipeline, with the same stop and error rules as `stage`. */
  filter<T>(
    input: Channel<T>,
    predicate: (value: T, signal: AbortSignal) => boolean | Promise<boolean>,
    options: StageOptions = {},
  ): Channel<T> {
    return buildStage(this.#scope, input, filterFn(predicate), options);
  }

  /**
   * {@link merge}, run in this pipeline: fan-in of `inputs` into one unbuffered channel, closed
   * when all inputs are closed and drained or when the pipeline stops.
   */
  merge<T>(...inputs: Channel<T>[]): Channel<T> {
    return buildMerge(this.#scope, inputs, 0);
  }

  /** {@link fanOut}, run in this pipeline: the outputs also close when the pipeline stops. */
  fanOut<T>(input: Channel<T>, n: number, options: BufferOptions = {}): Channel<T>[] {
    return buildFanOut(this.#scope, input, n, options);
  }

  /** {@link tee}, run in this pipeline: the outputs also close when the pipeline stops. */
  tee<T>(input: Channel<T>, n: number, options: BufferOptions = {}): Channel<T>[] {
    return buildTee(this.#scope, input, n, options);
  }

  /**
   * Consumes `input` to the end, calling `fn(value, signal)` for each value with up to
   * `concurrency` calls at once (default 1, in order). A throw or rejection fails the pipeline.
   * Completion is reported by `wait`.
   */
  sink<T>(
    input: Channel<T>,
    fn: (value: T, signal: AbortSignal) => unknown,
    options: { concurrency?: number } = {},
  ): void {
    const c = checkCount('concurrency', options.concurrency ?? 1);
    for (let i = 0; i < c; i++) {
      this.#scope.spawn(async (signal) => {
        for (;;) {
          signal.throwIfAborted();
          const r = input.tryRecv() ?? (await input.recv(signal));
          if (!r.ok) return;
          const out = fn(r.value as T, signal);
          if (isThenable(out)) await out;
        }
      });
    }
  }
}

/** Creates a {@link Pipeline} whose signal is derived from `parent`. */
export function pipeline(parent?: AbortSignal): Pipeline {
  return new Pipeline(parent);
}

/**
 * The scope of one free-standing builder call: its own child of `options.signal`, cancelled
 * when its loops have all exited (so it does not stay registered on the parent).
 */
class DetachedScope implements Scope {
  readonly #ctx: CancelContext;
  #live = 0;
  #failed = false;

  constructor(parent: AbortSignal | undefined) {
    this.#ctx = withCancel(parent);
  }

  get signal(): AbortSignal {
    return this.#ctx.signal;
  }

  spawn(loop: (signal: AbortSignal) => Promise<void>): void {
    this.#live++;
    loop(this.#ctx.signal)
      .then(noop, (err: unknown) => this.fail(err))
      .finally(() => {
        if (--this.#live === 0) this.#ctx.cancel();
      });
  }

  fail(err: unknown): void {
    if (this.#failed) return;
    this.#failed = true;
    const signal = this.#ctx.signal;
    // Stopping because the caller's signal aborted is not an error.
    if (!(signal.aborted && err === signal.reason)) {
      queueMicrotask(() => {
        throw err;
      });
    }
    this.#ctx.cancel(err);
  }
}

/**
 * Starts a loop sending the values of `source` into a new channel, closed after the last one
 * (Go's generator goroutine). `source` may be a sync or async iterable, or a function of the
 * stage's signal returning one (so an async generator can stop early). When the stage stops
 * early (abort), the iterator's `return()` is called so `finally` blocks in a generator run.
 * A throw from the iterator is a stage error. An async iterator that never settles its
 * `next()` keeps the stage alive: pass the signal into it.
 */
export function generate<T>(source: Source<T>, options: BufferOptions & SignalOptions = {}): Channel<T> {
  return buildGenerate(new DetachedScope(options.signal), source, options);
}

/**
 * Starts a stage: `concurrency` loops (default 1) receiving from `input`, calling
 * `fn(value, signal)`, and sending each result to the returned channel, which is closed once
 * `input` is closed and drained and every call has finished. A result of {@link skip} is
 * dropped. With `concurrency > 1` results are emitted as they complete, or in input order with
 * `ordered: true`. A throw or rejection of `fn` is a stage error. Several stages may read one
 * input channel (fan-out: each value goes to exactly one of them).
 */
export function stage<I, O>(
  input: Channel<I>,
  fn: (value: I, signal: AbortSignal) => O | Skip | Promise<O | Skip>,
  options: StageOptions & SignalOptions = {},
): Channel<O> {
  return buildStage(new DetachedScope(options.signal), input, fn, options);
}

/** A stage passing on the values for which `predicate` returns (or resolves to) true. */
export function filter<T>(
  input: Channel<T>,
  predicate: (value: T, signal: AbortSignal) => boolean | Promise<boolean>,
  options: StageOptions & SignalOptions = {},
): Channel<T> {
  return buildStage(new DetachedScope(options.signal), input, filterFn(predicate), options);
}

/**
 * Fan-in: one unbuffered channel receiving every value of every input (each input's values in
 * their order; inputs interleaved as they come), closed when all inputs are closed and drained
 * (Go's `merge` with a WaitGroup). With no inputs the result is closed at once. To stop a merge
 * before its inputs close, build it in a {@link Pipeline}.
 */
export function merge<T>(...inputs: Channel<T>[]): Channel<T> {
  return buildMerge(new DetachedScope(undefined), inputs, 0);
}

/**
 * Fan-out to `n` separate channels: `n` loops share `input`, and each value goes to the first
 * loop free to take it, which hands it to its own output (so a slow consumer gets fewer values,
 * and holds at most one that others could have had). Each output closes when `input` is
 * closed and drained.
 */
export function fanOut<T>(
  input: Channel<T>,
  n: number,
  options: BufferOptions & SignalOptions = {},
): Channel<T>[] {
  return buildFanOut(new DetachedScope(options.signal), input, n, options);
}

/**
 * Broadcast: every value of `input` is sent to each of the `n` returned channels, in order; the
 * next value is taken only after all outputs accepted the current one (so the slowest consumer
 * sets the pace — give outputs a `buffer` to absorb jitter). All outputs close when `input` is
 * closed and drained.
 */
export function tee<T>(
  input: Channel<T>,
  n: number,
  options: BufferOptions & SignalOptions = {},
): Channel<T>[] {
  return buildTee(new DetachedScope(options.signal), input, n, options);
}

function filterFn<T>(
  predicate: (value: T, signal: AbortSignal) => boolean | Promise<boolean>,
): (value: T, signal: AbortSignal) => T | Skip | Promise<T | Skip> {
  return (value, signal) => {
    const keep = predicate(value, signal);
    if (isThenable(keep)) return Promise.resolve(keep).then((k) => (k ? value : skip));
    return keep ? value : skip;
  };
}

function buildGenerate<T>(scope: Scope, source: Source<T>, options: BufferOptions): Channel<T> {
  const out = new Channel<T>(checkBuffer(options.buffer));
  scope.spawn(async (signal) => {
    let it: Iterator<T> | AsyncIterator<T> | undefined;
    let finished = false;
    try {
      const src = typeof source === 'function' ? source(signal) : source;
      const isAsync = Symbol.asyncIterator in src;
      it = isAsync
        ? (src as AsyncIterable<T>)[Symbol.asyncIterator]()
        : (src as Iterable<T>)[Symbol.iterator]();
      for (;;) {
        signal.throwIfAborted();
        let n: IteratorResult<T>;
        try {
          n = isAsync ? await it.next() : (it as Iterator<T>).next();
        } catch (err) {
          finished = true; // an iterator that threw is done: no return() call
          throw err;
        }
        if (n.done) {
          finished = true;
          break;
        }
        if (!out.trySend(n.value)) await out.send(n.value, signal);
      }
    } finally {
      out.close();
      if (!finished && it?.return !== undefined) await it.return();
    }
  });
  return out;
}

function buildStage<I, O>(
  scope: Scope,
  input: Channel<I>,
  fn: (value: I, signal: AbortSignal) => O | Skip | Promise<O | Skip>,
  options: StageOptions,
): Channel<O> {
  const c = checkCount('concurrency', options.concurrency ?? 1);
  const out = new Channel<O>(checkBuffer(options.buffer));
  if (options.ordered && c > 1) {
    orderedStage(scope, input, fn, c, out);
    return out;
  }
  let remaining = c;
  for (let i = 0; i < c; i++) {
    scope.spawn(async (signal) => {
      try {
        for (;;) {
          signal.throwIfAborted();
          const r = input.tryRecv() ?? (await input.recv(signal));
          if (!r.ok) return;
          let v = fn(r.value as I, signal);
          if (isThenable(v)) v = await v;
          if (v === skip) continue;
          if (!out.trySend(v)) await out.send(v, signal);
        }
      } finally {
        if (--remaining === 0) out.close();
      }
    });
  }
  return out;
}

type Settled<O> = { ok: true; value: O | Skip } | { ok: false; error: unknown };

function settle<O>(thunk: () => O | Skip | Promise<O | Skip>): Promise<Settled<O>> {
  try {
    return Promise.resolve(thunk()).then(
      (value) => ({ ok: true, value }),
      (error: unknown) => ({ ok: false, error }),
    );
  } catch (error) {
    return Promise.resolve({ ok: false, error });
  }
}

/**
 * Order-preserving concurrent stage: a reader starts each call and queues its (never-rejecting)
 * future in a channel; an emitter awaits the futures in order and sends the values on. The
 * futures channel holds `c - 2`, so with the one the emitter awaits and the one the reader
 * holds, at most `c` calls run at once.
 */
function orderedStage<I, O>(
  scope: Scope,
  input: Channel<I>,
  fn: (value: I, signal: AbortSignal) => O | Skip | Promise<O | Skip>,
  c: number,
  out: Channel<O>,
): void {
  const futures = new Channel<Promise<Settled<O>>>(c - 2);
  scope.spawn(async (signal) => {
    try {
      for (;;) {
        signal.throwIfAborted();
        const r = input.tryRecv() ?? (await input.recv(signal));
        if (!r.ok) return;
        const f = settle(() => fn(r.value as I, signal));
        try {
          if (!futures.trySend(f)) await futures.send(f, signal);
        } catch (err) {
          await f; // not handed on: wait for it here, so no call outlives the stage
          throw err;
        }
      }
    } finally {
      futures.close();
    }
  });
  scope.spawn(async (signal) => {
    try {
      for (;;) {
        const r = futures.tryRecv() ?? (await futures.recv(signal));
        if (!r.ok) return;
        const s = await r.value!;
        if (!s.ok) throw s.error;
        if (s.value === skip) continue;
        signal.throwIfAborted();
        if (!out.trySend(s.value)) await out.send(s.value, signal);
      }
    } catch (err) {
      // Report first (synchronously aborting the signal) so the reader stops and closes
      // `futures`; then wait for every call still running before letting go.
      scope.fail(err);
      for (let r = await futures.recv(); r.ok; r = await futures.recv()) await r.value;
      throw err;
    } finally {
      out.close();
    }
  });
}

function buildMerge<T>(scope: Scope, inputs: Channel<T>[], buffer: number): Channel<T> {
  const out = new Channel<T>(buffer);
  if (inputs.length === 0) {
    out.close();
    return out;
  }
  let remaining = inputs.length;
  for (const input of inputs) {
    scope.spawn(async (signal) => {
      try {
        await forward(input, out, signal);
      } finally {
        if (--remaining === 0) out.close();
      }
    });
  }
  return out;
}

function buildFanOut<T>(scope: Scope, input: Channel<T>, n: number, options: BufferOptions): Channel<T>[] {
  checkCount('fan-out width', n);
  const buffer = checkBuffer(options.buffer);
  const outs = Array.from({ length: n }, () => new Channel<T>(buffer));
  for (const out of outs) {
    scope.spawn(async (signal) => {
      try {
        await forward(input, out, signal);
      } finally {
        out.close();
      }
    });
  }
  return outs;
}

function buildTee<T>(scope: Scope, input: Channel<T>, n: number, options: BufferOptions): Channel<T>[] {
  checkCount('tee width', n);
  const buffer = checkBuffer(options.buffer);
  const outs = Array.from({ length: n }, () => new Channel<T>(buffer));
  scope.spawn(async (signal) => {
    try {
      for (;;) {
        signal.throwIfAborted();
        const r = input.tryRecv() ?? (await input.recv(signal));
        if (!r.ok) return;
        const v = r.value as T;
        let pending: Promise<void>[] | undefined;
        for (const out of outs) {
          if (!out.trySend(v)) (pending ??= []).push(out.send(v, signal));
        }
        if (pending !== undefined) await Promise.all(pending);
      }
    } finally {
      for (const out of outs) out.close();
    }
  });
  return outs;
}

/** Moves every value from `input` to `out` until `input` is closed and drained. */
async function forward<T>(input: Channel<T>, out: Channel<T>, signal: AbortSignal): Promise<void> {
  for (;;) {
    signal.throwIfAborted();
    const r = input.tryRecv() ?? (await input.recv(signal));
    if (!r.ok) return;
    if (!out.trySend(r.value as T)) await out.send(r.value as T, signal);
  }
}
