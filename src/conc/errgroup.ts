/**
 * Go's `golang.org/x/sync/errgroup`: a WaitGroup whose tasks can fail, where the first failure
 * is kept, cancels the group's signal, and is what `wait` reports.
 */
import { background, withCancel } from './context.js';
import { WaitList } from './wait-list.js';

/** A task run by a {@link Group}: receives the group's signal (Go's derived ctx). */
export type GroupTask = (signal: AbortSignal) => unknown;

let initGroup: (g: Group, signal: AbortSignal, cancel: (reason?: unknown) => void) => void;

/**
 * A collection of tasks working on parts of one overall job (Go's `errgroup.Group`).
 *
 * A task fails when it throws or its promise rejects; its return value is otherwise ignored
 * (returning an Error object is not a failure). The first failure is kept and, for a group made
 * by {@link withContext}, cancels the group's signal with the error as reason. A group made with
 * `new Group()` (Go's zero Group) has no limit, does not cancel anything on error, and hands
 * its tasks the never-aborting {@link background} signal.
 *
 * Tasks are started synchronously by `go`/`tryGo` when a slot is free, so a task runs up to
 * its first `await` before `go` returns. A group may be reused after `wait` settles (as in Go);
 * the first error stays recorded.
 */
export class Group {
  #signal: AbortSignal = background();
  #cancel: ((reason?: unknown) => void) | undefined;
  #active = 0;
  #limit = -1;
  #queue: GroupTask[] = [];
  #head = 0;
  #pumping = false;
  #failed = false;
  #error: unknown;
  readonly #waiters = new WaitList();

  static {
    initGroup = (g, signal, cancel) => {
      g.#signal = signal;
      g.#cancel = cancel;
    };
  }

  /** The number of tasks running now (not counting queued ones). */
  get active(): number {
    return this.#active;
  }

  /** The number of tasks queued by `go` waiting for a free slot under the limit. */
  get queued(): number {
    return this.#queue.length - this.#head;
  }

  /**
   * Runs `fn(signal)` as a task of the group. Go's `g.Go` blocks while the group is at its
   * limit; a JavaScript call cannot block, so here `go` instead queues `fn` and returns at once,
   * and queued tasks start in FIFO order as running ones finish. A queued task counts for
   * `wait` like a running one. If the limit is 0, queued tasks wait until `setLimit` raises it.
   */
  go(fn: GroupTask): void {
    if (this.#limit >= 0 && this.#active >= this.#limit) {
      this.#queue.push(fn);
      return;
    }
    this.#start(fn);
  }

  /**
   * Runs `fn(signal)` as a task only if the group is below its limit (Go's `g.TryGo`); returns
   * whether it was started. It never queues: with tasks already queued by `go` the group is
   * at its limit and `tryGo` returns false.
   */
  tryGo(fn: GroupTask): boolean {
    if (this.#limit >= 0 && this.#active >= this.#limit) return false;
    this.#start(fn);
    return true;
  }

  /**
   * Limits the number of running tasks to `n` (Go's `g.SetLimit`); a negative `n` (or
   * `+Infinity`) means no limit. Throws
   * `Error('errgroup: modify limit while N goroutines in the group are still active')` when
   * setting a limit (`n >= 0`) while N > 0 tasks run. Raising or removing the limit starts
   * queued tasks at once.
   */
  setLimit(n: number): void {
    if (Number.isNaN(n)) throw new RangeError('errgroup: limit is NaN');
    if (n < 0 || n === Number.POSITIVE_INFINITY) {
      this.#limit = -1;
    } else {
      if (this.#active !== 0) {
        throw new Error(
          `errgroup: modify limit while ${this.#active} goroutines in the group are still active`,
        );
      }
      this.#limit = Math.floor(n);
    }
    this.#pump();
  }

  /**
   * Resolves once every task started or queued so far has finished, or rejects with the first
   * error any of them threw (Go's `g.Wait`). When it settles, the signal of a
   * {@link withContext} group is cancelled — with the first error, or a `CanceledError` when
   * all succeeded. Tasks added while waiting are waited for too. If `signal` aborts first,
   * rejects with `signal.reason` and stops waiting without affecting the group.
   */
  wait(signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (this.#idle()) {
      this.#cancel?.(this.#failed ? this.#error : undefined);
      return this.#failed ? Promise.reject(this.#error) : Promise.resolve();
    }
    return this.#waiters.wait(signal);
  }

  #idle(): boolean {
    return this.#active === 0 && this.#head === this.#queue.length;
  }

  #start(fn: GroupTask): void {
    this.#active++;
    let r: unknown;
    try {
      r = fn(this.#signal);
    } catch (err) {
      this.#fail(err);
      this.#finish();
      return;
    }
    if (r !== null && typeof r === 'object' && typeof (r as PromiseLike<unknown>).then === 'function') {
      (r as PromiseLike<unknown>).then(
        () => this.#finish(),
        (err: unknown) => {
          this.#fail(err);
          this.#finish();
        },
      );
    } else {
      this.#finish();
    }
  }

  #fail(err: unknown): void {
    if (this.#failed) return;
    this.#failed = true;
    this.#error = err;
    this.#cancel?.(err);
  }

  #finish(): void {
    this.#active--;
    this.#pump();
    if (this.#waiters.length > 0 && this.#idle()) {
      this.#cancel?.(this.#failed ? this.#error : undefined);
      this.#waiters.settle(this.#failed, this.#error);
    }
  }

  /** Starts queued tasks while there is room; a loop, not recursion, so long queues are safe. */
  #pump(): void {
    if (this.#pumping) return;
    this.#pumping = true;
    try {
      while (this.#head < this.#queue.length && (this.#limit < 0 || this.#active < this.#limit)) {
        const fn = this.#queue[this.#head]!;
        this.#queue[this.#head++] = undefined as unknown as GroupTask;
        if (this.#head === this.#queue.length) {
          this.#queue = [];
          this.#head = 0;
        }
        this.#start(fn);
      }
    } finally {
      this.#pumping = false;
    }
  }
}

/**
 * Returns a new {@link Group} and a signal derived from `parent` (Go's `errgroup.WithContext`).
 * The signal is aborted the first time a task fails — with that error as its reason, so
 * `signal.reason` is Go's `context.Cause(ctx)`, while `err(signal)` (Go's `ctx.Err()`) is a
 * `CanceledError` — or when `wait` first settles (reason: the first error, or a
 * `CanceledError` if none), or when `parent` aborts, whichever is first. Every task receives
 * this signal. A failure recorded as `undefined` (a task that threw
 * `undefined`) aborts the signal with a `CanceledError`.
 */
export function withContext(parent?: AbortSignal): { group: Group; signal: AbortSignal } {
  const ctx = withCancel(parent);
  const group = new Group();
  initGroup(group, ctx.signal, ctx.cancel);
  return { group, signal: ctx.signal };
}
