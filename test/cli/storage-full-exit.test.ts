/**
 * Issue 10 §6, disk full, the CLI's part: a full disk ends `trawl` with one line naming the file
 * (never a stack trace) and its own exit status, 74 (sysexits EX_IOERR), whether it is found at
 * open (a rerun on a still-full disk, refused before any request) or stops a running crawl
 * (stopReason 'storage-full'). The engine's part, and a crawl filling a real disk mid-way, are
 * tested in the disk-full suite.
 */
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { endOfCrawl } from '../../src/cli/end-of-crawl.js';
import { EXIT, EXIT_CODES_HELP } from '../../src/cli/exit-codes.js';
import { failureOf } from '../../src/cli/failure.js';
import { StorageFullError } from '../../src/crawl/store/storage-full.js';
import type { CrawlSummary } from '../../src/crawl/summary.js';
import { UsageError } from '../../src/crawl/usage-error.js';
import { cleanup, runCli, startSite } from '../helpers/cli.js';
import { mountTmpfs, tmpfsUnavailable, unmountAll } from '../helpers/tmpfs.js';

afterEach(async () => {
  await cleanup();
  unmountAll();
});

/** A summary of a crawl that ended for `stopReason`, its other numbers plausible. */
function summary(stopReason: CrawlSummary['stopReason'], extra: Partial<CrawlSummary> = {}): CrawlSummary {
  return {
    stopReason,
    pages: 3,
    ok: 3,
    items: 0,
    failed: 0,
    failedByKind: {},
    skipped: 0,
    skippedByKind: {},
    sitemapErrors: 0,
    requests: 3,
    retries: 0,
    bytes: 300,
    durationMs: 100,
    pagesPerSecond: 30,
    frontier: { queued: 5, leased: 0, done: 3, failed: 0, seen: 8, items: 0 },
    resumable: true,
    ...extra,
  };
}

describe('the exit status of a full disk', () => {
  it('is 74, distinct from every other status, and listed in --help', async () => {
    const codes = Object.values(EXIT);
    expect(new Set(codes).size).toBe(codes.length);
    expect(EXIT.storageFull).toBe(74);
    expect(EXIT_CODES_HELP).toMatch(/^ {2}74 +storage full/m);
    const r = await runCli(['--help']);
    expect(r.stdout).toContain(EXIT_CODES_HELP.trim());
  });

  it('a StorageFullError thrown at open is one line naming the file, exit 74', () => {
    const f = failureOf(new StorageFullError('/data/out.jsonl'));
    expect(f).toEqual({
      line: 'trawl: /data/out.jsonl: no space left on device; free some space and run again',
      code: 74,
    });
    // Bad usage stays 2, an unexpected error stays 1 with its stack.
    expect(failureOf(new UsageError('--rate must be positive')).code).toBe(2);
    const bug = failureOf(new TypeError('x is undefined'));
    expect(bug.code).toBe(1);
    expect(bug.line).toMatch(/TypeError: x is undefined\n\s+at /);
  });

  it('a crawl stopped by a full disk prints one line naming the file and whether a rerun resumes, exit 74', () => {
    const storageError = { path: '/data/s.db', message: '/data/s.db: database or disk is full' };
    const resumable = endOfCrawl(summary('storage-full', { storageError }));
    expect(resumable.code).toBe(74);
    expect(resumable.errors).toEqual([
      'trawl: /data/s.db: database or disk is full; the crawl stopped: free some space, then rerun the same command to resume',
    ]);
    const inMemory = endOfCrawl(summary('storage-full', { storageError, resumable: false }));
    expect(inMemory.errors).toHaveLength(1);
    expect(inMemory.errors[0]).toMatch(
      /^trawl: \/data\/s\.db: database or disk is full; .*nothing to resume/,
    );
    expect(inMemory.errors[0]).not.toMatch(/rerun/);
    for (const reason of ['done', 'stopped', 'max-pages', 'max-time'] as const) {
      expect(endOfCrawl(summary(reason))).toEqual({ errors: [], code: 0 });
    }
  });

  describe.skipIf(tmpfsUnavailable() !== null)(
    `on a real full disk (${tmpfsUnavailable() ?? 'tmpfs'})`,
    () => {
      it('a crawl refused at open on a full disk: one line naming the output, exit 74, no request', async () => {
        const fs = mountTmpfs(1024 * 1024);
        fs.fill(0);
        const site = await startSite({ pages: 3 });
        const out = join(fs.dir, 'out.jsonl');
        const r = await runCli(['crawl', site.url, '--no-state', '--out', out]);
        const lines = r.stderr.split('\n').filter((l) => l.trim() !== '');
        const shown = `stderr:\n${r.stderr}`;
        expect(r.code, shown).toBe(74);
        expect(lines, shown).toHaveLength(1);
        expect(lines[0]).toMatch(
          new RegExp(`^trawl: ${out.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: no space left on device`),
        );
        expect(lines[0]).not.toMatch(/^\s+at /m);
        expect(site.total()).toBe(0);
      });
    },
  );
});
