/**
 * One `abort` listener per AbortSignal, shared by every operation blocked on that signal.
 *
 * Why not `signal.addEventListener` per operation: a Go-style program shares one context among
 * many goroutines, so twenty workers blocked on `jobs.recv(ctx)` would add twenty listeners and
 * Node would print `MaxListenersExceededWarning` (its limit is 10 per signal), and EventTarget
 * add/remove is slower than a Set. Here the signal carries at most one listener, registered while
 * at least one operation watches it and removed as soon as none does, so a long-lived signal used
 * by millions of operations never accumulates anything. Internal to `trawl/conc`.
 *
 * The same transitions decide liveness: while at least one operation watches a signal, the
 * signal is *held* (`keep-alive.ts`), so a context's deadline timer keeps Node running exactly
 * while something is blocked on it — as a goroutine blocked on `ctx.Done()` keeps a Go program
 * waiting for the deadline — and a context nobody waits on holds nothing open.
 */

import { holdSignal, releaseSignal } from './keep-alive.js';

/** Something that must be told, exactly once, when a watched signal aborts. */
export interface AbortWatcher {
  /** Called with `signal.reason` when the signal aborts while this watcher is registered. */
  onAbort(reason: unknown): void;
}

/** The single listener of one signal, fanning the abort out to its current watchers. */
class SignalWatch {
  readonly signal: AbortSignal;
  watchers = new Set<AbortWatcher>();

  constructor(signal: AbortSignal) {
    this.signal = signal;
  }

  /** The EventListener entry point (an object listener avoids allocating a closure). */
  handleEvent(): void {
    const watchers = this.watchers;
    // Swap the set first: an onAbort may start new operations, which fail fast on an aborted signal.
    this.watchers = new Set();
    this.signal.removeEventListener('abort', this);
    releaseSignal(this.signal);
    for (const w of watchers) w.onAbort(this.signal.reason);
  }
}

const watches = new WeakMap<AbortSignal, SignalWatch>();

/**
 * Registers `watcher` to be told when `signal` aborts. The caller must have checked that the
 * signal is not already aborted (an aborted signal never fires again) and must call
 * {@link unwatchAbort} when its operation completes by any other route.
 */
export function watchAbort(signal: AbortSignal, watcher: AbortWatcher): void {
  let watch = watches.get(signal);
  if (watch === undefined) {
    watch = new SignalWatch(signal);
    watches.set(signal, watch);
  }
  if (watch.watchers.size === 0) {
    signal.addEventListener('abort', watch);
    holdSignal(signal);
  }
  watch.watchers.add(watcher);
}

/**
 * Withdraws `watcher` from `signal`; removes the signal's listener (and releases the signal's
 * hold) when no watcher is left. A
 * no-op for a watcher that is not registered (for example one already told of the abort).
 */
export function unwatchAbort(signal: AbortSignal, watcher: AbortWatcher): void {
  const watch = watches.get(signal);
  if (watch?.watchers.delete(watcher) && watch.watchers.size === 0) {
    signal.removeEventListener('abort', watch);
    releaseSignal(signal);
  }
}
