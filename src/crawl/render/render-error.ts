/**
 * Why a page could not be rendered. `kind`: `timeout` — the page did not load (or, with
 * `selector:`, the element did not appear) within the render timeout; `crash` — the tab's
 * renderer or the whole browser died; `navigation` — Chromium could not load the URL (a network
 * error such as `net::ERR_CONNECTION_REFUSED`, a download instead of a page, a refused
 * proxy request) or the wait could not run (an invalid selector); `aborted` — the caller's
 * signal ended the render. The message has no `render: ` prefix (the engine adds it) and never
 * holds cookie values or proxy credentials.
 */
export class RenderError extends Error {
  override name = 'RenderError';
  readonly kind: 'timeout' | 'crash' | 'navigation' | 'aborted';

  constructor(kind: RenderError['kind'], message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.kind = kind;
  }

  /** Whether rendering the same URL again may succeed (only a lost browser; see RenderCrashError). */
  get retryable(): boolean {
    return false;
  }
}

/**
 * The browser process a tab belonged to disconnected unexpectedly (killed, crashed, its pipe
 * closed): every render in flight on it fails with this error as soon as the pool sees the
 * disconnect, and the pool launches a new browser for the next acquire. Unlike a tab crash
 * (a RenderError of kind `crash`, which the page itself may cause every time), the page is not
 * to blame, so the engine retries it: `retryable` is true.
 */
export class RenderCrashError extends RenderError {
  override name = 'RenderCrashError';

  constructor(message: string, options?: { cause?: unknown }) {
    super('crash', message, options);
  }

  override get retryable(): boolean {
    return true;
  }
}

/**
 * Chromium could not be started (a path that is not Chromium, a missing library, no launch
 * within the launch timeout). The message names the executable and the first line of
 * Playwright's reason; every acquire waiting for that launch rejects with it.
 */
export class BrowserLaunchError extends Error {
  override name = 'BrowserLaunchError';
}
