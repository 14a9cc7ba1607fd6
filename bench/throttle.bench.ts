// `npm run bench:throttle -- [pages] [capacity] [base ms] [max seconds]` (defaults 3000 8 20 60):
// `--auto-throttle` against the fixed per-host cap with its backoff pauses, on a loopback host
// that answers 503 above C concurrent requests and slows as it approaches C (testsite/capacity.ts:
// latency base × (1 + (k/C)²) at k in flight). Both crawl with --host-concurrency 64, 64 workers
// and connections, no global rate limit, a memory frontier, robots ignored; each run stops at
// its page count or after the max seconds, whichever comes first.
//
// Per variant, from the server's own admission log: pages stored and pages/s; the host's
// capacity, C / latency(C) — the most it serves per second; error responses (503s) as a
// fraction of all requests, overall and after settling; the time to settle, the last request
// that ends a run of 100 consecutive requests with more than 1 % refused (0: none ever did;
// never: such runs went on into the run's last second); pages/s at full load, the admissions
// of the middle half of the run after settling over their time span (the crawl starts knowing
// one URL and ends running out of them: neither end is the throttle's doing); and the server's
// concurrency after settling (median and peak of in-flight at each admission).
import { Crawl } from '../src/crawl/crawler.js';
import { type CapacityDecision, capacityLatency, startCapacitySite } from '../src/testsite/capacity.js';
import { median } from './bench-helpers.js';

const pages = Number(process.argv[2] ?? '3000');
const capacity = Number(process.argv[3] ?? '8');
const baseMs = Number(process.argv[4] ?? '20');
const maxSeconds = Number(process.argv[5] ?? '60');

/** The host's most pages/s: C requests at a time, each taking latency(C). */
const hostCapacity = capacity / (capacityLatency(baseMs, capacity, capacity) / 1000);

interface Result {
  variant: string;
  stored: number;
  seconds: number;
  pagesPerS: number;
  errorFraction: number;
  settleS: number;
  errorAfterSettle: number;
  pagesPerSFullLoad: number;
  medianInFlight: number;
  peakInFlight: number;
}

const refused = (d: CapacityDecision) => d.status === 503 || d.status === 429;

/**
 * Seconds from the first arrival to the last one that closes a run of 100 consecutive requests
 * with more than 1 % refused (two or more); 0 if there is none. An isolated refusal (a probe of
 * C + 1 now and then) does not unsettle.
 */
function settleTime(log: readonly CapacityDecision[], t0: number): number {
  const refusals: number[] = [];
  let last = -1;
  for (let i = 0; i < log.length; i++) {
    if (!refused(log[i]!)) continue;
    refusals.push(i);
    const prev = refusals[refusals.length - 2];
    if (prev !== undefined && i - prev < 100) last = i;
  }
  return last < 0 ? 0 : (log[last]!.at - t0) / 1000;
}

async function run(variant: string, autoThrottle: boolean): Promise<Result> {
  const site = await startCapacitySite({ capacity, baseLatencyMs: baseMs, pages });
  try {
    const crawl = new Crawl({
      seeds: [site.url],
      autoThrottle,
      hostConcurrency: 64,
      workers: 64,
      maxConnections: 64,
      rate: Number.POSITIVE_INFINITY,
      retries: 20,
      ignoreRobots: true,
      maxTimeMs: maxSeconds * 1000,
    });
    const started = performance.now();
    const summary = await crawl.done;
    const seconds = (performance.now() - started) / 1000;
    const log = site.decisions;
    const t0 = log[0]?.at ?? 0;
    const end = log[log.length - 1]?.at ?? t0;
    // Refusals into the last second of the run: it never settled.
    const settled = settleTime(log, t0);
    const settleS = settled * 1000 > end - t0 - 1000 ? Number.POSITIVE_INFINITY : settled;
    const after = log.filter((d) => d.at - t0 > settleS * 1000);
    const served = after.filter((d) => !refused(d));
    const from = served[Math.floor(served.length / 4)];
    const to = served[Math.floor((served.length * 3) / 4)];
    const spanS = from !== undefined && to !== undefined ? (to.at - from.at) / 1000 : 0;
    const middle = Math.floor((served.length * 3) / 4) - Math.floor(served.length / 4);
    const admitted = after.filter((d) => !refused(d)).map((d) => d.inFlight);
    return {
      variant,
      stored: summary.ok,
      seconds,
      pagesPerS: summary.ok / seconds,
      errorFraction: log.filter(refused).length / Math.max(1, log.length),
      settleS,
      errorAfterSettle: after.filter(refused).length / Math.max(1, after.length),
      pagesPerSFullLoad: spanS > 0 ? middle / spanS : Number.NaN,
      medianInFlight: admitted.length > 0 ? median(admitted) : Number.NaN,
      peakInFlight: admitted.length > 0 ? Math.max(...admitted) : Number.NaN,
    };
  } finally {
    await site.close();
  }
}

console.log(
  `throttle benchmark: ${pages} pages, capacity host C=${capacity}, base latency ${baseMs} ms ` +
    `(capacity ${hostCapacity.toFixed(0)} pages/s), --host-concurrency 64, stop after ${maxSeconds} s`,
);
const results = [await run('fixed cap + backoff', false), await run('--auto-throttle', true)];
const pct = (x: number) => `${(100 * x).toFixed(2)} %`;
console.table(
  results.map((r) => ({
    variant: r.variant,
    'pages stored': r.stored,
    seconds: r.seconds.toFixed(1),
    'pages/s': r.pagesPerS.toFixed(1),
    'errors (all)': pct(r.errorFraction),
    'settled at (s)': Number.isFinite(r.settleS) ? r.settleS.toFixed(2) : 'never',
    'errors after settle': Number.isFinite(r.settleS) ? pct(r.errorAfterSettle) : '–',
    'pages/s at full load': Number.isNaN(r.pagesPerSFullLoad) ? '–' : r.pagesPerSFullLoad.toFixed(1),
    'of capacity': Number.isNaN(r.pagesPerSFullLoad) ? '–' : pct(r.pagesPerSFullLoad / hostCapacity),
    'in flight (median/peak)': Number.isNaN(r.medianInFlight) ? '–' : `${r.medianInFlight}/${r.peakInFlight}`,
  })),
);
