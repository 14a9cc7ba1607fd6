/**
 * Go's `select` statement over {@link Channel}s: wait on several sends and receives at once and
 * proceed with exactly one. `trySelect` is `select` with a `default:` case.
 *
 * ```ts
 * const r = await select([recvCase(jobs), recvCase(after(5000)), sendCase(out, v)] as const);
 * if (r.index === 0 && r.ok) handle(r.value); // r.value: Job
 * ```
 */

import { type AbortWatcher, unwatchAbort, watchAbort } from './abort-watch.js';
import type { Channel } from './channel.js';
import { ChannelClosedError } from './errors.js';
import { CLOSED, kPut, kReady, kTake, kWait, type SelectWaker, WaitNode } from './waitqueue.js';

/** A receive case, Go's `case v, ok := <-ch:`. Built by {@link recvCase}. */
export interface RecvCase<T> {
  readonly op: 'recv';
  /** `null` or `undefined`: Go's nil channel, never ready. */
  readonly ch: Channel<T> | null | undefined;
  readonly value?: undefined;
}

/** A send case, Go's `case ch <- value:`. Built by {@link sendCase}. */
export interface SendCase<T> {
  readonly op: 'send';
  /** `null` or `undefined`: Go's nil channel, never ready. */
  readonly ch: Channel<T> | null | undefined;
  readonly value: T;
}

/** Any select case. */
export type SelectCase = RecvCase<unknown> | SendCase<unknown>;

/** The result of a receive case `I` on a `Channel<T>`: `ok` tells a value from a closed channel. */
export type RecvCaseResult<I extends number, T> =
  | { readonly index: I; readonly value: T; readonly ok: true }
  | { readonly index: I; readonly value: undefined; readonly ok: false };

/** The result of a send case `I`: the value was delivered (a send that fails rejects instead). */
export interface SendCaseResult<I extends number> {
  readonly index: I;
  readonly value: undefined;
  readonly ok: true;
}

/** The result type of case `C` at index `I`. */
export type CaseResult<C, I extends number> =
  C extends SendCase<unknown>
    ? SendCaseResult<I>
    : C extends RecvCase<infer T>
      ? RecvCaseResult<I, T>
      : never;

/** The result of a select over cases whose types are not known position by position. */
export interface AnySelectResult {
  readonly index: number;
  readonly value: unknown;
  readonly ok: boolean;
}

/**
 * What `select` over `Cs` resolves with: `index` is the position of the case that proceeded.
 * For a tuple of cases (pass the array literal directly, or `as const`) this is a union
 * discriminated by `index` (and by `ok` within a receive case), so `value` is typed per case;
 * for a plain array it is {@link AnySelectResult}.
 */
export type SelectResult<Cs extends readonly SelectCase[] = readonly SelectCase[]> =
  number extends Cs['length']
    ? AnySelectResult
    : { [K in keyof Cs]: K extends `${infer I extends number}` ? CaseResult<Cs[K], I> : never }[number];

/**
 * A receive case on `ch`. A `null` or `undefined` channel is Go's nil channel: the case is
 * never ready, which is how a case is switched off in a loop (e.g. after its channel was seen
 * closed).
 */
export function recvCase<T>(ch: Channel<T> | null | undefined): RecvCase<T> {
  return { op: 'recv', ch, value: undefined };
}

/**
 * A send case of `value` on `ch`. A `null` or `undefined` channel is Go's nil channel: the case
 * is never ready. If the channel is closed when this case is chosen (or gets closed while the
 * select waits) the select rejects with {@link ChannelClosedError}, as Go panics.
 */
export function sendCase<T>(ch: Channel<T> | null | undefined, value: T): SendCase<T> {
  return { op: 'send', ch, value };
}

/** Whether case `c` can proceed now (a send to a closed channel "proceeds" to its error). */
function ready(c: SelectCase): boolean {
  return c.ch?.[kReady](c.op === 'send') === true;
}

/** Index of a uniformly random ready case, or -1 when none is ready. */
function pick(cases: readonly SelectCase[]): number {
  let n = 0;
  for (let i = 0; i < cases.length; i++) if (ready(cases[i]!)) n++;
  if (n === 0) return -1;
  let k = n === 1 ? 0 : Math.floor(Math.random() * n);
  for (let i = 0; ; i++) {
    if (ready(cases[i]!) && k-- === 0) return i;
  }
}

/**
 * The non-nil cases' indices in uniformly random order (Go's pollorder). A waiting select
 * enqueues its cases in this order, so when several of its cases are on one channel, the
 * counterpart that arrives (which serves that channel's queue first-come first-served) or a
 * `close` completes a uniformly random one of them, not always the first.
 */
function waitOrder(cases: readonly SelectCase[]): number[] {
  const order: number[] = [];
  for (let i = 0; i < cases.length; i++) if (cases[i]!.ch != null) order.push(i);
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    const t = order[i]!;
    order[i] = order[j]!;
    order[j] = t;
  }
  return order;
}

