/**
 * Go's `context` package on the platform's own cancellation type: a Go `ctx` is an
 * `AbortSignal`, `ctx.Done()` is its `abort` event, `context.Cause(ctx)` is `signal.reason`
 * ({@link cause}), `ctx.Err()` is {@link err}, and `ctx.Deadline()` is {@link signalDeadline}.
 * Derived signals form a tree: aborting a signal aborts every signal derived from it, with the
 * same reason (and the same `err`).
 *
 * Why not `AbortSignal.any([parent])`: a child must let go of its parent once it is finished, or
 * a long-lived parent (a server's root context) accumulates one listener per request forever.
 * Here each parent holds one `abort` listener for all its live children, and a child removes
 * itself (and clears its timer) the moment it is cancelled, times out, or is aborted by its
 * parent — so 100k finished children leave nothing behind on the parent.
 *
 * Liveness: a deadline timer is unref'd, so a context that was merely created (or finished)
 * never keeps Node running; while some `trawl/conc` operation is blocked on the signal (or on a
 * signal derived from it) the timer is ref'd, so the program waits for the deadline as a Go
 * program blocked on `ctx.Done()` does (see `keep-alive.ts`). Only waits through `trawl/conc`
 * count; to wait for a signal alone, `await select([], signal)` (Go's `<-ctx.Done()`).
 */
import { Alarm } from './alarm.js';
import type { Clock } from './clock.js';
import { systemClock } from './clock.js';
import { setSignalDeadline, signalDeadline } from './deadline.js';
import { holdSignal, type Keeper, releaseSignal, setSignalKeeper } from './keep-alive.js';

/** The reason a context is cancelled by its cancel function (Go's `context.Canceled`). */
export class CanceledError extends Error {
  override name = 'CanceledError';
  constructor(message = 'context canceled') {
    super(message);
  }
}

/** The reason a context is aborted when its deadline passes (Go's `context.DeadlineExceeded`). */
export class DeadlineExceededError extends Error {
  override name = 'DeadlineExceededError';
  /** Always true, as Go's `DeadlineExceeded.Timeout()`. */
  readonly timeout = true;
  constructor(message = 'context deadline exceeded') {
    super(message);
  }
}

/** A derived context: its signal and the function that cancels it. */
export interface CancelContext {
  /** Aborted when `cancel` is called, when the parent aborts, or at the deadline. */
  readonly signal: AbortSignal;
  /**
   * Aborts `signal` with `reason` (a {@link CanceledError} when `reason` is `undefined`),
   * aborts every signal derived from it, detaches it from its parent and clears its timer.
   * This is Go's `CancelCauseFunc`: `reason` becomes {@link cause}, while {@link err} is a
   * CanceledError either way. Calling it again, or after the signal was aborted some other
   * way, does nothing. Always call it when the work the context covered is finished (Go's
   * `defer cancel()`): until then the parent keeps a reference to the child.
   */
  readonly cancel: (reason?: unknown) => void;
}

const backgroundSignal = new AbortController().signal;

/**
 * The root signal (Go's `context.Background()`): never aborted, no deadline. It is one shared
 * signal; deriving from it registers nothing on it.
 */
export function background(): AbortSignal {
  return backgroundSignal;
}

/** A live child as its parent sees it. */
interface Child {
  finish(reason: unknown, error: CanceledError | DeadlineExceededError): void;
}

/** Go's `ctx.Err()` of each aborted conc context, recorded when it is finished. */
const errs = new WeakMap<AbortSignal, CanceledError | DeadlineExceededError>();

/** One per parent that has live children: its single `abort` listener and the children. */
interface ParentEntry {
  readonly children: Set<Child>;
  readonly listener: () => void;
}

const parents = new WeakMap<AbortSignal, ParentEntry>();

function attach(parent: AbortSignal, child: Child): void {
  let entry = parents.get(parent);
  if (entry === undefined) {
    const children = new Set<Child>();
    const listener = (): void => {
      // Removed first, so children finishing now do not try to detach one by one.
      parents.delete(parent);
      const error = err(parent)!;
      for (const c of children) c.finish(parent.reason, error);
      children.clear();
    };
    entry = { children, listener };
    parents.set(parent, entry);
    parent.addEventListener('abort', listener, { once: true });
  }
  entry.children.add(child);
}

