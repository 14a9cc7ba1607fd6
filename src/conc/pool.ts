/**
 * A worker pool in the shape of the Go program every tutorial writes: a bounded job channel, N
 * worker loops receiving from it, a results channel, and a WaitGroup that closes the results
 * once the workers are gone — plus what production code needs on top: resizing while running,
 * graceful shutdown, abort, and every job accounted for in exactly one result.
 */
import { unwatchAbort, watchAbort } from './abort-watch.js';
import { Channel } from './channel.js';
import type { CancelContext } from './context.js';
import { CanceledError, withCancel } from './context.js';
import { ChannelClosedError } from './errors.js';

/**
 * The outcome of one job, delivered with the job itself: `ok: true` with the function's value,
 * or `ok: false` with what it threw or rejected with (or the abort reason for a job that was
 * still queued when the pool was aborted).
 */
export type JobResult<J, R> = { job: J; ok: true; value: R } | { job: J; ok: false; error: unknown };

/** The rejection of `submit` (and throw of `trySubmit`) on a pool that was shut down. */
export class PoolClosedError extends Error {
  override name = 'PoolClosedError';
  constructor(message = 'worker pool is shut down') {
    super(message);
  }
}

/** Options for {@link WorkerPool}. */
export interface WorkerPoolOptions<J, R> {
  /** Number of worker loops, i.e. jobs run at once (≥ 0; change it later with `resize`). */
  workers: number;
  /** Capacity of the job queue: `submit` waits while this many jobs are queued (≥ 0). */
  queueSize: number;
  /** Aborting it aborts the pool, as `abort(signal.reason)` does. */
  signal?: AbortSignal;
  /** Capacity of the `results` channel (default: `queueSize`). */
  resultsSize?: number;
  /**
   * Receives each result instead of the `results` channel (which then stays empty and just
   * closes at the end). A returned promise is awaited before that worker takes its next job, so
   * a slow callback slows the pool down rather than piling results up. A throw or rejection of
   * the callback is rethrown from a microtask (an uncaught exception), never swallowed.
   */
  onResult?: (result: JobResult<J, R>) => unknown;
}

interface Worker {
  /** Set when this worker must exit after its current job. */
  stop: boolean;
  /** True while blocked in a receive on the job queue. */
  idle: boolean;
  /** Cancels that receive, to stop an idle worker at once; derived from the pool signal. */
  ctx: CancelContext;
}

const RESOLVED = Promise.resolve();

function isThenable(v: unknown): v is PromiseLike<unknown> {
  return (
    v !== null &&
    (typeof v === 'object' || typeof v === 'function') &&
    typeof (v as { then?: unknown }).then === 'function'
  );
}

/**
 * A pool of `workers` loops running `fn(job, signal)` over jobs from a bounded queue.
 *
 * - **Submitting.** `submit` queues a job, waiting while the queue holds `queueSize` jobs
 *   (backpressure); `trySubmit` never waits.
 * - **Results.** Every accepted job yields exactly one {@link JobResult} on `results` (a bounded
 *   `Channel`, closed after the last result) or to the `onResult` callback. Errors travel with
 *   their job; nothing is thrown away. `results` is bounded: if nobody reads it, workers block
 *   once it is full (backpressure, not unbounded buffering) — read it, or pass `onResult`.
 * - **Shutdown.** `shutdown()` stops accepting jobs, lets the workers finish everything queued,
 *   then closes `results`. `abort(reason)` stops now: the pool signal passed to running jobs is
 *   aborted with `reason`, jobs still queued are not run but delivered as `ok: false` results
 *   with `reason` as their error, and blocked `submit` calls reject with `reason`.
 * - **Resizing.** `resize(n)` starts workers at once or stops surplus ones: idle workers stop
 *   at once, busy ones after their current job.
 *
 * The job function receives the pool's signal (aborted only by `abort`/the `signal` option);
 * it may be synchronous. A worker runs synchronous jobs back to back without yielding while
 * jobs are queued and results fit, which is what makes trivial jobs cheap.
 */
export class WorkerPool<J, R> {
  /** One result per accepted job, in completion order; closed when the pool has finished. */
  readonly results: Channel<JobResult<J, R>>;
  readonly #fn: (job: J, signal: AbortSignal) => R | Promise<R>;
  readonly #onResult: ((result: JobResult<J, R>) => unknown) | undefined;
  readonly #jobs: Channel<J>;
  readonly #ctx: CancelContext;
  readonly #workers = new Set<Worker>();
  #target: number;
  #active = 0;
  #draining = false;
  #state: 'running' | 'shutdown' | 'aborted' = 'running';
  #finished = false;
  readonly #done: Promise<void>;
  #resolveDone!: () => void;

