import { WaitList } from './wait-list.js';

/**
 * Go's `sync.WaitGroup`: a counter of outstanding tasks that can be waited on.
 */

/** Reports an error nobody else will see by rethrowing it outside any promise chain. */
function rethrowAsync(err: unknown): void {
  queueMicrotask(() => {
    throw err;
  });
}

/** Options for {@link WaitGroup}. */
export interface WaitGroupOptions {
  /**
   * Called with the error when a function started by {@link WaitGroup.go} throws or rejects.
   * The default rethrows it from a microtask, so it surfaces as an uncaught exception (Node
   * prints it and, by default, exits) instead of vanishing.
   */
  onError?: (err: unknown) => void;
}

/**
 * A WaitGroup waits for a collection of tasks to finish (Go's `sync.WaitGroup`). `add` raises
 * the counter, `done` lowers it, and `wait` resolves once it is zero. As in Go, calls to `add`
 * with a positive delta that start a new round must happen before `wait`; a WaitGroup may be
 * reused once every earlier `wait` has returned. A new WaitGroup is ready to use.
 */
export class WaitGroup {
  #count = 0;
  readonly #waiters = new WaitList();
  readonly #onError: (err: unknown) => void;

  constructor(options: WaitGroupOptions = {}) {
    this.#onError = options.onError ?? rethrowAsync;
  }

  /** The current counter value (not in Go; for tests and progress reports). */
  get count(): number {
    return this.#count;
  }

  /**
   * Adds `delta` (which may be negative) to the counter. When the counter reaches zero every
   * pending `wait` resolves. Throws `Error('sync: negative WaitGroup counter')` — leaving the
   * counter unchanged — if the counter would go below zero; a non-integer delta throws a
   * RangeError.
   */
  add(delta: number): void {
    if (!Number.isInteger(delta)) throw new RangeError(`sync: WaitGroup delta ${delta} is not an integer`);
    const n = this.#count + delta;
    if (n < 0) throw new Error('sync: negative WaitGroup counter');
    this.#count = n;
    if (n === 0 && this.#waiters.length > 0) this.#waiters.settle();
  }

  /** Decrements the counter by one: `add(-1)`, with the same error when it would go negative. */
  done(): void {
    this.add(-1);
  }

  /**
   * Resolves when the counter is zero — at once (in a microtask) if it already is. If `signal`
   * aborts first, rejects with `signal.reason` (an already-aborted signal rejects at once even
   * when the counter is zero) and stops waiting; the counter is not affected.
   */
  wait(signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (this.#count === 0) return Promise.resolve();
    return this.#waiters.wait(signal);
  }

  /**
   * Runs `fn` as a tracked task (Go 1.25's `wg.Go`): `add(1)` now, `done()` when `fn`
   * returns or its promise settles. `fn` is called synchronously, so it runs up to its first
   * `await` before `go` returns. As in Go, `fn` is expected not to fail: a throw or rejection
   * still calls `done()`, and the error is passed to the `onError` option — by default rethrown
   * from a microtask so it surfaces as an uncaught exception rather than being swallowed. To
   * collect errors, use an errgroup `Group` instead.
   */
  go(fn: () => unknown): void {
    this.add(1);
    let r: unknown;
    try {
      r = fn();
    } catch (err) {
      this.done();
      this.#onError(err);
      return;
    }
    if (isThenable(r)) {
      r.then(
        () => this.done(),
        (err: unknown) => {
          this.done();
          this.#onError(err);
        },
      );
    } else {
      this.done();
    }
  }
}

/** Whether `v` is a promise-like (has a callable `then`). */
function isThenable(v: unknown): v is PromiseLike<unknown> {
  return (
    v !== null &&
    (typeof v === 'object' || typeof v === 'function') &&
    typeof (v as { then?: unknown }).then === 'function'
  );
}
