/**
 * The CLI's other commands and state features (issues 3 and 4): `trawl demo`, `trawl status`,
 * `trawl export` (also while a crawl runs) and `--retry-failed`, each run as a child process
 * against a real test site on 127.0.0.1.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { CrawlStatus } from '../../src/crawl/state/status.js';
import type { TestSite } from '../../src/testsite/server.js';
import { cleanup, readJsonl, runCli, spawnCli, startSite, tempDir, until } from '../helpers/cli.js';
import { parseCsv } from '../helpers/csv.js';

afterEach(cleanup);

/** A completed crawl of `site` with a state file; returns its paths. */
async function crawlWithState(site: TestSite, extra: string[] = []) {
  const dir = tempDir('trawl-cmd-');
  const state = join(dir, 's.db');
  const out = join(dir, 'out.jsonl');
  const args = ['crawl', site.url, '--rate', 'inf', '--state', state, '--out', out, '--quiet', ...extra];
  const r = await runCli(args);
  expect(r.timedOut).toBe(false);
  expect(r.code, r.stderr).toBe(0);
  return { dir, state, out, args };
}

describe('trawl demo', () => {
  it('serves the demo site, crawls it and says where the results went', async () => {
    const dir = tempDir('trawl-demo-');
    const out = join(dir, 'demo.jsonl');
    const r = await runCli([
      'demo',
      '--pages',
      '30',
      '--rate',
      'inf',
      '--state',
      join(dir, 'd.db'),
      '--out',
      out,
    ]);
    expect(r.timedOut).toBe(false);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/serving a 30-page demo site at http:\/\/127\.0\.0\.1:\d+\//);
    expect(r.stderr).toMatch(/^pages:\s+30 stored \(30 ok, 0 failed\)/m);
    expect(r.stderr).toContain(`results: ${out}`);
    const { records, bad } = readJsonl(out);
    expect(bad).toEqual([]);
    expect(new Set(records.map((x) => x.url)).size).toBe(30);
  });

  it('--quiet prints nothing and still writes every page; runs again from scratch', async () => {
    const dir = tempDir('trawl-demo-');
    const out = join(dir, 'demo.jsonl');
    const args = [
      'demo',
      '--quiet',
      '--pages',
      '20',
      '--rate',
      'inf',
      '--state',
      join(dir, 'd.db'),
      '--out',
      out,
    ];
    for (let run = 0; run < 2; run++) {
      const r = await runCli(args);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toBe('');
      // The demo starts fresh each time: the second run rewrites the output, it does not append.
      expect(readJsonl(out).records).toHaveLength(20);
    }
  });

  it('works without a state file (--no-state)', async () => {
    const out = join(tempDir('trawl-demo-'), 'demo.jsonl');
    const r = await runCli(['demo', '--quiet', '--pages', '10', '--rate', 'inf', '--no-state', '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    expect(readJsonl(out).records).toHaveLength(10);
  });
});

describe('trawl status and trawl export', () => {
  it('status prints done/queued/failed and per-host lines after a crawl; --json agrees', async () => {
    const site = await startSite({ pages: 40, faults: { error500Paths: ['/p/7', '/p/9'] } });
    const { state } = await crawlWithState(site, ['--retries', '0']);
    const host = new URL(site.url).host;

    const text = await runCli(['status', state]);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toMatch(/^done\s+40 \(38 ok, 2 failed, 0 skipped\)$/m);
    expect(text.stdout).toMatch(/^queued\s+0$/m);
    expect(text.stdout).toMatch(/^\s+http\s+2$/m); // failures by kind
    const hostLine = text.stdout.split('\n').find((l) => l.trim().startsWith(host));
    expect(hostLine, text.stdout).toBeDefined();
    expect(hostLine!.trim().split(/\s+/).slice(0, 4)).toEqual([host, '40', '2', '0']);

    const json = await runCli(['status', state, '--json']);
    expect(json.code).toBe(0);
    const s = JSON.parse(json.stdout) as CrawlStatus;
    expect(s.done).toBe(40);
    expect(s.failed).toBe(2);
    expect(s.queued).toBe(0);
    expect(s.byKind).toEqual({ http: 2 });
    expect(s.hosts).toEqual([{ host, done: 40, failed: 2, skipped: 0, queued: 0, pausedUntil: null }]);
  });

  it('export writes every record as JSONL (identical to the crawl output) and as CSV', async () => {
    const site = await startSite({ pages: 60 });
    const { dir, state, out } = await crawlWithState(site);
    const jsonl = join(dir, 'export.jsonl');
    const csv = join(dir, 'export.csv');
    for (const file of [jsonl, csv]) {
      const r = await runCli(['export', state, '--out', file]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toContain(file);
    }
    const exported = readJsonl(jsonl);
    expect(exported.bad).toEqual([]);
    expect(exported.records).toHaveLength(60);
    expect(readFileSync(jsonl, 'utf8')).toBe(readFileSync(out, 'utf8'));
    const rows = parseCsv(readFileSync(csv, 'utf8'));
    const header = rows[0]!;
    expect(header.slice(0, 3)).toEqual(['url', 'final_url', 'status']);
    const body = rows.slice(1);
    expect(body).toHaveLength(60);
    expect(body.every((r) => r.length === header.length)).toBe(true);
    const urlCol = header.indexOf('url');
    expect(new Set(body.map((r) => r[urlCol]))).toEqual(new Set(exported.records.map((r) => r.url)));
  });

  it('export and status work while a crawl runs, without disturbing it', async () => {
    // A quarter of the pages answer after a minute: each holds a worker for the 5 s timeout on
    // every attempt, so the crawl cannot finish before the test stops it, however slowly this
    // machine runs export and status (a graceful stop waits at most one timeout).
    const slow = Array.from({ length: 100 }, (_, i) => `/p/${300 + i}`);
    const site = await startSite({
      pages: 400,
      latencyMs: 20,
      faults: { slow: { paths: slow, delayMs: 60_000 } },
    });
    const dir = tempDir('trawl-cmd-');
    const state = join(dir, 's.db');
    const out = join(dir, 'out.jsonl');
    const crawl = spawnCli(
      ['crawl', site.url, '--rate', 'inf', '--workers', '2', '--state', state, '--out', out],
      {
        timeoutMs: 100_000,
      },
    );
    // A hang guard only: a CLI child compiled by tsx on a loaded 2-core machine took over 20 s to
    // store its first 20 records in one CI run (with four other test suites running beside it).
    await until(() => crawl.done || readJsonl(out).records.length >= 20, '20 records', 50_000);
    expect(crawl.done, 'the crawl ended too soon to export mid-way').toBe(false);

    const exported = join(dir, 'mid.jsonl');
    const e = await runCli(['export', state, '--out', exported]);
    expect(e.code, e.stderr).toBe(0);
    const status = await runCli(['status', state, '--json']);
    expect(status.code, status.stderr).toBe(0);
    const mid = readJsonl(exported);
    expect(mid.bad).toEqual([]);
    expect(mid.records.length).toBeGreaterThanOrEqual(20);
    expect(mid.records.length).toBeLessThan(400);
    expect(crawl.done, 'the crawl ended before export and status were done').toBe(false);
    // What was exported is a prefix of what the crawl commits (completion order, same bytes).
    const s = JSON.parse(status.stdout) as CrawlStatus;
    expect(s.done).toBeGreaterThanOrEqual(mid.records.length);

    crawl.kill('SIGINT');
    const r = await crawl.exited;
    expect(r.code, r.stderr).toBe(0);
    expect(readFileSync(out, 'utf8').startsWith(readFileSync(exported, 'utf8'))).toBe(true);
  }, 120_000);
});

describe('--retry-failed', () => {
  it('re-queues the URLs that failed, and the output ends with each page once, all ok', async () => {
    const failing = ['/p/4', '/p/11', '/p/23'];
    // 503 on the first request of each failing path, then a normal page.
    const site = await startSite({
      pages: 50,
      faults: { unavailable: { paths: failing, times: 1, retryAfter: 0 } },
    });
    const { state, out, args } = await crawlWithState(site, ['--retries', '0']);
    const first = readJsonl(out).records;
    expect(first).toHaveLength(50);
    const failedUrls = first.filter((r) => r.error !== null).map((r) => r.url);
    expect(new Set(failedUrls)).toEqual(new Set(failing.map((p) => new URL(p, site.url).href)));

    // Rerunning without --retry-failed has nothing to do.
    const pageRequests = () => [...site.counts].reduce((n, [p, k]) => (p === '/robots.txt' ? n : n + k), 0);
    const requestsBefore = pageRequests();
    const idle = await runCli(args);
    expect(idle.code, idle.stderr).toBe(0);
    expect(pageRequests()).toBe(requestsBefore);
    expect(readJsonl(out).records.filter((r) => r.error !== null)).toHaveLength(3);

    // (Not site.reset(): that would also reset the fault's hit counters and fail them again.)
    const before = new Map(site.counts);
    const r = await runCli([...args, '--retry-failed']);
    expect(r.code, r.stderr).toBe(0);
    // Only the failed URLs were fetched again.
    const again = [...site.counts].filter(([p, n]) => p !== '/robots.txt' && n > (before.get(p) ?? 0));
    expect(again.map(([p]) => p).sort()).toEqual([...failing].sort());
    const { records, bad } = readJsonl(out);
    expect(bad).toEqual([]);
    expect(records).toHaveLength(50);
    expect(new Set(records.map((x) => x.url)).size).toBe(50);
    expect(records.filter((x) => x.error !== null)).toEqual([]);
    const status = JSON.parse((await runCli(['status', state, '--json'])).stdout) as CrawlStatus;
    expect(status.done).toBe(50);
    expect(status.failed).toBe(0);
  });
});

describe('the end of a crawl that stopped early', () => {
  it('says "rerun to resume" only when there is a state file to resume from', async () => {
    const site = await startSite({ pages: 30 });
    const dir = tempDir('trawl-end-');
    const common = ['crawl', site.url, '--rate', 'inf', '--workers', '1', '--max-pages', '2'];
    const inMemory = await runCli([...common, '--no-state', '--out', join(dir, 'm.jsonl')]);
    expect(inMemory.code, inMemory.stderr).toBe(0);
    expect(inMemory.stderr).toMatch(/\(ended: max-pages\)/);
    expect(inMemory.stderr).not.toMatch(/resume/);

    const withState = await runCli([...common, '--state', join(dir, 's.db'), '--out', join(dir, 's.jsonl')]);
    expect(withState.code, withState.stderr).toBe(0);
    expect(withState.stderr).toMatch(/\(ended: max-pages; rerun to resume\)/);
  });
});