  /**
   * Creates the pool and starts its workers. Throws RangeError if `workers`, `queueSize` or
   * `resultsSize` is not a non-negative integer. An already-aborted `signal` gives a pool that
   * is aborted from the start (every `submit` rejects with its reason).
   */
  constructor(fn: (job: J, signal: AbortSignal) => R | Promise<R>, options: WorkerPoolOptions<J, R>) {
    const { workers, queueSize, signal, resultsSize = queueSize, onResult } = options;
    checkCount('workers', workers);
    checkCount('queueSize', queueSize);
    checkCount('resultsSize', resultsSize);
    this.#fn = fn;
    this.#onResult = onResult;
    this.#jobs = new Channel<J>(queueSize);
    this.results = new Channel<JobResult<J, R>>(resultsSize);
    this.#done = new Promise((resolve) => (this.#resolveDone = resolve));
    this.#ctx = withCancel(signal);
    this.#target = workers;
    if (this.#ctx.signal.aborted) {
      this.#onAbort();
      return;
    }
    this.#ctx.signal.addEventListener('abort', () => this.#onAbort(), { once: true });
    for (let i = 0; i < workers; i++) this.#spawn();
  }

  /**
   * The pool's signal: what every job receives. Aborted by `abort` or the `signal` option (with
   * that reason), and — with a `CanceledError` — once the pool has finished, which releases it
   * from the parent signal.
   */
  get signal(): AbortSignal {
    return this.#ctx.signal;
  }

  /** The number of workers the pool is meant to have (the last `resize`, or `workers`). */
  get size(): number {
    return this.#target;
  }

  /** The number of jobs waiting in the queue. */
  get queued(): number {
    return this.#jobs.length;
  }

  /** The number of jobs being run right now. */
  get active(): number {
    return this.#active;
  }

  /** The number of worker loops alive (including ones finishing a job before stopping). */
  get running(): number {
    return this.#workers.size;
  }

  /** Resolves once the pool has finished: every result delivered and `results` closed. */
  get done(): Promise<void> {
    return this.#done;
  }

  /**
   * Queues `job`. Resolves once it is in the queue (at once if there is room), waiting while
   * the queue is full. Rejects with {@link PoolClosedError} if the pool is shut down (now or
   * while waiting; the job is then not accepted), with the pool's abort reason if it is
   * aborted, and with `signal.reason` if `signal` aborts first (the job is not queued).
   */
  submit(job: J, signal?: AbortSignal): Promise<void> {
    if (this.#state !== 'running') return Promise.reject(this.#closedError());
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (this.#jobs.trySend(job)) return RESOLVED;
    return this.#jobs.send(job, signal).catch((err: unknown) => {
      throw err instanceof ChannelClosedError ? this.#closedError() : err;
    });
  }

