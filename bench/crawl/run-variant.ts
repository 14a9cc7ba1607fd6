// Runs one benchmark variant in this process and prints one JSON line: pages, seconds, CPU
// seconds (user+system, all threads) and peak RSS. Args: variant url

import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type * as Lib from '../../src/index.js';
import { bareLoop } from './bare-loop.js';

const [variant = 'trawl', url = ''] = process.argv.slice(2);
// Measure the compiled package (what users run) when it is built; the sources otherwise.
const dist = new URL('../../dist/index.js', import.meta.url);
const { Crawl, startDashboard } = (await import(
  existsSync(dist) ? dist.href : new URL('../../src/index.js', import.meta.url).href
)) as typeof Lib;
const dir = mkdtempSync(join(tmpdir(), 'trawl-bench-'));
let peak = 0;
const sampler = setInterval(() => {
  peak = Math.max(peak, process.memoryUsage.rss());
}, 50);
const cpu0 = process.cpuUsage();
const t0 = performance.now();
let pages = 0;
if (variant === 'bare') {
  pages = await bareLoop(url, 64);
} else {
  const parsers = /parsers(\d)/.exec(variant)?.[1];
  const crawl = new Crawl({
    seeds: [url],
    rate: Number.POSITIVE_INFINITY,
    maxConnections: 64,
    workers: 64,
    hostConcurrency: 64,
    parsers: parsers === undefined ? undefined : Number(parsers),
    state: variant.includes('sqlite') ? join(dir, 'state.db') : undefined,
    out: join(dir, 'out.jsonl'),
    expect: 100_000,
  });
  if (variant.includes('dashboard')) {
    const dash = await startDashboard({ port: 0, metrics: crawl.metrics });
    // An open dashboard, watched from other processes (as a browser and Prometheus would be):
    // one live SSE client reading every frame, and /metrics scraped every second.
    const sse = spawn('curl', ['-sN', new URL('/events', dash.url).href], { stdio: 'ignore' });
    const scrape = spawn(
      'sh',
      ['-c', `while :; do curl -s ${new URL('/metrics', dash.url).href} >/dev/null; sleep 1; done`],
      {
        stdio: 'ignore',
      },
    );
    void crawl.done.finally(() => {
      sse.kill();
      scrape.kill();
      void dash.close();
    });
  }
  const summary = await crawl.done;
  pages = summary.pages;
}
const seconds = (performance.now() - t0) / 1000;
const cpu = process.cpuUsage(cpu0);
clearInterval(sampler);
peak = Math.max(peak, process.memoryUsage.rss());
rmSync(dir, { recursive: true, force: true });
process.stdout.write(
  `${JSON.stringify({ variant, pages, seconds, pagesPerSec: pages / seconds, cpuSec: (cpu.user + cpu.system) / 1e6, peakRssMB: peak / 2 ** 20 })}\n`,
);
process.exit(0);