/** Performs ready case `i`; throws ChannelClosedError for a send case on a closed channel. */
function exec(cases: readonly SelectCase[], i: number): AnySelectResult {
  const c = cases[i]!;
  const ch = c.ch!;
  if (c.op === 'recv') {
    const v = ch[kTake]();
    return v === CLOSED ? { index: i, value: undefined, ok: false } : { index: i, value: v, ok: true };
  }
  if (ch.closed) throw new ChannelClosedError();
  ch[kPut](c.value);
  return { index: i, value: undefined, ok: true };
}

/** A blocked select: its nodes wait on every case's channel until one wins or the signal aborts. */
class BlockedSelect implements SelectWaker, AbortWatcher {
  readonly nodes: WaitNode[] = [];
  readonly resolve: (r: AnySelectResult) => void;
  readonly reject: (reason: unknown) => void;
  readonly signal: AbortSignal | undefined;

  constructor(
    resolve: (r: AnySelectResult) => void,
    reject: (reason: unknown) => void,
    signal?: AbortSignal,
  ) {
    this.resolve = resolve;
    this.reject = reject;
    this.signal = signal;
  }

  /** Withdraws every node still queued (all but the winner) and the abort watch. */
  #withdraw(): void {
    for (const n of this.nodes) {
      n.queue?.remove(n);
      n.value = undefined;
    }
    if (this.signal !== undefined) unwatchAbort(this.signal, this);
  }

  win(node: WaitNode, value: unknown, ok: boolean): void {
    this.#withdraw();
    this.resolve({ index: node.index, value, ok });
  }

  fail(error: unknown): void {
    this.#withdraw();
    this.reject(error);
  }

  onAbort(reason: unknown): void {
    this.#withdraw();
    this.reject(reason);
  }
}

/**
 * Waits until one of `cases` can proceed, performs exactly that one, and resolves with its
 * index and outcome — Go's `select` without `default`.
 *
 * - If several cases are ready, one is chosen uniformly at random (as Go does), so no case
 *   starves. Otherwise the select waits on all of them; the first channel operation that can
 *   complete one case completes it, and all other cases are withdrawn in the same synchronous
 *   step: no value is taken from a losing channel and no losing send case's value is delivered.
 *   When that operation could complete several cases of this select (they are on the same
 *   channel), which one it completes is again uniformly random, as Go's pollorder makes it.
 * - A receive case resolves `{ index, value, ok: true }`, or `ok: false` (value `undefined`) when
 *   its channel is closed and drained. A send case resolves `{ index, value: undefined, ok: true }`.
 * - A send case whose channel is closed (when chosen, or while the select waits) rejects the
 *   select with {@link ChannelClosedError}; a closed send case counts as ready, as in Go.
 * - `null` and `undefined` channels are Go's nil channel: never ready. With no other case the
 *   select waits until `signal` aborts, and forever without one (Go's `select {}`).
 * - With `signal`: an already-aborted signal rejects with `signal.reason` at once and takes
 *   nothing, even if a case is ready; an abort while waiting rejects with `signal.reason` and
 *   withdraws every case, leaving every channel as if the select had never run.
 * - While it waits, the select keeps alive what will wake it: an `after()` / Timer / Ticker
 *   channel in one of its cases, and the deadline timer of a conc context on `signal`. So a
 *   program whose only pending work is this select waits for that timer, as in Go.
 *
 * A select can rendezvous with another select (one sending, one receiving on an unbuffered
 * channel). A select never matches itself (a send and a receive case on the same unbuffered
 * channel wait for other parties).
 */
export function select<const Cs extends readonly SelectCase[]>(
  cases: Cs,
  signal?: AbortSignal,
): Promise<SelectResult<Cs>> {
  if (signal?.aborted) return Promise.reject(signal.reason);
  const i = pick(cases);
  if (i >= 0) {
    try {
      return Promise.resolve(exec(cases, i) as SelectResult<Cs>);
    } catch (e) {
      return Promise.reject(e);
    }
  }
  return new Promise<SelectResult<Cs>>((resolve, reject) => {
    const sel = new BlockedSelect(resolve as (r: AnySelectResult) => void, reject, signal);
    for (const j of waitOrder(cases)) {
      const c = cases[j]!;
      const node = new WaitNode(c.value, j, sel);
      sel.nodes.push(node);
      c.ch![kWait](c.op === 'send', node);
    }
    if (signal !== undefined) watchAbort(signal, sel);
  });
}

/**
 * Go's `select` with a `default:` case: if any case can proceed now, performs one (chosen
 * uniformly at random among the ready ones) and returns its result, exactly as {@link select}
 * would; otherwise returns `undefined` and touches nothing. `null` and `undefined` channels
 * are never ready, as in {@link select}. Throws {@link ChannelClosedError} if the chosen case
 * is a send on a closed channel.
 */
export function trySelect<const Cs extends readonly SelectCase[]>(cases: Cs): SelectResult<Cs> | undefined {
  const i = pick(cases);
  return i < 0 ? undefined : (exec(cases, i) as SelectResult<Cs>);
}
