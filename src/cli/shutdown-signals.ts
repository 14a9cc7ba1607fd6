/**
 * The signals that ask a crawl to end: Ctrl-C (SIGINT), `kill` and service managers (SIGTERM),
 * and a closed terminal or a dropped ssh session (SIGHUP). Node's default for SIGHUP is to die
 * at once, which would lose the summary and the graceful flush: all three are treated alike.
 */
export const SHUTDOWN_SIGNALS: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

/** What to do on the first and on any later shutdown signal. */
export interface ShutdownHandlers {
  /** The first signal: stop gracefully (finish in-flight work, flush, print the summary). */
  first(signal: NodeJS.Signals): void;
  /** Any later signal, of any of the three kinds: abort now. */
  again(signal: NodeJS.Signals): void;
}

/**
 * Installs one handler for SIGINT, SIGTERM and SIGHUP that calls `first` on the first signal
 * and `again` on every later one (whichever kinds they are: SIGHUP then SIGINT aborts). Returns
 * the function that removes the handlers; calling it twice is harmless.
 *
 * After a SIGHUP the terminal is usually gone, and a write to it fails (EIO, EPIPE): such errors
 * on stdout and stderr are then swallowed, so that the crawl still finishes and stores its
 * records instead of dying of an unhandled 'error' event while printing its summary.
 */
export function onShutdownSignals(handlers: ShutdownHandlers): () => void {
  let count = 0;
  const onSignal = (signal: NodeJS.Signals): void => {
    count++;
    if (signal === 'SIGHUP') ignoreOutputErrors();
    if (count === 1) handlers.first(signal);
    else handlers.again(signal);
  };
  for (const s of SHUTDOWN_SIGNALS) process.on(s, onSignal);
  return () => {
    for (const s of SHUTDOWN_SIGNALS) process.off(s, onSignal);
  };
}

let outputErrorsIgnored = false;

/** Makes failed writes to stdout/stderr harmless (once per process). */
function ignoreOutputErrors(): void {
  if (outputErrorsIgnored) return;
  outputErrorsIgnored = true;
  const ignore = (): void => {};
  process.stdout.on('error', ignore);
  process.stderr.on('error', ignore);
}
