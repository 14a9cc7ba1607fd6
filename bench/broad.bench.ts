// `npm run bench:broad -- [hosts] [pages per host] [rounds] [variants]` (defaults 1000 20 3
// memory,sqlite): a broad crawl under per-host politeness. Serves the multi-host test site
// (testsite/multi-host.ts: `hosts` loopback addresses 127.0.0.2, 127.0.0.3, … on one port,
// `pages per host` pages each, links across hosts) in this process, and crawls it with the
// compiled trawl CLI in a child process (under GNU time for its CPU and peak RSS):
//   --host-rate 1 --host-burst 1 --host-concurrency 1 --scope any --rate inf,
//   --workers 64 --max-connections 256, robots.txt obeyed (one per host), JSONL output;
// `memory` with --no-state, `sqlite` with a fresh state file. Rounds interleave the variants.
//
// Per run: pages stored and whether every page is stored exactly once (from the JSONL output:
// records = distinct URLs = hosts × pages, all status 200; and no page requested twice as the
// server counts it); the politeness bound, max over hosts of (its first page request − the
// crawl's first request) + (pages − 1) s: each host's pages at 1 req/s once the crawl has
// discovered it; the crawl's span on the server (first to last request) and the process's wall
// time, each against that bound; the smallest gap between two page requests to one host as the
// server saw them — first → second page apart from the later ones, since the first can lose the
// time its robots.txt took — and how many hosts have a gap under 1 s − tolerance (50 ms: a
// request's trip to the server jitters by tens of ms on a loaded machine); apart, the smallest gap from a host's
// robots.txt to its first page (the crawler takes robots.txt outside the host's rate, so it is
// reported, not judged); CPU s and peak RSS of the crawler. The table is medians over rounds; the verdict line fails the run
// (exit 1) on a lost or duplicated page or a host whose rate was not held.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { startMultiHostSite } from '../src/testsite/multi-host.js';
import { countJsonl, median, pageOk, readGnuTime } from './bench-helpers.js';

const hosts = Number(process.argv[2] ?? '1000');
const pagesPerHost = Number(process.argv[3] ?? '20');
const rounds = Number(process.argv[4] ?? '3');
const variants = (process.argv[5] ?? 'memory,sqlite').split(',');
const GAP_TOLERANCE_MS = 50;
const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));
const TRAWL = here('../bin/trawl.js');
const DIST_MAIN = here('../dist/cli/main.js');

interface Run {
  variant: string;
  stored: number;
  exactlyOnce: boolean;
  problems: string[];
  boundS: number;
  spanS: number;
  wallS: number;
  /** Smallest gap between a host's first and second page, ms. */
  firstGapMs: number;
  /** Smallest gap between later consecutive pages of a host, ms. */
  laterGapMs: number;
  robotsGapMs: number;
  /** Hosts whose first → second page gap is under 1 s − tolerance. */
  slowFirst: number;
  /** Hosts with a later gap under 1 s − tolerance. */
  slowLater: number;
  cpuS: number;
  peakRssMB: number;
  /** The site's own event-loop delay during the run, ms (p99, max): late receive times shorten gaps. */
  siteLagP99Ms: number;
  siteLagMaxMs: number;
}

