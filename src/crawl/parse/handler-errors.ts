/**
 * Errors a handler gets from misusing `enqueue` or `push`. They are deterministic (the same page
 * makes the same call again), so a page failing with one is not retried.
 */

/** `enqueue` was given something it cannot enqueue (invalid URL, unknown label, GET with a body...). */
export class EnqueueError extends Error {
  override name = 'EnqueueError';
}

/** `push` was given something that is not a plain object of JSON data. */
export class PushError extends Error {
  override name = 'PushError';
}

/**
 * True for an error that retrying the page cannot fix: an {@link EnqueueError} or
 * {@link PushError} (compared by name, as a handler may hold another copy of trawl's classes).
 */
export function isDeterministicHandlerError(err: unknown): boolean {
  return err instanceof Error && (err.name === 'EnqueueError' || err.name === 'PushError');
}
