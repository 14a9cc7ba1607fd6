interface Waiter {
  resolve(): void;
  reject(reason: unknown): void;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
}

/**
 * The callers waiting for one event (a WaitGroup reaching zero, an errgroup finishing), each
 * abortable through its own signal. Internal to trawl/conc.
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
      const w: Waiter = { resolve, reject, signal, onAbort: undefined };
      if (signal !== undefined) {
        w.onAbort = () => {
          const i = this.#waiters.indexOf(w);
          if (i >= 0) this.#waiters.splice(i, 1);
          reject(signal.reason);
        };
        signal.addEventListener('abort', w.onAbort, { once: true });
      }
      this.#waiters.push(w);
    });
  }

  /** Settles every current waiter: resolves them, or rejects them with `error` when `failed`. */
  settle(failed = false, error?: unknown): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const w of waiters) {
      if (w.onAbort !== undefined) w.signal!.removeEventListener('abort', w.onAbort);
      if (failed) w.reject(error);
      else w.resolve();
    }
  }
}
