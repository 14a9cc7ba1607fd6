/**
 * Frontier benchmark: `npx tsx bench/crawl/frontier.bench.ts [n] [--bloom] [--rr] [--only=sqlite|memory]`.
 *
 * 1. SqliteFrontier: insert n distinct URLs (1000 hosts) through add() in batches of 1000 —
 *    URLs/s, state-file size, peak RSS; then n/10 duplicate adds (ns/op); reopen time (crash
 *    recovery + counters, + Bloom rebuild with --bloom); a simulated crawl of 20k pages × 20 links
 *    through lease/complete (pages/s).
 * 2. MemoryFrontier: the same simulated crawl, and add() of new URLs and of duplicates (ns/op)
 *    into seen sets of 400k and min(n, 1M) URLs.
 * Default n = 1e6. Figures go to stdout; the state file is written to a temp dir and removed.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Completion, FrontierItem } from '../../src/crawl/frontier/frontier.js';
import { MemoryFrontier } from '../../src/crawl/frontier/memory-frontier.js';
import type { PageRecord } from '../../src/crawl/record.js';
import { SqliteFrontier } from '../../src/crawl/state/sqlite-frontier.js';
import { openState } from '../../src/crawl/state/state-db.js';

const n = Number(process.argv.find((a) => /^\d+$/.test(a)) ?? 1_000_000);
const bloom = process.argv.includes('--bloom');
const HOSTS = 1000;

// URLs come in runs of 20 per host (the links of one page mostly share its host), cycling over
// HOSTS hosts; `--rr` makes every consecutive URL another host (the B-tree's worst case).
const rr = process.argv.includes('--rr');
const hostOf = (i: number) => `host${(rr ? i : Math.floor(i / 20)) % HOSTS}.example.com`;
const url = (i: number) => `https://${hostOf(i)}/articles/2026/page-${i}.html?ref=nav`;
const item = (i: number): FrontierItem => ({
  url: url(i),
  host: hostOf(i),
  depth: 1,
  referrer: 'https://host0.example.com/',
  attempts: 0,
});

const mb = (bytes: number) => `${(bytes / 1048576).toFixed(0)} MB`;
const peakRss = () => process.resourceUsage().maxRSS * 1024;
const fmt = (x: number) => Math.round(x).toLocaleString('en-US');

function time<T>(fn: () => T): [T, number] {
  const t = performance.now();
  const r = fn();
  return [r, performance.now() - t];
}

function record(it: FrontierItem, links: string[]): PageRecord {
  return {
    url: it.url,
    final_url: it.url,
    status: 200,
    depth: it.depth,
    referrer: it.referrer,
    title: 'A page title of typical length for a crawled article',
    description: null,
    canonical: null,
    links_count: links.length,
    links,
    content_type: 'text/html',
    bytes: 20_000,
    fetched_at: new Date().toISOString(),
    duration_ms: 50,
    attempts: 1,
    error: null,
  };
}

/**
 * A crawl of `pages` pages over a site graph of `space` URLs: each page links to 20 URLs (a few
 * fixed nav links every page repeats, the rest spread over the space), batches of 32.
 */
function simulatedCrawl(
  f: MemoryFrontier | SqliteFrontier,
  pages: number,
  space: number,
): { ms: number; links: number } {
  f.add([item(0)]);
  let done = 0;
  let links = 0;
  const t = performance.now();
  while (done < pages) {
    const batch = f.lease(32, Date.now(), () => 0);
    if (batch.length === 0) break;
    const cs: Completion[] = batch.map((it) => {
      const k = Number(/page-(\d+)/.exec(it.url)![1]);
      const ls: FrontierItem[] = [];
      for (let j = 0; j < 5; j++) ls.push(item(j)); // nav
      for (let j = 0; j < 15; j++) ls.push(item((k * 15 + j * 7919 + 1) % space));
      links += ls.length;
      return {
        item: it,
        record: record(
          it,
          ls.map((l) => l.url),
        ),
        links: ls,
      };
    });
    f.complete(cs, { path: '/dev/null', offset: done });
    done += batch.length;
  }
  return { ms: performance.now() - t, links };
}

