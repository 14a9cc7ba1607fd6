/**
 * A full disk (issue 10 §6): it must stop the crawl as a graceful stop does, with one line naming
 * the file and the problem and a distinct exit status, leaving no half-written line and a state
 * that opens and agrees with the output; a rerun on the still-full disk must refuse before any
 * request; and once space is freed a rerun resumes and ends with every page stored exactly once.
 * On a real full filesystem: a small tmpfs (mounting needs root; CI runs as root).
 */
import { readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { WARCParser, type WARCRecord } from 'warcio';
import { readStatus } from '../../src/crawl/state/status.js';
import { asStorageFull, StorageFullError } from '../../src/crawl/store/storage-full.js';
import { ensureWritableSpace, MIN_FREE_BYTES } from '../../src/crawl/store/writable-space.js';
import type { TestSite } from '../../src/testsite/server.js';
import { cleanup, readJsonl, runCli, sha256File, startSite, tempDir } from '../helpers/cli.js';
import { mountTmpfs, type Tmpfs, tmpfsUnavailable, unmountAll } from '../helpers/tmpfs.js';

afterEach(async () => {
  await cleanup(); // kills CLI children first, so nothing holds a file on the tmpfs
  unmountAll();
});

const noTmpfs = tmpfsUnavailable();
const skipped = noTmpfs ? ` (skipped: ${noTmpfs})` : '';

/** The exit status for a full disk (sysexits EX_IOERR; src/cli/exit-codes.ts EXIT.storageFull). */
const EXIT_STORAGE_FULL = 74;
/**
 * The test site: 1000 pages of 40 links each, about 2 MB of JSONL and more of state WAL, both
 * more than the free space.
 */
const PAGES = 1000;
const LINKS_PER_PAGE = 40;
/**
 * The tmpfs: big enough for the whole crawl once the filler is gone (the state's WAL is
 * checkpointed only every 10,000 pages, ~40 MB), but first filled to leave just above the
 * preflight's floor free, far below what the crawl needs.
 */
const DISK_BYTES = 64 * 1024 * 1024;
const LEAVE_FREE = MIN_FREE_BYTES + 192 * 1024;

/** Lines of `stderr` that are a stack frame or an error's constructor name: never shown to a user. */
function stackLines(stderr: string): string[] {
  return stderr.split('\n').filter((l) => /^\s+at\s|SqliteError|Error:|ENOSPC/.test(l));
}

/** The stderr lines that report the full disk. */
function fullLines(stderr: string): string[] {
  return stderr.split('\n').filter((l) => /no space left on device|disk is full/.test(l));
}

/** True when `line` says `<file>: <full-disk problem>` for one of `files` (the file as the subject). */
function namesFullFile(line: string, files: readonly string[]): boolean {
  return files.some(
    (f) => line.includes(`${f}: no space left on device`) || line.includes(`${f}: database or disk is full`),
  );
}

/**
 * The output as the crawl left it: its record URLs in order (refusing torn or invalid JSON lines,
 * which fail the test), and how many records lie within the committed mark `offset` (bytes for
 * JSONL, where the mark must be a line end; rows for SQLite).
 */
function readOutput(out: string, offset: number): { urls: string[]; committed: number } {
  if (out.endsWith('.sqlite')) {
    const db = new Database(out, { readonly: true });
    try {
      const urls = db.prepare('SELECT url FROM pages ORDER BY rowid').pluck().all() as string[];
      expect(offset).toBeLessThanOrEqual(urls.length);
      return { urls, committed: offset };
    } finally {
      db.close();
    }
  }
  const { records, bad, endsClean } = readJsonl(out);
  expect(bad, 'torn or invalid lines left in the output').toEqual([]);
  expect(endsClean, 'the output ends in a half-written line').toBe(true);
  expect(offset).toBeLessThanOrEqual(statSync(out).size);
  const prefix = readFileSync(out).subarray(0, offset).toString('utf8');
  expect(offset === 0 || prefix.endsWith('\n'), 'the committed mark is not at a line end').toBe(true);
  return { urls: records.map((r) => r.url as string), committed: prefix.split('\n').length - 1 };
}

/** The output holds every page of the site exactly once, and the state agrees. */
function expectExactlyOnce(site: TestSite, out: string, state: string): void {
  const status = readStatus(state);
  const { urls, committed } = readOutput(out, status.out?.offset ?? 0);
  const counts = new Map<string, number>();
  for (const u of urls) counts.set(u, (counts.get(u) ?? 0) + 1);
  expect(
    [...counts].filter(([, n]) => n > 1).map(([u]) => u),
    'pages stored twice',
  ).toEqual([]);
  const missing: string[] = [];
  for (let id = 0; id < PAGES; id++) if (!counts.has(site.pageUrl(id))) missing.push(site.pageUrl(id));
  expect(missing, 'pages never stored').toEqual([]);
  expect(urls.length).toBe(PAGES);
  expect(committed, 'records past the committed mark').toBe(PAGES);
  expect(status.done).toBe(PAGES);
  expect(status.queued).toBe(0);
}

/** Where the full disk is: both files on it, only the output (JSONL or SQLite), or only the state. */
const LAYOUTS = [
  { full: 'the state and the output', state: true, out: true, ext: 'jsonl' },
  { full: 'the output only', state: false, out: true, ext: 'jsonl' },
  { full: 'an SQLite output only', state: false, out: true, ext: 'sqlite' },
  { full: 'the state only', state: true, out: false, ext: 'jsonl' },
] as const;

describe.skipIf(noTmpfs !== null)(`a full disk${skipped}`, () => {
  for (const layout of LAYOUTS) {
    it(`on ${layout.full}: stops with one line and exit 74, refuses a rerun before any request, resumes exactly once after space is freed`, async () => {
      const site = await startSite({ pages: PAGES, linksPerPage: LINKS_PER_PAGE });
      const disk = mountTmpfs(DISK_BYTES);
      const elsewhere = tempDir('trawl-disk-full-');
      const state = join(layout.state ? disk.dir : elsewhere, 's.db');
      const out = join(layout.out ? disk.dir : elsewhere, `out.${layout.ext}`);
      const filler = disk.fill(LEAVE_FREE);
      const onDisk = [layout.state ? state : null, layout.out ? out : null].filter((p) => p !== null);
      const args = [
        'crawl',
        site.url,
        '--rate',
        'inf',
        '--workers',
        '8',
        '--state',
        state,
        '--out',
        out,
        '--quiet',
      ];

      // 1. The crawl fills the disk and stops gracefully.
      const first = await runCli(args, { timeoutMs: 60_000 });
      expect(first.timedOut, first.stderr).toBe(false);
      expect(first.code, first.stderr).toBe(EXIT_STORAGE_FULL);
      expect(stackLines(first.stderr), first.stderr).toEqual([]);
      const reported = fullLines(first.stderr);
      expect(reported, first.stderr).toHaveLength(1);
      expect(namesFullFile(reported[0]!, onDisk), `"${reported[0]}" names a file on the full disk`).toBe(
        true,
      );
      // No half-written record; the state opens and marks done exactly the records within its
      // committed mark of the output (anything after the mark is cut on resume).
      const status = readStatus(state);
      expect(readOutput(out, status.out?.offset ?? 0).committed).toBe(status.done);
      expect(status.done).toBeGreaterThan(0);
      expect(status.done).toBeLessThan(PAGES);

      // 2. A rerun on the still-full disk refuses before any request and changes nothing.
      const requests = site.total();
      const hashes = [sha256File(state), sha256File(out)];
      const refused = await runCli(args, { timeoutMs: 30_000 });
      expect(refused.code, refused.stderr).toBe(EXIT_STORAGE_FULL);
      expect(site.total(), 'requests made by the refused rerun').toBe(requests);
      expect(stackLines(refused.stderr), refused.stderr).toEqual([]);
      const again = fullLines(refused.stderr);
      expect(again, refused.stderr).toHaveLength(1);
      expect(namesFullFile(again[0]!, onDisk), `"${again[0]}" names a file on the full disk`).toBe(true);
      expect([sha256File(state), sha256File(out)]).toEqual(hashes);

      // 3. Space freed: the rerun resumes and ends with every page stored exactly once.
      rmSync(filler);
      const last = await runCli(args, { timeoutMs: 60_000 });
      expect(last.timedOut, last.stderr).toBe(false);
      expect(last.code, last.stderr).toBe(0);
      expectExactlyOnce(site, out, state);
    }, 180_000); // three CLI runs of a 1000-page crawl on two shared cores; the CLI timeouts are the net
  }
});

describe.skipIf(noTmpfs !== null)(`a full disk under the WARC output${skipped}`, () => {
  it('stops with one line naming the WARC file and exit 74, leaves no torn record, and resumes exactly once', async () => {
    const site = await startSite({ pages: PAGES, linksPerPage: LINKS_PER_PAGE });
    const disk = mountTmpfs(DISK_BYTES);
    const elsewhere = tempDir('trawl-disk-full-warc-');
    const state = join(elsewhere, 's.db');
    const out = join(elsewhere, 'out.jsonl');
    const warc = join(disk.dir, 'crawl.warc.gz');
    const filler = disk.fill(LEAVE_FREE);
    const args = ['crawl', site.url, '--rate', 'inf', '--workers', '8', '--state', state, '--out', out];
    args.push('--warc', warc, '--quiet');

    const first = await runCli(args, { timeoutMs: 60_000 });
    expect(first.code, first.stderr).toBe(EXIT_STORAGE_FULL);
    expect(stackLines(first.stderr), first.stderr).toEqual([]);
    const reported = fullLines(first.stderr);
    expect(reported, first.stderr).toHaveLength(1);
    expect(namesFullFile(reported[0]!, [warc]), reported[0]).toBe(true);
    // The WARC holds exactly the committed pages' records, and nothing torn.
    const status = readStatus(state);
    expect(status.done).toBeGreaterThan(0);
    expect(status.done).toBeLessThan(PAGES);
    expect(statSync(warc).size).toBe(status.warc?.offset);
    expect((await warcResponses(warc)).size).toBe(status.done);

    rmSync(filler);
    const last = await runCli(args, { timeoutMs: 60_000 });
    expect(last.code, last.stderr).toBe(0);
    expectExactlyOnce(site, out, state);
    const responses = await warcResponses(warc);
    expect(responses.size).toBe(PAGES);
    expect(
      [...responses.values()].every((n) => n === 1),
      'a page archived twice',
    ).toBe(true);
  }, 180_000);
});

/** Response records per page URL in a WARC file (robots.txt left out), read by warcio.js to the end. */
async function warcResponses(file: string): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  for await (const r of new WARCParser([readFileSync(file)])) {
    const rec = r as WARCRecord;
    await rec.readFully();
    const uri = rec.warcTargetURI ?? '';
    if (rec.warcType === 'response' && !uri.endsWith('/robots.txt'))
      counts.set(uri, (counts.get(uri) ?? 0) + 1);
  }
  return counts;
}

