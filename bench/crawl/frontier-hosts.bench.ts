/**
 * Does a lease cost more when the frontier knows more hosts? `npm run bench:frontier-hosts --
 * [hosts,…] [--only=memory|sqlite] [--urls=U] [--seconds=S]` (defaults 1000,10000,100000, both
 * frontiers, U = 3, S = 10).
 *
 * For each frontier and each H: fill a fresh frontier with H hosts × U URLs (add() in batches of
 * 1,000; the fill time and the process's RSS and heap after it are printed), then time cycles
 * of lease(1) as the engine calls it, each leased item completed with one new link to its own
 * host (so queues neither drain nor grow; completions in batches of 32, as the store commits),
 * in two scenarios:
 *
 * - `all ready`: the readyAt predicate always says "now" — the frontier's own cost per lease.
 * - `polite`: each host may go once per 1–2 s (a fixed interval per host, spread over that
 *   range, as --host-rate 1 with different response times and Crawl-delays), on a virtual clock
 *   that advances by 95 % of the hosts' aggregate interval per attempt, so the hosts are the
 *   bottleneck as in a broad crawl: at any moment only a few hosts may go. The predicate answers
 *   each host's next ready time, as the engine's (HostTable.readyAt) does, so the frontier sets
 *   a host aside until then. Timing starts after the first 2·H leases: in the first lap every
 *   host goes once (so their ready times are spread), in the second each is asked once more and
 *   leaves the rotation until its time — a one-off O(H) cost that timing only part of that lap
 *   would spread over its leases (at 100k hosts, 20,000 timed leases are a fifth of a lap). A
 *   lease that finds no host ready is counted as an empty attempt.
 *
 * Per scenario: leases/s (wall time of the timed cycles, empty attempts included, divided by the
 * items leased), µs per lease, and how many times the readyAt predicate was called per lease
 * (the number of hosts a lease looks at). Each timed phase runs for 20,000 leases or S seconds,
 * whichever comes first. If the cost per lease is independent of H, leases/s stays flat across H
 * (and ready calls per lease stay near 1).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Completion, Frontier, FrontierItem } from '../../src/crawl/frontier/frontier.js';
import { MemoryFrontier } from '../../src/crawl/frontier/memory-frontier.js';
import type { PageRecord } from '../../src/crawl/record.js';
import { SqliteFrontier } from '../../src/crawl/state/sqlite-frontier.js';
import { openState } from '../../src/crawl/state/state-db.js';

const hostCounts = (process.argv.slice(2).find((a) => /^[\d,]+$/.test(a)) ?? '1000,10000,100000')
  .split(',')
  .map(Number);
const flag = (name: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const only = flag('only');
const urlsPerHost = Number(flag('urls') ?? '3');
const maxSeconds = Number(flag('seconds') ?? '10');
const TIMED_LEASES = 20_000;
const COMPLETE_BATCH = 32;

const hostName = (h: number) => `h${h}.example.com`;
const item = (h: number, k: number): FrontierItem => ({
  url: `https://${hostName(h)}/articles/page-${k}.html`,
  host: hostName(h),
  depth: 1,
  referrer: null,
  attempts: 0,
});
/**
 * Host name → index, filled for the largest H up front: the predicate's lookup is then one Map
 * get, as the engine's (HostTable.get) is, and no string parsing is timed.
 */
const indexOf = new Map<string, number>();
for (let h = 0; h < Math.max(...hostCounts); h++) indexOf.set(hostName(h), h);

function record(it: FrontierItem): PageRecord {
  return {
    url: it.url,
    final_url: it.url,
    status: 200,
    depth: it.depth,
    referrer: it.referrer,
    title: 'A page',
    description: null,
    canonical: null,
    links_count: 1,
    links: [],
    content_type: 'text/html',
    bytes: 20_000,
    fetched_at: '2026-12-08T00:00:00.000Z',
    duration_ms: 50,
    attempts: 1,
    error: null,
  };
}

type LocalFrontier = MemoryFrontier | SqliteFrontier;
const fmt = (x: number) => Math.round(x).toLocaleString('en-US');
const mb = (bytes: number) => `${(bytes / 1048576).toFixed(0)} MB`;
const delta = (bytes: number) => `${bytes < 0 ? '−' : '+'}${mb(Math.abs(bytes))}`;

interface Phase {
  leases: number;
  empty: number;
  readyCalls: number;
  ms: number;
}

/**
 * Runs lease(1) attempts until `stopAt` leases are timed (or the time cap); the first `warm`
 * leases are untimed. `readyAt(h)` says when host h may go; `went(h, now)` is told of each
 * lease. Every leased item is completed (batches of 32) with one new link to its host: `next[h]`
 * is that host's next URL number.
 */