function benchSqlite(): void {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'trawl-bench-'));
  const file = path.join(dir, 'bench.state');
  try {
    console.log(`SqliteFrontier (${bloom ? 'Bloom filter in front' : 'no Bloom filter'}), n = ${fmt(n)}`);
    let f = new SqliteFrontier(openState(file, { create: true, name: 'bench' }), { bloom, expected: n });
    const B = 1000;
    const [, insMs] = time(() => {
      for (let i = 0; i < n; i += B) {
        const batch: FrontierItem[] = [];
        for (let j = i; j < Math.min(n, i + B); j++) batch.push(item(j));
        f.add(batch);
      }
    });
    console.log(
      `  insert ${fmt(n)} new URLs: ${(insMs / 1000).toFixed(1)} s = ${fmt(n / (insMs / 1000))} URLs/s`,
    );
    const dups = Math.min(n, 200_000);
    const [, dupMs] = time(() => {
      for (let i = 0; i < dups; i += B) {
        const batch: FrontierItem[] = [];
        for (let j = i; j < i + B; j++) batch.push(item((j * 7919) % n));
        f.add(batch);
      }
    });
    console.log(`  add ${fmt(dups)} duplicates: ${fmt((dupMs * 1e6) / dups)} ns/op`);
    console.log(`  stats ${JSON.stringify(f.stats())}`);
    f.close();
    const size = fs.statSync(file).size;
    console.log(`  state file ${mb(size)} (${fmt(size / n)} bytes/URL); peak RSS so far ${mb(peakRss())}`);
    const [reopened, reopenMs] = time(
      () => new SqliteFrontier(openState(file, { create: true, name: 'bench' }), { bloom, expected: n }),
    );
    f = reopened;
    console.log(`  reopen (recovery + counters${bloom ? ' + Bloom rebuild' : ''}): ${fmt(reopenMs)} ms`);
    const [leased, leaseMs] = time(() => f.lease(1000, Date.now(), () => 0));
    console.log(
      `  lease 1000 across ${HOSTS} hosts from the full table: ${leaseMs.toFixed(1)} ms (${leased.length})`,
    );
    const [, one] = time(() => {
      for (let i = 0; i < 20_000; i++) f.lease(1, Date.now(), () => 0);
    });
    console.log(`  lease(1) one at a time (the engine's pattern): ${fmt((one * 1000) / 20_000)} µs/op`);
    f.close();
    fs.rmSync(dir, { recursive: true, force: true });
    fs.mkdirSync(dir);
    const g = new SqliteFrontier(openState(file, { create: true, name: 'crawl' }), { bloom });
    const pages = 20_000;
    const c = simulatedCrawl(g, pages, 100_000);
    console.log(
      `  simulated crawl ${fmt(pages)} pages × 20 links: ${fmt(pages / (c.ms / 1000))} pages/s, ${fmt((c.ms * 1e6) / c.links)} ns per link (incl. records, leases)`,
    );
    g.close();
    console.log(`  peak RSS ${mb(peakRss())}`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function benchMemory(): void {
  console.log('MemoryFrontier');
  const f = new MemoryFrontier();
  const c = simulatedCrawl(f, 20_000, 100_000);
  console.log(
    `  simulated crawl 20,000 pages × 20 links: ${fmt(20_000 / (c.ms / 1000))} pages/s, ${fmt((c.ms * 1e6) / c.links)} ns per link`,
  );
  // Seen sets of the benchmark crawl's size (20k pages × 20 links ≤ 400k URLs) and of 1M.
  for (const m of [400_000, Math.min(n, 1_000_000)]) {
    const g = new MemoryFrontier();
    // URLs as a crawl has them: flat strings from URL normalization (a template literal would
    // give V8 cons-strings, flattened on first comparison — a cost a crawl never pays). The
    // duplicates are new string objects, so V8 cannot reuse a cached hash.
    // "nav": 5 URLs every page repeats; "spread": any URL of the set.
    const fresh = (i: number): FrontierItem => ({ ...item(i), url: new URL(url(i)).href });
    const items: FrontierItem[] = [];
    for (let i = 0; i < m; i++) items.push(fresh(i));
    const [, addMs] = time(() => {
      for (let i = 0; i < m; i += 1000) g.add(items.slice(i, i + 1000));
    });
    const spread: FrontierItem[] = [];
    const nav: FrontierItem[] = [];
    for (let i = 0; i < 400_000; i++) {
      spread.push(fresh((i * 7919) % m));
      nav.push(fresh(i % 5));
    }
    const dupNs = (dup: FrontierItem[]) => {
      const [, ms] = time(() => {
        for (let i = 0; i < dup.length; i += 1000) g.add(dup.slice(i, i + 1000));
      });
      return fmt((ms * 1e6) / dup.length);
    };
    console.log(
      `  seen set of ${fmt(m)}: add new ${fmt((addMs * 1e6) / m)} ns/op; duplicates: spread ${dupNs(spread)} ns/op, nav ${dupNs(nav)} ns/op`,
    );
  }
}

const only = process.argv.find((a) => a.startsWith('--only='))?.slice('--only='.length);
if (only !== 'memory') benchSqlite();
if (only !== 'sqlite') benchMemory();
