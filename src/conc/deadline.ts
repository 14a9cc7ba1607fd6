/**
 * The deadline of an AbortSignal, Go's `ctx.Deadline()`. An AbortSignal has no notion of a
 * deadline, so `trawl/conc` records one on the signal itself under a registered symbol; a
 * registered symbol (not a module-private one) lets two copies of the package agree on it.
 * Anything that waits on a signal can read it to fail at once when the wait would outlast the
 * deadline (as `rate.Limiter.waitN` does in Go) instead of sleeping and then being aborted.
 */
export const deadlineKey = Symbol.for('trawl.conc.deadline');

type WithDeadline = AbortSignal & { [deadlineKey]?: number };

/**
 * Records `at` (milliseconds since the epoch, on whatever clock the caller measures time with)
 * as the deadline of `signal`, replacing any earlier record. Recording a deadline does not
 * arm a timer: whoever creates the signal must also abort it at that time (as `withDeadline`
 * does). A non-finite `at` removes the record.
 */
export function setSignalDeadline(signal: AbortSignal, at: number): void {
  const s = signal as WithDeadline;
  if (Number.isFinite(at)) s[deadlineKey] = at;
  else delete s[deadlineKey];
}

/**
 * The deadline recorded on `signal` by {@link setSignalDeadline}, or `undefined` when the
 * signal has none (Go's `ok == false`), including when `signal` is `undefined`.
 */
export function signalDeadline(signal: AbortSignal | undefined): number | undefined {
  return (signal as WithDeadline | undefined)?.[deadlineKey];
}