function detach(parent: AbortSignal, child: Child): void {
  const entry = parents.get(parent);
  if (entry === undefined) return;
  entry.children.delete(child);
  if (entry.children.size === 0) {
    parent.removeEventListener('abort', entry.listener);
    parents.delete(parent);
  }
}

class Context implements Child, Keeper {
  readonly controller = new AbortController();
  parent: AbortSignal | undefined;
  alarm: Alarm | undefined;
  /** How many waiters hold this signal or a signal derived from it (see `keep-alive.ts`). */
  holds = 0;

  constructor(parent: AbortSignal | undefined) {
    setSignalKeeper(this.controller.signal, this);
    if (parent === undefined || parent === backgroundSignal) return;
    const d = signalDeadline(parent);
    if (d !== undefined) setSignalDeadline(this.controller.signal, d);
    if (parent.aborted) {
      errs.set(this.controller.signal, err(parent)!);
      this.controller.abort(parent.reason);
      return;
    }
    this.parent = parent;
    attach(parent, this);
  }

  finish(reason: unknown, error: CanceledError | DeadlineExceededError): void {
    if (this.controller.signal.aborted) return;
    if (this.parent !== undefined) {
      detach(this.parent, this);
      // Our waiters no longer wait on the parent: whatever happens to it cannot wake them now.
      if (this.holds > 0) releaseSignal(this.parent);
      this.parent = undefined;
    }
    this.alarm?.clear();
    errs.set(this.controller.signal, error);
    this.controller.abort(reason);
  }

  hold(): void {
    if (this.holds++ > 0) return;
    this.alarm?.hold();
    if (this.parent !== undefined) holdSignal(this.parent);
  }

  release(): void {
    if (--this.holds > 0) return;
    this.alarm?.release();
    if (this.parent !== undefined) releaseSignal(this.parent);
  }

  toResult(): CancelContext {
    return {
      signal: this.controller.signal,
      cancel: (reason?: unknown) => {
        if (this.controller.signal.aborted) return;
        if (reason === undefined) {
          const canceled = new CanceledError();
          this.finish(canceled, canceled);
        } else {
          this.finish(reason, new CanceledError());
        }
      },
    };
  }
}

/**
 * Derives a cancellable signal from `parent` (Go's `context.WithCancel` /
 * `WithCancelCause`): the child aborts when `cancel` is called (reason: the given one, or a
 * {@link CanceledError}) or when `parent` aborts (reason: the parent's reason), whichever is
 * first. If `parent` is already aborted the child is returned already aborted with the
 * parent's reason. The child inherits the parent's deadline record (but arms no timer of its
 * own: the parent's abort reaches it). `parent` undefined means {@link background}.
 */
export function withCancel(parent?: AbortSignal): CancelContext {
  return new Context(parent).toResult();
}

/**
 * Derives a signal from `parent` that also aborts with a {@link DeadlineExceededError} when
 * `clock.now()` reaches `at` (Go's `context.WithDeadline`). When the parent's recorded
 * deadline is already at or before `at`, the child is simply `withCancel(parent)` (it will
 * abort with the parent, as in Go). The child's deadline — the earlier of the two — is recorded
 * with `setSignalDeadline`. A deadline already passed aborts the child at once; `at` of
 * `+Infinity` means no deadline. The timer is cleared as soon as the child is finished by any
 * means, so cancelled children leave no pending timers.
 */
export function withDeadline(
  parent: AbortSignal | undefined,
  at: number,
  clock: Clock = systemClock,
): CancelContext {
  if (Number.isNaN(at)) throw new RangeError('withDeadline: deadline is NaN');
  const pd = signalDeadline(parent);
  if (at === Number.POSITIVE_INFINITY || (pd !== undefined && pd <= at)) return withCancel(parent);
  const ctx = new Context(parent);
  const signal = ctx.controller.signal;
  if (signal.aborted) return ctx.toResult();
  setSignalDeadline(signal, at);
  if (at - clock.now() <= 0) {
    const exceeded = new DeadlineExceededError();
    ctx.finish(exceeded, exceeded);
  } else {
    ctx.alarm = new Alarm(clock, () => {
      const exceeded = new DeadlineExceededError();
      ctx.finish(exceeded, exceeded);
    });
    ctx.alarm.set(at);
  }
  return ctx.toResult();
}

