import type { Crawl } from '../crawl/crawler.js';
import type { MetricsSnapshot } from '../crawl/metrics/snapshot.js';

/**
 * Shows crawl progress: on a TTY one live line rewritten 4 times a second; otherwise (or with
 * `json`) a plain or JSON line every 5 seconds (see {@link progressLine}; it says so while every
 * proxy is down and the crawl waits). Its timer is unref'd and cleared by `stop()`.
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
    return progressLine(p, snap, rate, opts.json);
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

/**
 * One progress line: the crawl's counters `p`, the error total and proxy state of `snap`, and
 * `rate` (pages stored per second since the last line). Text mode: `stored N  queued N  in
 * flight N  R pages/s  errors N  Ss`, followed by `  waiting: all proxies down` while every
 * proxy is on backoff. JSON mode: one `{"event":"progress",...}` object, with
 * `"proxiesDown": true` added in that same case (the key is absent otherwise). Never names a
 * proxy, so no credential can reach the line.
 */
export function progressLine(
  p: { stored: number; queued: number; inFlight: number; elapsedMs: number },
  snap: Pick<MetricsSnapshot, 'errors' | 'proxiesDown'>,
  rate: number,
  json: boolean,
): string {
  if (json) {
    return JSON.stringify({
      event: 'progress',
      stored: p.stored,
      queued: p.queued,
      inFlight: p.inFlight,
      rps: round(rate),
      errors: snap.errors.total,
      elapsedMs: p.elapsedMs,
      ...(snap.proxiesDown ? { proxiesDown: true } : {}),
    });
  }
  const waiting = snap.proxiesDown ? '  waiting: all proxies down' : '';
  return `stored ${p.stored}  queued ${p.queued}  in flight ${p.inFlight}  ${rate.toFixed(1)} pages/s  errors ${snap.errors.total}  ${(p.elapsedMs / 1000).toFixed(0)}s${waiting}`;
}

function round(n: number): number {
  return Math.round(n * 10) / 10;
}
