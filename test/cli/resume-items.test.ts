/**
 * Exactly-once items across crashes (issue 11): `trawl run examples/scrapers/shop.ts` with a
 * state file and `--items`, SIGKILLed at random moments and rerun with the same command, ends
 * with an items file holding every product exactly once — the same items, line for line, as one
 * clean run — and a page output holding every page once. Also after a crash that leaves
 * uncommitted (duplicate and torn) item lines at the end of the items file, with flaky product
 * pages that fail before they succeed.
 */
import { appendFileSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { readStatus } from '../../src/crawl/state/status.js';
import { type ShopSite, type ShopSiteOptions, startShopSite } from '../../src/testsite/shop.js';
import { prng } from '../../src/testsite/site.js';
import { type CliResult, cleanup, readJsonl, spawnCli, tempDir, until } from '../helpers/cli.js';
import { expectShopItems, SHOP_SCRAPER } from '../helpers/shop-items.js';

const sites = new Set<ShopSite>();
afterEach(async () => {
  await cleanup();
  await Promise.all([...sites].map((s) => s.close()));
  sites.clear();
});

const KILLS = 10;
/** Seed of the kill moments: change it to explore other schedules; fixed so a failure reproduces. */
const SEED = 0x17e5;
/** ~840 pages: the home page, about 36 listing pages, 800 products, the search. */
const BIG = { products: 800, categories: 6, pageSize: 25, latencyMs: 2 } as const;

interface Run {
  site: ShopSite;
  state: string;
  out: string;
  items: string;
  args: string[];
}

async function setup(opts: ShopSiteOptions): Promise<Run> {
  const site = await startShopSite(opts);
  sites.add(site);
  const dir = tempDir('trawl-resume-items-');
  const state = join(dir, 's.db');
  const out = join(dir, 'pages.jsonl');
  const items = join(dir, 'items.jsonl');
  const args = [
    'run',
    SHOP_SCRAPER,
    site.url,
    '--rate',
    'inf',
    '--workers',
    '8',
    '--state',
    state,
    '--out',
    out,
    '--items',
    items,
  ];
  return { site, state, out, items, args };
}

/** A file's size in bytes (0 when missing). */
function sizeOf(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

/** Starts the command; resolves once this run is pushing items (its items file grew) or has exited. */
async function startRun(r: Run) {
  const before = sizeOf(r.items);
  const proc = spawnCli(r.args, { timeoutMs: 60_000 });
  await until(() => proc.done || sizeOf(r.items) > before, 'the run to store items', 45_000);
  return proc;
}

/** Runs the command to its end and checks it finished cleanly. */
async function runToEnd(args: readonly string[]): Promise<CliResult> {
  const r = await spawnCli(args, { timeoutMs: 60_000 }).exited;
  expect(r.timedOut, `the run did not finish; stderr:\n${r.stderr}`).toBe(false);
  expect(r.code, r.stderr).toBe(0);
  return r;
}

/** The items file's lines, sorted (each item is one JSON line; order depends on timing). */
function sortedLines(path: string): string[] {
  const text = readFileSync(path, 'utf8');
  expect(text.endsWith('\n'), 'torn last line').toBe(true);
  return text.slice(0, -1).split('\n').sort();
}

/** The pages a complete run visits: home, every listing page, every product, the search. */
function pageCount(site: ShopSite): number {
  const c = site.catalog;
  return 1 + c.categories.reduce((n, cat) => n + cat.pages, 0) + c.products.length + 1;
}

/**
 * The run's outputs hold every item and every page exactly once, its items equal a clean run's
 * line for line, and its state agrees.
 */
async function expectExactlyOnce(r: Run): Promise<void> {
  const got = readJsonl(r.items);
  expect(got.bad, 'torn or invalid item lines').toEqual([]);
  expect(got.endsClean).toBe(true);
  expectShopItems(got.records, r.site.catalog, r.site.url.replace(/\/$/, ''));

  const pages = readJsonl(r.out);
  expect(pages.bad, 'torn or invalid page lines').toEqual([]);
  const urls = pages.records.map((x) => x.url as string);
  expect(new Set(urls).size, 'pages stored more than once').toBe(urls.length);
  expect(urls.length).toBe(pageCount(r.site));
  expect(pages.records.filter((x) => x.status !== 200 || x.error !== null)).toEqual([]);

  const status = readStatus(r.state);
  expect(status.done).toBe(pageCount(r.site));
  expect(status.queued).toBe(0);
  expect(status.leased).toBe(0);
  expect(status.out?.offset).toBe(statSync(r.out).size);
  expect(status.items).toBe(r.site.catalog.products.length);
  expect(status.itemsOut?.offset).toBe(statSync(r.items).size);

  // A clean run of the same scraper on the same site (no state) pushes the same lines.
  const clean = join(tempDir('trawl-resume-items-clean-'), 'items.jsonl');
  await runToEnd(['run', SHOP_SCRAPER, r.site.url, '--rate', 'inf', '--no-state', '--items', clean]);
  expect(sortedLines(r.items)).toEqual(sortedLines(clean));
}

describe('exactly-once items after interruption', () => {
  it(`SIGKILL at ${KILLS} random moments in a row, then a rerun: every item exactly once`, async () => {
    const r = await setup(BIG);
    const rand = prng(SEED);
    let landed = 0;
    for (let i = 0; i < KILLS; i++) {
      const proc = await startRun(r);
      // A random moment 0–400 ms into this run's pushing: mid-batch, between batches, anywhere.
      await new Promise((res) => setTimeout(res, Math.floor(rand() * 400)));
      const wasRunning = !proc.done;
      proc.kill('SIGKILL');
      const res = await proc.exited;
      expect(res.timedOut).toBe(false);
      if (wasRunning) {
        landed++;
        expect(res.signal).toBe('SIGKILL');
      } else {
        expect(res.code, res.stderr).toBe(0); // it finished before the kill: a clean run
      }
      if (i === 0) expect(res.stderr).not.toMatch(/resuming/);
      else expect(res.stderr, `run ${i + 1} did not announce resuming`).toMatch(/resuming crawl/);
    }
    // Kills must have interrupted real scraping, not only finished runs.
    expect(landed).toBeGreaterThanOrEqual(KILLS / 2);
    const last = await runToEnd(r.args);
    expect(last.stderr).toMatch(/resuming crawl/);
    await expectExactlyOnce(r);
    // Twelve CLI processes in a row: a hang guard for a loaded 2-core machine.
  }, 300_000);

  it('a crash between the items write and the commit (duplicate and torn lines left), with flaky pages: exactly once', async () => {
    // As in resume.test.ts: kill -9 mid-crawl, then append what a process dying between the items
    // sink write and the state commit leaves behind — whole item lines (copies of stored ones, so
    // a resume that kept them would push products twice) and a torn last line. Whatever the
    // committed mark is, these bytes are past it.
    const r = await setup({ ...BIG, products: 600, faults: { flakyRate: 0.05, flakyTimes: 1 } });
    expect(r.site.faults.flaky.length).toBe(30);
    const proc = spawnCli(r.args, { timeoutMs: 60_000 });
    await until(() => proc.done || readJsonl(r.items).records.length >= 100, '100 items', 45_000);
    expect(proc.done, 'the run ended before the kill').toBe(false);
    proc.kill('SIGKILL');
    await proc.exited;
    const committed = readStatus(r.state).itemsOut?.offset ?? 0;
    expect(committed).toBeGreaterThan(0);
    const lines = readFileSync(r.items, 'utf8').slice(0, committed).split('\n').slice(0, 5);
    appendFileSync(r.items, `${lines.join('\n')}\n${lines[0]!.slice(0, 37)}`);
    expect(statSync(r.items).size).toBeGreaterThan(committed);
    const last = await runToEnd(r.args);
    expect(last.stderr).toMatch(/resuming crawl/);
    await expectExactlyOnce(r);
  }, 180_000);
});