/**
 * `withDeadline(parent, clock.now() + ms, clock)` (Go's `context.WithTimeout`). A `ms` of 0 or
 * less gives an already-aborted signal; `+Infinity` gives no deadline.
 */
export function withTimeout(
  parent: AbortSignal | undefined,
  ms: number,
  clock: Clock = systemClock,
): CancelContext {
  return withDeadline(parent, clock.now() + ms, clock);
}

/**
 * Why `signal` was aborted (Go's `context.Cause`): its `reason`, or `undefined` while it is
 * not aborted. This is the value every `trawl/conc` operation rejects with when its signal
 * aborts: the error given to `cancel(reason)`, an errgroup's first failure, a
 * {@link CanceledError} for a plain `cancel()`, a {@link DeadlineExceededError} at a deadline,
 * or whatever a foreign `AbortController.abort(reason)` was given. Use it to *report* what went
 * wrong; use {@link err} to *decide* (cancelled or timed out).
 */
export function cause(signal: AbortSignal): unknown {
  return signal.aborted ? signal.reason : undefined;
}

/**
 * Go's `ctx.Err()`: `undefined` while `signal` is not aborted (Go's nil); once it is, a
 * {@link DeadlineExceededError} if it was aborted by a deadline passing (its own or an
 * ancestor's), otherwise a {@link CanceledError} — whatever the cause. So after
 * `cancel(new Error('x'))`, or when an errgroup's task fails, `err(signal)` is a CanceledError
 * while {@link cause} is the error; after a plain `cancel()` or a deadline, both are the same
 * object, as in Go. A child aborted by its parent has the parent's `err`. For a signal that no
 * conc context made (a plain `AbortController`, `AbortSignal.timeout`), the kind is read from
 * the reason: a DeadlineExceededError or platform `TimeoutError` gives a
 * DeadlineExceededError, anything else a CanceledError. The same signal always gives the same
 * object. Use `isCanceled(err(signal))` / `isDeadlineExceeded(err(signal))` to branch on why a
 * wait ended; `isCanceled(signal.reason)` is false when the cause is an ordinary error.
 */
export function err(signal: AbortSignal): CanceledError | DeadlineExceededError | undefined {
  if (!signal.aborted) return undefined;
  let e = errs.get(signal);
  if (e === undefined) {
    const reason: unknown = signal.reason;
    if (reason instanceof CanceledError || reason instanceof DeadlineExceededError) e = reason;
    else e = isDeadlineExceeded(reason) ? new DeadlineExceededError() : new CanceledError();
    errs.set(signal, e);
  }
  return e;
}

/**
 * Whether `err` means "cancelled" (Go's `errors.Is(err, context.Canceled)`): a
 * {@link CanceledError}, or the platform's `AbortError` (what `AbortController.abort()` with no
 * reason produces).
 */
export function isCanceled(err: unknown): boolean {
  return err instanceof CanceledError || (err instanceof Error && err.name === 'AbortError');
}

/**
 * Whether `err` means "the deadline passed" (Go's `errors.Is(err, context.DeadlineExceeded)`):
 * a {@link DeadlineExceededError}, or the platform's `TimeoutError` (what
 * `AbortSignal.timeout()` produces).
 */
export function isDeadlineExceeded(err: unknown): boolean {
  return err instanceof DeadlineExceededError || (err instanceof Error && err.name === 'TimeoutError');
}

/**
 * The number of live children registered on `signal` (for tests and leak checks): children
 * derived from it that are neither cancelled nor aborted yet.
 */
export function liveChildren(signal: AbortSignal): number {
  return parents.get(signal)?.children.size ?? 0;
}