/** Runs the crawler once against `site` and returns what the server and the output say. */
async function crawlOnce(
  variant: string,
  site: Awaited<ReturnType<typeof startMultiHostSite>>,
): Promise<Run> {
  if (variant !== 'memory' && variant !== 'sqlite') throw new Error(`unknown variant ${variant}`);
  const dir = mkdtempSync(join(tmpdir(), 'trawl-broad-'));
  const out = join(dir, 'out.jsonl');
  const timeFile = join(dir, 'time.txt');
  site.reset();
  const args = [
    '-f',
    '%U %S %M',
    '-o',
    timeFile,
    process.execPath,
    '--max-semi-space-size=4',
    TRAWL,
    'crawl',
    site.url,
    '--host-rate',
    '1',
    '--host-burst',
    '1',
    '--host-concurrency',
    '1',
    '--scope',
    'any',
    '--rate',
    'inf',
    '--workers',
    '64',
    '--max-connections',
    '256',
    '--allow-private',
    '--quiet',
    '--out',
    out,
    ...(variant === 'memory' ? ['--no-state'] : ['--state', join(dir, 'state.db')]),
  ];
  // The server's receive times are taken on this process's event loop: a stall here delays a
  // request's time and shortens the gap to the next one, so the delay is reported with them.
  const lag = monitorEventLoopDelay({ resolution: 10 });
  lag.enable();
  const t0 = performance.now();
  const code = await new Promise<number | null>((resolve) => {
    const child = spawn('/usr/bin/time', args, { stdio: ['ignore', 'ignore', 'inherit'] });
    child.once('close', (c) => resolve(c));
  });
  const wallS = (performance.now() - t0) / 1000;
  lag.disable();
  const siteLagP99Ms = lag.percentile(99) / 1e6;
  const siteLagMaxMs = lag.max / 1e6;
  const problems: string[] = code === 0 ? [] : [`crawler exited ${code}`];

  const stored = countJsonl(out, pageOk);
  problems.push(...stored.problems);
  const total = hosts * pagesPerHost;
  let twice = 0;
  let start = Number.POSITIVE_INFINITY;
  let end = 0;
  for (const h of site.hosts) {
    if (h.requestTimes.length > 0) {
      start = Math.min(start, h.requestTimes[0]!);
      end = Math.max(end, h.requestTimes[h.requestTimes.length - 1]!);
    }
    for (const [path, n] of h.counts) if (path !== '/robots.txt' && path !== '/sitemap.xml' && n > 1) twice++;
  }
  if (twice > 0) problems.push(`${twice} pages requested more than once`);
  const exactlyOnce = stored.records === total && stored.distinct === total && twice === 0;
  if (!exactlyOnce)
    problems.push(`stored ${stored.records} records, ${stored.distinct} distinct, of ${total}`);

  // The bound and the gaps, from the server's receive times. The server keeps times, not
  // paths, per request; a host's robots.txt requests are its first ones (no page of a host is
  // asked for before its robots.txt has an answer, and a 200 is never fetched again here).
  let boundMs = 0;
  let firstGapMs = Number.POSITIVE_INFINITY;
  let laterGapMs = Number.POSITIVE_INFINITY;
  let robotsGapMs = Number.POSITIVE_INFINITY;
  let slowFirst = 0;
  let slowLater = 0;
  const short = (gap: number) => gap < 1000 - GAP_TOLERANCE_MS;
  for (const h of site.hosts) {
    const robots = h.counts.get('/robots.txt') ?? 0;
    const times = h.requestTimes.slice(robots);
    const firstPage = times[0];
    if (firstPage === undefined) continue;
    boundMs = Math.max(boundMs, firstPage - start + (pagesPerHost - 1) * 1000);
    if (robots > 0) robotsGapMs = Math.min(robotsGapMs, firstPage - h.requestTimes[robots - 1]!);
    if (times.length < 2) continue;
    // Apart: the first gap is where a host's robots.txt wait can eat into its rate.
    const first = times[1]! - times[0]!;
    firstGapMs = Math.min(firstGapMs, first);
    if (short(first)) slowFirst++;
    let later = Number.POSITIVE_INFINITY;
    for (let i = 2; i < times.length; i++) later = Math.min(later, times[i]! - times[i - 1]!);
    laterGapMs = Math.min(laterGapMs, later);
    if (short(later)) slowLater++;
  }
  const under = `under ${1000 - GAP_TOLERANCE_MS} ms`;
  if (slowFirst > 0) problems.push(`${slowFirst} hosts with a first → second page gap ${under}`);
  if (slowLater > 0) problems.push(`${slowLater} hosts with a later page gap ${under}`);

  const time = readGnuTime(timeFile);
  rmSync(dir, { recursive: true, force: true });
  return {
    variant,
    stored: stored.records,
    exactlyOnce,
    problems,
    boundS: boundMs / 1000,
    spanS: (end - start) / 1000,
    wallS,
    firstGapMs,
    laterGapMs,
    robotsGapMs,
    slowFirst,
    slowLater,
    cpuS: time.userS + time.sysS,
    peakRssMB: time.maxRssKB / 1024,
    siteLagP99Ms,
    siteLagMaxMs,
  };
}

