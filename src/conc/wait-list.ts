import { type AbortWatcher, unwatchAbort, watchAbort } from './abort-watch.js';

interface Waiter extends AbortWatcher {
  resolve(): void;
  reject(reason: unknown): void;
  signal: AbortSignal | undefined;
}

/**
 * The callers waiting for one event (a WaitGroup reaching zero, an errgroup finishing), each
 * abortable through its own signal. Aborts are watched through `abort-watch.ts`, so a waiter
 * also keeps its signal's deadline timer alive (see `keep-alive.ts`). Internal to trawl/conc.
 */
export class WaitList {
  #waiters: Waiter[] = [];

  /** How many are waiting. */
  get length(): number {
    return this.#waiters.length;
  }

  /**
   * A promise settled by the next {@link WaitList.settle}, or rejected with `signal.reason` if
   * the signal aborts first (the waiter then leaves the list; its listener is removed either way).
   */
  wait(signal?: AbortSignal): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const w: Waiter = {
        resolve,
        reject,
        signal,
        onAbort: (reason: unknown) => {
          const i = this.#waiters.indexOf(w);
          if (i >= 0) this.#waiters.splice(i, 1);
          reject(reason);
        },
      };
      if (signal !== undefined) watchAbort(signal, w);
      this.#waiters.push(w);
    });
  }

  /** Settles every current waiter: resolves them, or rejects them with `error` when `failed`. */
  settle(failed = false, error?: unknown): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const w of waiters) {
      if (w.signal !== undefined) unwatchAbort(w.signal, w);
      if (failed) w.reject(error);
      else w.resolve();
    }
  }
}