function cycles(
  f: LocalFrontier,
  next: Uint32Array,
  warm: number,
  step: number,
  readyAt: (h: number) => number,
  went: (h: number, now: number) => void,
): Phase {
  let now = 1;
  let readyCalls = 0;
  let pending: Completion[] = [];
  const flush = () => {
    if (pending.length > 0) (f as Frontier).complete(pending);
    pending = [];
  };
  const attempt = (): boolean => {
    now += step;
    const [it] = f.lease(1, now, (host) => {
      readyCalls++;
      return readyAt(indexOf.get(host)!);
    }) as FrontierItem[];
    if (it === undefined) return false;
    const h = indexOf.get(it.host)!;
    went(h, now);
    pending.push({ item: it, record: record(it), links: [item(h, next[h]!++)] });
    if (pending.length >= COMPLETE_BATCH) flush();
    return true;
  };
  for (let got = 0, tries = 0; got < warm && tries < warm * 4; tries++) if (attempt()) got++;
  flush();
  readyCalls = 0;
  let leases = 0;
  let empty = 0;
  const t0 = performance.now();
  const deadline = t0 + maxSeconds * 1000;
  while (leases < TIMED_LEASES) {
    if (attempt()) leases++;
    else empty++;
    // Every attempt: at 100k hosts one attempt can take milliseconds (performance.now() is ~50 ns).
    if (performance.now() > deadline) break;
  }
  flush();
  return { leases, empty, readyCalls, ms: performance.now() - t0 };
}

function report(name: string, p: Phase): string {
  const perS = p.leases / (p.ms / 1000);
  return (
    `  ${name.padEnd(10)} ${fmt(perS).padStart(9)} leases/s  ${((p.ms * 1000) / Math.max(1, p.leases)).toFixed(1).padStart(8)} µs/lease` +
    `  ${(p.readyCalls / Math.max(1, p.leases)).toFixed(1).padStart(9)} ready calls/lease  (${fmt(p.leases)} leases, ${fmt(p.empty)} empty attempts, ${(p.ms / 1000).toFixed(1)} s)`
  );
}

function fill(f: LocalFrontier, hosts: number): Uint32Array {
  const next = new Uint32Array(hosts);
  let batch: FrontierItem[] = [];
  // URL k of every host before URL k+1 of any, as a broad crawl discovers them.
  for (let k = 0; k < urlsPerHost; k++) {
    for (let h = 0; h < hosts; h++) {
      batch.push(item(h, k));
      if (batch.length === 1000) {
        f.add(batch);
        batch = [];
      }
    }
  }
  if (batch.length > 0) f.add(batch);
  next.fill(urlsPerHost);
  return next;
}

function runOne(kind: 'memory' | 'sqlite', hosts: number): void {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'trawl-frontier-hosts-'));
  const open = (): LocalFrontier =>
    kind === 'memory'
      ? new MemoryFrontier()
      : new SqliteFrontier(
          openState(path.join(dir, `${hosts}-${Date.now()}.db`), { create: true, name: 'bench' }),
        );
  try {
    // All ready: the frontier's own cost.
    let f = open();
    const rss0 = process.memoryUsage();
    const t = performance.now();
    let next = fill(f, hosts);
    const fillMs = performance.now() - t;
    global.gc?.();
    const mem = process.memoryUsage();
    console.log(
      `${kind} frontier, ${fmt(hosts)} hosts × ${urlsPerHost} URLs: fill ${(fillMs / 1000).toFixed(1)} s; ` +
        `RSS ${mb(mem.rss)} (${delta(mem.rss - rss0.rss)}), heap ${mb(mem.heapUsed)} (${delta(mem.heapUsed - rss0.heapUsed)})`,
    );
    console.log(
      report(
        'all ready',
        cycles(
          f,
          next,
          0,
          1,
          () => 0,
          () => {},
        ),
      ),
    );
    f.close();

    // Polite: each host once per interval[h], hosts the bottleneck.
    f = open();
    next = fill(f, hosts);
    const interval = new Float64Array(hosts);
    // A golden-ratio spread over 1–2 s: deterministic, and not in ring order.
    for (let h = 0; h < hosts; h++) interval[h] = 1000 * (1 + ((h * 0.6180339887) % 1));
    let aggregate = 0; // hosts' combined requests per ms
    for (let h = 0; h < hosts; h++) aggregate += 1 / interval[h]!;
    const nextAt = new Float64Array(hosts);
    console.log(
      report(
        'polite',
        cycles(
          f,
          next,
          2 * hosts,
          (1 / aggregate) * 0.95,
          (h) => nextAt[h]!,
          (h, now) => {
            nextAt[h] = now + interval[h]!;
          },
        ),
      ),
    );
    f.close();
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

console.log(
  `frontier leases vs hosts: lease(1) cycles, ${TIMED_LEASES.toLocaleString('en-US')} leases or ${maxSeconds} s per phase; ` +
    `node ${process.version}`,
);
for (const kind of ['memory', 'sqlite'] as const) {
  if (only !== undefined && only !== kind) continue;
  for (const h of hostCounts) runOne(kind, h);
}
console.log(`peak RSS ${mb(process.resourceUsage().maxRSS * 1024)}`);
