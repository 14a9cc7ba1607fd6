/**
 * Graceful and hard shutdown of `trawl crawl` (issue 3; SIGHUP since issue 10): the first
 * SIGINT/SIGTERM/SIGHUP stops new
 * requests, lets in-flight ones finish and be stored, prints the summary and exits 0; a second
 * signal aborts at once with 130. Either way the process exits by itself: the spawn helper's
 * hard timeout fails the test if a timer or socket keeps it alive.
 */
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { TestSite } from '../../src/testsite/server.js';
import {
  type CliProcess,
  cleanup,
  pagesRequested,
  readJsonl,
  spawnCli,
  startSite,
  tempDir,
  until,
} from '../helpers/cli.js';

afterEach(cleanup);

const WORKERS = 5;

/** Starts a crawl of `site` in memory with output to a temp JSONL file. */
function startCrawl(site: TestSite, extra: string[] = []): { proc: CliProcess; out: string } {
  const out = join(tempDir('trawl-signals-'), 'out.jsonl');
  const proc = spawnCli(
    ['crawl', site.url, '--rate', 'inf', '--no-state', '--workers', String(WORKERS), '--out', out, ...extra],
    { timeoutMs: 55_000 },
  );
  return { proc, out };
}

/** Waits until the crawl has stored at least `n` records (complete lines in its output). */
async function recordsExist(proc: CliProcess, out: string, n: number): Promise<void> {
  // A hang guard, not a speed limit: on a loaded machine the child alone can take 20 s to start.
  await until(() => proc.done || readJsonl(out).records.length >= n, `${n} records in ${out}`, 35_000);
  expect(proc.done, `the crawl ended before it was signalled:\n${proc.stderr()}`).toBe(false);
}

/**
 * First signal: everything requested is stored, nothing new is requested after the CLI
 * acknowledged the signal (beyond requests already on their way: at most one per worker).
 */
async function gracefulStop(signal: NodeJS.Signals): Promise<void> {
  const site = await startSite({ pages: 2000, latencyMs: 50 });
  const { proc, out } = startCrawl(site);
  await recordsExist(proc, out, 20);
  proc.kill(signal);
  const acked = await proc.waitForStderr(new RegExp(`${signal}: finishing in-flight`));
  const ackedAt = performance.timeOrigin + acked;
  const r = await proc.exited;
  const shown = `stderr:\n${r.stderr}`;
  expect(r.timedOut, `the CLI did not exit by itself after ${signal}; ${shown}`).toBe(false);
  expect(r.signal, shown).toBeNull();
  expect(r.code, shown).toBe(0);

  const { records, bad, endsClean } = readJsonl(out);
  expect(bad, 'torn or invalid lines in the output').toEqual([]);
  expect(endsClean).toBe(true);
  const requested = pagesRequested(site);
  // In-flight requests were finished and stored: one record per page requested, no more, no less.
  const urls = records.map((rec) => rec.url as string);
  expect(new Set(urls).size).toBe(urls.length);
  expect(records.length).toBe(requested.size);
  expect(new Set(urls)).toEqual(new Set([...requested.keys()].map((id) => site.pageUrl(id))));
  for (const [id, n] of requested) expect(n, `page ${id} requested ${n} times`).toBe(1);
  expect(records.every((rec) => rec.error === null && rec.status === 200)).toBe(true);
  // It really stopped early, and nothing was started after it acknowledged the signal.
  expect(records.length).toBeLessThan(site.site.pages);
  const late = site.requestTimes.filter((t) => t > ackedAt).length;
  expect(late, 'requests received after the signal was acknowledged').toBeLessThanOrEqual(WORKERS);

  // The summary is printed and agrees with the output.
  const m = /^pages:\s+(\d+) stored/m.exec(r.stderr);
  expect(m, shown).not.toBeNull();
  expect(Number(m![1])).toBe(records.length);
  expect(r.stderr).toContain(`results: ${out}`);
}

describe('signals', () => {
  it('SIGINT: in-flight requests finish and are stored, summary printed, exit 0', async () => {
    await gracefulStop('SIGINT');
  });

  it('SIGTERM behaves like SIGINT', async () => {
    await gracefulStop('SIGTERM');
  });

  it('SIGHUP (a closed terminal, ssh dropping) behaves like SIGTERM: graceful stop and summary', async () => {
    await gracefulStop('SIGHUP');
  });

  it('a second SIGINT aborts in-flight requests and exits 130 at once', async () => {
    await abortOnSecondSignal('SIGINT');
  });

  it('a second SIGHUP aborts like a second SIGINT', async () => {
    await abortOnSecondSignal('SIGHUP');
  });
});

/** Two signals: the second aborts requests a graceful stop would wait a minute for; exit 130. */
async function abortOnSecondSignal(signal: NodeJS.Signals): Promise<void> {
  // Every page but the home page answers after 60 s: after the first record the workers are
  // all stuck in requests that a graceful stop would wait for (the timeout is 2 minutes).
  const pages = 200;
  const slowPaths = Array.from({ length: pages - 1 }, (_, i) => `/p/${i + 1}`);
  const site = await startSite({ pages, faults: { slow: { paths: slowPaths, delayMs: 60_000 } } });
  const { proc, out } = startCrawl(site, ['--timeout', '2m']);
  await recordsExist(proc, out, 1);
  // The workers are waiting on slow pages.
  await until(() => site.total() >= 1 + 1 + WORKERS, 'the workers to request slow pages', 35_000);
  proc.kill(signal);
  await proc.waitForStderr(new RegExp(`${signal}: finishing in-flight`));
  const secondAt = performance.now();
  proc.kill(signal);
  const r = await proc.exited;
  const shown = `stderr:\n${r.stderr}`;
  expect(r.timedOut, `the CLI hung after the second ${signal}; ${shown}`).toBe(false);
  expect(r.code, shown).toBe(130);
  expect(r.stderr).toMatch(new RegExp(`${signal} again: aborted`));
  // A graceful stop would have waited ~60 s for the slow responses; the abort did not.
  expect(performance.now() - secondAt).toBeLessThan(20_000);
  const { records, bad, endsClean } = readJsonl(out);
  expect(bad).toEqual([]);
  expect(endsClean).toBe(true);
  expect(records.map((rec) => rec.url)).toEqual([site.url]);
}