  /**
   * Queues `job` only if that needs no waiting; returns whether it was queued. Throws
   * {@link PoolClosedError} (or the abort reason) if the pool no longer accepts jobs.
   */
  trySubmit(job: J): boolean {
    if (this.#state !== 'running') throw this.#closedError();
    return this.#jobs.trySend(job);
  }

  /**
   * Sets the number of workers to `n` (a non-negative integer, else RangeError). Growing starts
   * workers at once. Shrinking stops idle workers at once and busy ones after their current
   * job. With 0 workers queued jobs wait until the pool grows again — so a pool shut down with
   * 0 workers and jobs queued finishes only after a `resize`. After `abort` it only records `n`.
   */
  resize(n: number): void {
    checkCount('workers', n);
    this.#target = n;
    if (this.#state === 'aborted' || this.#finished) return;
    let live = 0;
    for (const w of this.#workers) if (!w.stop) live++;
    for (; live < n; live++) this.#spawn();
    if (live > n) {
      let surplus = live - n;
      // Idle workers first: stopping them changes nothing in flight.
      for (const w of this.#workers) {
        if (surplus === 0) break;
        if (!w.stop && w.idle) {
          w.stop = true;
          w.ctx.cancel();
          surplus--;
        }
      }
      for (const w of this.#workers) {
        if (surplus === 0) break;
        if (!w.stop) {
          w.stop = true;
          surplus--;
        }
      }
    }
  }

  /**
   * Stops accepting jobs (pending and later `submit` calls reject with
   * {@link PoolClosedError}), lets the workers run every queued job, and resolves once the last
   * result is delivered and `results` is closed (Go: `close(jobs); wg.Wait(); close(results)`).
   * Results must still be read for it to finish. Calling it again, or after `abort`, just waits
   * for the same end. If `signal` aborts first, the returned promise rejects with its reason
   * while the shutdown carries on — the graceful-then-forced pattern is
   * `pool.shutdown(withTimeout(undefined, 5000).signal).catch(() => pool.abort())`.
   */
  shutdown(signal?: AbortSignal): Promise<void> {
    if (this.#state === 'running') {
      this.#state = 'shutdown';
      this.#jobs.close();
      this.#maybeFinish();
    }
    return waitFor(this.#done, signal);
  }

  /**
   * Stops now: aborts the pool signal with `reason` (default: a `CanceledError`), so running
   * jobs can see it; stops accepting jobs (blocked and later `submit` calls reject with the
   * reason); delivers every job still queued as `{ ok: false, error: reason }` without running
   * it; and resolves once running jobs have settled, their results are delivered and
   * `results` is closed. A second call, or one after the pool finished, changes nothing.
   */
  abort(reason?: unknown): Promise<void> {
    this.#ctx.cancel(reason === undefined ? new CanceledError() : reason);
    return this.#done;
  }

  #closedError(): unknown {
    return this.#state === 'aborted' ? this.#ctx.signal.reason : new PoolClosedError();
  }

  #onAbort(): void {
    if (this.#finished) return;
    this.#state = 'aborted';
    if (!this.#jobs.closed) this.#jobs.close();
    void this.#drain();
  }

  /** After an abort: hands every queued job back as a failed result. */
  async #drain(): Promise<void> {
    this.#draining = true;
    const reason = this.#ctx.signal.reason;
    try {
      for (let r = this.#jobs.tryRecv(); r?.ok; r = this.#jobs.tryRecv()) {
        const out = this.#deliver({ job: r.value as J, ok: false, error: reason });
        if (out !== undefined) await out;
      }
    } finally {
      this.#draining = false;
      this.#maybeFinish();
    }
  }

  #spawn(): void {
    const w: Worker = { stop: false, idle: false, ctx: withCancel(this.#ctx.signal) };
    this.#workers.add(w);
    void this.#work(w);
  }

  async #work(w: Worker): Promise<void> {
    const jobs = this.#jobs;
    const signal = this.#ctx.signal;
    try {
      while (!w.stop) {
        let r = jobs.tryRecv();
        if (r === undefined) {
          w.idle = true;
          try {
            r = await jobs.recv(w.ctx.signal);
          } catch {
            break; // stopped by resize, or the pool was aborted (the drain takes the queue)
          } finally {
            w.idle = false;
          }
        }
        if (!r.ok) break;
        const job = r.value as J;
        let result: JobResult<J, R>;
        if (signal.aborted) {
          result = { job, ok: false, error: signal.reason };
        } else {
          this.#active++;
          try {
            const v = this.#fn(job, signal);
            result = { job, ok: true, value: isThenable(v) ? await v : v };
          } catch (error) {
            result = { job, ok: false, error };
          } finally {
            this.#active--;
          }
        }
        const out = this.#deliver(result);
        if (out !== undefined) await out;
      }
    } finally {
      this.#workers.delete(w);
      w.ctx.cancel();
      this.#maybeFinish();
    }
  }

  /** Hands a result on; returns a promise only when that has to wait. */
  #deliver(result: JobResult<J, R>): Promise<unknown> | undefined {
    if (this.#onResult !== undefined) {
      let r: unknown;
      try {
        r = this.#onResult(result);
      } catch (err) {
        rethrowAsync(err);
        return undefined;
      }
      return isThenable(r) ? Promise.resolve(r).catch(rethrowAsync) : undefined;
    }
    if (this.results.trySend(result)) return undefined;
    return this.results.send(result);
  }

  #maybeFinish(): void {
    if (this.#finished || this.#state === 'running' || this.#draining) return;
    if (this.#workers.size > 0 || this.#jobs.length > 0) return;
    this.#finished = true;
    this.results.close();
    // Release the pool signal from its parent; `#onAbort` ignores this since we are finished.
    this.#ctx.cancel();
    this.#resolveDone();
  }
}

function checkCount(name: string, n: number): void {
  if (!Number.isSafeInteger(n) || n < 0)
    throw new RangeError(`WorkerPool: ${name} must be a non-negative integer`);
}

/** `p`, or a rejection with `signal.reason` if `signal` aborts first (listener released either way). */
function waitFor(p: Promise<void>, signal: AbortSignal | undefined): Promise<void> {
  if (signal === undefined) return p;
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<void>((resolve, reject) => {
    // Through abort-watch: a deadline on `signal` keeps Node alive while we wait for it.
    const watcher = { onAbort: reject };
    watchAbort(signal, watcher);
    void p.then(() => {
      unwatchAbort(signal, watcher);
      resolve();
    });
  });
}

function rethrowAsync(err: unknown): void {
  queueMicrotask(() => {
    throw err;
  });
}
