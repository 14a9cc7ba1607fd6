// A port of golang.org/x/sync/semaphore (semaphore.go), Copyright 2017 The Go Authors,
// BSD-style license. Go's container/list of waiters becomes an intrusive doubly linked list, so
// enqueueing, granting and removing an aborted waiter are all O(1). Aborts are watched through
// `abort-watch.ts` (one listener per signal however many wait on it), which also keeps a
// context's deadline timer alive while a caller is blocked here, as a Go program blocked in
// Acquire waits for its ctx's deadline.

import { unwatchAbort, watchAbort } from './abort-watch.js';

interface Waiter {
  n: number;
  // Set when the semaphore was acquired on the waiter's behalf (Go closes `ready`).
  ready: boolean;
  resolve: () => void;
  prev: Waiter | undefined;
  next: Waiter | undefined;
}

const resolved: Promise<void> = Promise.resolve();

/**
 * A weighted semaphore: bounds concurrent access to a resource of `size` units, with each
 * caller asking for a weight. Waiters are served strictly in FIFO order: a large request at the
 * head blocks later small ones (no barging), so large requests never starve.
 */
export class Weighted {
  readonly #size: number;
  #cur = 0;
  #head: Waiter | undefined;
  #tail: Waiter | undefined;
  #len = 0;

  /** A semaphore with the given maximum combined weight `size` for concurrent access. */
  constructor(size: number) {
    this.#size = size;
  }

  /**
   * Acquires weight `n`, resolving once it is available, in FIFO order behind earlier waiters.
   * An already-aborted `signal` rejects with its reason even when the weight is free (Go ≥ 2023).
   * An abort while waiting rejects with `signal.reason` and leaves the semaphore unchanged; an
   * abort that lands after the weight was granted but before the caller resumes also rejects,
   * and hands the weight back. A request larger than the size never succeeds: it waits, without
   * blocking anyone else, until `signal` aborts (forever without a signal). While it waits, a
   * conc context's deadline on `signal` keeps the process alive (a program blocked only here
   * waits for the deadline, as in Go).
   */
  acquire(n: number, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) {
      // The abort "happened before" acquiring: fail even if we could acquire without blocking.
      return Promise.reject(signal.reason);
    }
    if (this.#size - this.#cur >= n && this.#len === 0) {
      this.#cur += n;
      return resolved;
    }

    if (n > this.#size) {
      // Don't make other acquire calls block on one that's doomed to fail.
      if (!signal) return new Promise<void>(() => {});
      return new Promise<void>((_, reject) => watchAbort(signal, { onAbort: reject }));
    }

    let w!: Waiter;
    const ready = new Promise<void>((resolve, reject) => {
      w = { n, ready: false, resolve, prev: this.#tail, next: undefined };
      if (this.#tail) this.#tail.next = w;
      else this.#head = w;
      this.#tail = w;
      this.#len++;
      if (!signal) return;
      const watcher = {
        onAbort: (reason: unknown) => {
          // Granted already: the check below hands the weight back when the caller resumes.
          if (w.ready) return;
          const isFront = this.#head === w;
          this.#remove(w);
          // If we were at the front and there are extra tokens left, notify other waiters.
          if (isFront && this.#size > this.#cur) this.#notifyWaiters();
          reject(reason);
        },
      };
      watchAbort(signal, watcher);
      w.resolve = () => {
        unwatchAbort(signal, watcher);
        resolve();
      };
    });
    if (!signal) return ready;
    return ready.then(() => {
      // Acquired the semaphore: check that the signal was not aborted meanwhile.
      if (signal.aborted) {
        this.release(n);
        throw signal.reason;
      }
    });
  }

  /**
   * Acquires weight `n` without waiting: true on success; false, leaving the semaphore
   * unchanged, when the weight is not free or anyone is already waiting.
   */
  tryAcquire(n: number): boolean {
    const success = this.#size - this.#cur >= n && this.#len === 0;
    if (success) this.#cur += n;
    return success;
  }

  /**
   * Releases weight `n`, then grants waiters from the head of the queue for as long as each
   * one fits, stopping at the first that does not. Releasing more than is held throws
   * "semaphore: released more than held" (Go panics), leaving the count as Go does.
   */
  release(n: number): void {
    this.#cur -= n;
    if (this.#cur < 0) throw new Error('semaphore: released more than held');
    this.#notifyWaiters();
  }

  #notifyWaiters(): void {
    for (;;) {
      const next = this.#head;
      if (!next) break; // No more waiters blocked.
      if (this.#size - this.#cur < next.n) {
        // Not enough tokens for the next waiter. We could keep going (to find a waiter with a
        // smaller request), but under load that could starve large requests; instead all
        // remaining waiters stay blocked. (Think of a semaphore used as a read-write lock: if
        // readers could jump ahead in the queue, the writer would starve.)
        break;
      }
      this.#cur += next.n;
      this.#remove(next);
      next.ready = true;
      next.resolve();
    }
  }

  #remove(w: Waiter): void {
    if (w.prev) w.prev.next = w.next;
    else this.#head = w.next;
    if (w.next) w.next.prev = w.prev;
    else this.#tail = w.prev;
    w.prev = w.next = undefined;
    this.#len--;
  }
}

/** Shorthand for `new Weighted(n)`. */
export function newWeighted(n: number): Weighted {
  return new Weighted(n);
}
