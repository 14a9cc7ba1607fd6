import type { Crawl } from '../crawl/crawler.js';

/**
 * Shows crawl progress: on a TTY one live line rewritten 4 times a second; otherwise (or with
 * `json`) a plain or JSON line every 5 seconds. Its timer is unref'd and cleared by `stop()`.
 */
export function startProgress(crawl: Crawl, opts: { json: boolean }): { stop(): void } {
  const tty = process.stderr.isTTY === true && !opts.json;
  let lastStored = 0;
  let lastAt = Date.now();
  const line = () => {
    const p = crawl.progress();
    const snap = crawl.metrics.snapshot();
    const now = Date.now();
    const rate = ((p.stored - lastStored) * 1000) / Math.max(1, now - lastAt);
    lastStored = p.stored;
    lastAt = now;
    if (opts.json) {
      return JSON.stringify({
        event: 'progress',
        stored: p.stored,
        queued: p.queued,
        inFlight: p.inFlight,
        rps: round(rate),
        errors: snap.errors.total,
        elapsedMs: p.elapsedMs,
      });
    }
    return `stored ${p.stored}  queued ${p.queued}  in flight ${p.inFlight}  ${rate.toFixed(1)} pages/s  errors ${snap.errors.total}  ${(p.elapsedMs / 1000).toFixed(0)}s`;
  };
  const timer = setInterval(
    () => {
      if (tty) process.stderr.write(`\r\x1b[2K${line()}`);
      else process.stderr.write(`${line()}\n`);
    },
    tty ? 250 : 5000,
  );
  timer.unref();
  return {
    stop() {
      clearInterval(timer);
      if (tty) process.stderr.write('\r\x1b[2K');
    },
  };
}

function round(n: number): number {
  return Math.round(n * 10) / 10;
}
