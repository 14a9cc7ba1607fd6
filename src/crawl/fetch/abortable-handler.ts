/**
 * undici honours a request's abort signal only once the request has a connection: until the
 * handler's `onConnect`, an abort is merely noted. A request queued behind a connect that takes
 * long (a tunnel through a slow or broken proxy) therefore cannot be cancelled — it settles when
 * the connect finally succeeds or fails. This wrapper settles such a request at the abort itself.
 */
import type { Dispatcher } from 'undici';

type Handler = Dispatcher.DispatchHandler;

/** Legacy handler callbacks forwarded as they are (the ones undici's Request calls when present). */
const FORWARDED = [
  'onUpgrade',
  'onResponseStarted',
  'onHeaders',
  'onData',
  'onComplete',
  'onBodySent',
  'onRequestSent',
] as const;

function isAbortSignal(x: unknown): x is AbortSignal {
  return (
    typeof x === 'object' &&
    x !== null &&
    'aborted' in x &&
    typeof (x as AbortSignal).addEventListener === 'function'
  );
}

/**
 * Wraps a legacy-style undici dispatch handler (one with `onConnect`, as `Dispatcher.request`
 * makes) so that an abort of `signal` before the request got its connection settles it at once:
 * the handler's `onError` is called with the signal's reason (or an AbortError when it has none),
 * and when undici later reaches the request (`onConnect`) it is aborted there and its further
 * callbacks are swallowed, so the handler settles exactly once. After `onConnect` the wrapper
 * only forwards (undici's own abort handling applies). A signal that is already aborted settles
 * the handler during this call. Returns `handler` itself when `signal` is not an AbortSignal or
 * the handler is new-style (`onRequestStart`), which this does not cover.
 */
export function abortableHandler(handler: Handler, signal: unknown): Handler {
  if (
    !isAbortSignal(signal) ||
    typeof handler.onConnect !== 'function' ||
    typeof handler.onRequestStart === 'function'
  )
    return handler;
  let connected = false;
  let reason: Error | null = null;
  const onAbort = (): void => {
    if (connected || reason !== null) return;
    const r: unknown = signal.reason;
    reason = r instanceof Error ? r : new DOMException('This operation was aborted', 'AbortError');
    handler.onError?.(reason);
  };
  const stopListening = (): void => signal.removeEventListener('abort', onAbort);

  const wrapped: Record<string, unknown> = {
    onConnect(abort: (err?: Error) => void, context?: unknown): void {
      stopListening();
      if (reason !== null) {
        abort(reason);
        return;
      }
      connected = true;
      (handler.onConnect as (a: (err?: Error) => void, c?: unknown) => void).call(handler, abort, context);
    },
    onError(err: Error): void {
      stopListening();
      if (reason !== null) return;
      handler.onError?.(err);
    },
  };
  const source = handler as Record<string, unknown>;
  for (const name of FORWARDED) {
    const fn = source[name];
    if (typeof fn === 'function') wrapped[name] = (...args: unknown[]) => fn.apply(handler, args);
  }
  if (signal.aborted) onAbort();
  else signal.addEventListener('abort', onAbort, { once: true });
  return wrapped as Handler;
}
