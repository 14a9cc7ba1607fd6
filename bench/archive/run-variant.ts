// Runs one archive-benchmark crawl in this process and prints one JSON line: pages, seconds,
// CPU seconds, peak RSS, body bytes received, requests, and the summary's change counts.
// Args: variant url dir. Variants: plain (no state), warc (no state, --warc), first (a fresh
// SQLite state), recrawl (--recrawl of that state), cache-fill (--cache, empty), cache-replay
// (--cache, filled by cache-fill). Every one writes JSONL to dir.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type * as Lib from '../../src/index.js';

const [variant = 'plain', url = '', dir = ''] = process.argv.slice(2);
const dist = new URL('../../dist/index.js', import.meta.url);
const { Crawl } = (await import(
  existsSync(dist) ? dist.href : new URL('../../src/index.js', import.meta.url).href
)) as typeof Lib;
let peak = 0;
const sampler = setInterval(() => {
  peak = Math.max(peak, process.memoryUsage.rss());
}, 50);
const state = variant === 'first' || variant === 'recrawl' ? join(dir, 'state.db') : undefined;
const changes: Record<string, number> = {};
const crawl = new Crawl({
  seeds: [url],
  rate: Number.POSITIVE_INFINITY,
  maxConnections: 64,
  workers: 64,
  hostConcurrency: 64,
  state,
  fresh: variant === 'first',
  recrawl: variant === 'recrawl',
  out: join(dir, `${variant}.jsonl`),
  ...(variant === 'warc' ? { warc: join(dir, 'crawl.warc.gz') } : {}),
  ...(variant.startsWith('cache') ? { cache: join(dir, 'cache') } : {}),
  expect: 100_000,
  onRecord: (r) => {
    if (r.change !== undefined) changes[r.change] = (changes[r.change] ?? 0) + 1;
  },
});
const cpu0 = process.cpuUsage();
const t0 = performance.now();
const summary = await crawl.done;
const seconds = (performance.now() - t0) / 1000;
const cpu = process.cpuUsage(cpu0);
clearInterval(sampler);
peak = Math.max(peak, process.memoryUsage.rss());
process.stdout.write(
  `${JSON.stringify({
    variant,
    pages: summary.pages,
    seconds,
    pagesPerSec: summary.pages / seconds,
    cpuSec: (cpu.user + cpu.system) / 1e6,
    peakRssMB: peak / 2 ** 20,
    bytes: summary.bytes,
    requests: summary.requests,
    changes,
  })}\n`,
);
process.exit(0);