const site = await startMultiHostSite({ hosts, pagesPerHost, seed: 1 });
const built = new Date(statSync(DIST_MAIN).mtimeMs).toISOString();
console.log(
  `broad crawl benchmark: ${hosts} hosts × ${pagesPerHost} pages (${site.graph.totalPages} pages, ` +
    `${site.hosts[0]!.address} … ${site.hosts[hosts - 1]!.address} port ${site.port}), ` +
    `--host-rate 1 --host-burst 1 --host-concurrency 1 --scope any, ${rounds} round(s) of ${variants.join(', ')}; ` +
    `measuring dist/ built ${built}`,
);
const runs: Run[] = [];
try {
  for (let round = 1; round <= rounds; round++) {
    for (const v of variants) {
      const r = await crawlOnce(v, site);
      runs.push(r);
      console.log(
        `round ${round} ${v}: stored ${r.stored}, bound ${r.boundS.toFixed(1)} s, span ${r.spanS.toFixed(1)} s ` +
          `(${(r.spanS / r.boundS).toFixed(3)}×), wall ${r.wallS.toFixed(1)} s, min page gap ${r.firstGapMs.toFixed(1)} ms first → second, ` +
          `${r.laterGapMs.toFixed(1)} ms later ` +
          `(robots.txt → first page ${r.robotsGapMs.toFixed(1)} ms), ` +
          `CPU ${r.cpuS.toFixed(1)} s, peak RSS ${r.peakRssMB.toFixed(0)} MB, ` +
          `site event-loop delay p99 ${r.siteLagP99Ms.toFixed(1)} ms, max ${r.siteLagMaxMs.toFixed(1)} ms` +
          (r.problems.length > 0 ? `; PROBLEMS: ${r.problems.join('; ')}` : ''),
      );
    }
  }
} finally {
  await site.close();
}

const of = (v: string, k: (r: Run) => number) => median(runs.filter((r) => r.variant === v).map(k));
// Gaps are judged at their worst over the rounds, not their median.
const minOf = (v: string, k: (r: Run) => number) => Math.min(...runs.filter((r) => r.variant === v).map(k));
const maxOf = (v: string, k: (r: Run) => number) => Math.max(...runs.filter((r) => r.variant === v).map(k));
console.log(`\nmedians of ${rounds} interleaved round(s)`);
console.table(
  variants.map((v) => ({
    variant: v,
    'pages stored': of(v, (r) => r.stored),
    'exactly once': runs.filter((r) => r.variant === v).every((r) => r.exactlyOnce) ? 'yes' : 'NO',
    'bound (s)': of(v, (r) => r.boundS).toFixed(1),
    'span (s)': of(v, (r) => r.spanS).toFixed(1),
    'span / bound': of(v, (r) => r.spanS / r.boundS).toFixed(3),
    'wall (s)': of(v, (r) => r.wallS).toFixed(1),
    'wall / bound': of(v, (r) => r.wallS / r.boundS).toFixed(3),
    'min gap 1st→2nd (ms)': minOf(v, (r) => r.firstGapMs).toFixed(1),
    'min gap later (ms)': minOf(v, (r) => r.laterGapMs).toFixed(1),
    'robots→page (ms)': minOf(v, (r) => r.robotsGapMs).toFixed(1),
    'hosts short 1st/later': `${maxOf(v, (r) => r.slowFirst)}/${maxOf(v, (r) => r.slowLater)}`,
    'CPU (s)': of(v, (r) => r.cpuS).toFixed(1),
    'peak RSS (MB)': of(v, (r) => r.peakRssMB).toFixed(0),
  })),
);
const failed = runs.filter((r) => r.problems.length > 0);
console.log(
  failed.length === 0
    ? 'verdict: every page stored exactly once, every host held to 1 req/s'
    : `verdict: FAILED in ${failed.length} run(s): ${failed.map((r) => `${r.variant}: ${r.problems.join('; ')}`).join(' | ')}`,
);
process.exitCode = failed.length === 0 ? 0 : 1;