describe.skipIf(noTmpfs !== null)(`ensureWritableSpace${skipped}`, () => {
  let disk: Tmpfs;

  it('refuses a directory whose filesystem has less than the floor free, naming the file and the free space', () => {
    disk = mountTmpfs(2 * 1024 * 1024);
    disk.fill(MIN_FREE_BYTES - 64 * 1024);
    const file = join(disk.dir, 'out.jsonl');
    expect(() => ensureWritableSpace([file])).toThrow(StorageFullError);
    expect(() => ensureWritableSpace([file])).toThrow(
      `${file}: no space left on device (960 KiB free; a crawl needs at least 1.0 MiB)`,
    );
  });

  it('refuses a full filesystem by its test write even when the floor is 0 (as a quota would)', () => {
    disk = mountTmpfs(256 * 1024);
    disk.fill(16 * 1024);
    const state = join(disk.dir, 's.db');
    let err: unknown;
    try {
      ensureWritableSpace([undefined, state], { minFreeBytes: 0 });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(StorageFullError);
    expect((err as StorageFullError).path).toBe(state);
    expect((err as Error).message).toBe(`${state}: no space left on device`);
  });

  it('passes a filesystem with room and leaves nothing behind; ignores what the opens report (missing directory)', () => {
    disk = mountTmpfs(4 * 1024 * 1024);
    const before = disk.free();
    ensureWritableSpace([join(disk.dir, 's.db'), join(disk.dir, 'out.csv'), undefined]);
    expect(disk.free()).toBe(before);
    expect(() => ensureWritableSpace([join(disk.dir, 'missing', 'out.jsonl')])).not.toThrow();
  });

  it('asStorageFull takes an SQLite I/O error for a full disk only when its filesystem is nearly full', () => {
    disk = mountTmpfs(256 * 1024);
    const file = join(disk.dir, 's.db');
    const ioerr = Object.assign(new Error('disk I/O error'), { code: 'SQLITE_IOERR_SHMSIZE' });
    expect(asStorageFull(ioerr, file)).toBeNull();
    disk.fill(0);
    expect(asStorageFull(ioerr, file)?.message).toBe(`${file}: database or disk is full`);
  });
});
