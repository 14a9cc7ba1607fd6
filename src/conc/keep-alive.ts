/**
 * Which pending timers keep Node running (internal to `trawl/conc`). Go's rule is simple: a
 * goroutine blocked on a timer channel or on a context with a deadline is not deadlocked — the
 * program waits for the timer. Node's rule is different: a program exits (code 13, "unsettled
 * top-level await") as soon as nothing *ref'd* is pending, and a timer nobody waits for (a
 * timeout beside finished work, a context that was created and never used) must not hold a
 * finished program open. So `trawl/conc` keeps its timers unref'd and refs one only while some
 * operation is blocked on what it will wake: a receive (or select case) on an `after()` /
 * Timer / Ticker channel, or any blocking call whose AbortSignal the timer will abort.
 *
 * Timer channels: a Timer's or Ticker's channel holds its `Alarm` (alarm.ts) while any
 * receiver is queued on it (waitqueue.ts). Signals (this file): a signal made by `withTimeout` /
 * `withDeadline` / `withCancel` registers a {@link Keeper}; `abort-watch.ts` holds the signal
 * while at least one operation watches it and releases it when none does; the keeper refs its
 * deadline timer and holds its parent signal in turn (a child's abort may come from an
 * ancestor's deadline). Only waits through `trawl/conc` count: a bare
 * `signal.addEventListener('abort', …)` holds nothing, so code that waits for a signal alone
 * should `await select([], signal)` (Go's `<-ctx.Done()`).
 */

/**
 * Something that will wake waiters by itself — a context that can abort on its own, a timer —
 * told when someone starts and stops waiting for it. Holds are counted by the caller's
 * transitions: a signal is held once while it has any watcher, a timer channel's alarm once
 * while its channel has any blocked receiver.
 */
export interface Keeper {
  /** Someone started waiting: keep alive whatever will wake them. */
  hold(): void;
  /** Undoes one `hold` (the waiters are gone, or the signal aborted). */
  release(): void;
}

const keepers = new WeakMap<AbortSignal, Keeper>();

/** Registers `keeper` as what aborts `signal` (a conc context registers itself at creation). */
export function setSignalKeeper(signal: AbortSignal, keeper: Keeper): void {
  keepers.set(signal, keeper);
}

/**
 * Someone started waiting for `signal` to abort: keep alive whatever will abort it. A no-op for
 * a signal no conc context made (its timers, if any, are not ours to ref).
 */
export function holdSignal(signal: AbortSignal): void {
  keepers.get(signal)?.hold();
}

/** Undoes one {@link holdSignal}. */
export function releaseSignal(signal: AbortSignal): void {
  keepers.get(signal)?.release();
}

/**
 * Sets whether a host timer handle keeps the process alive: Node's `ref()` / `unref()` when the
 * handle has them (a Node `Timeout`), nothing otherwise (a FakeClock handle, a browser id).
 */
export function setTimerRef(handle: unknown, on: boolean): void {
  const h = handle as { ref?: () => unknown; unref?: () => unknown } | null;
  if (on) h?.ref?.();
  else h?.unref?.();
}
