import { readFileSync } from 'node:fs';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { Crawl } from '../../src/crawl/crawler.js';
import { type CrawlOptions, UsageError } from '../../src/crawl/options.js';
import type { PageRecord } from '../../src/crawl/record.js';
import { formatSummary } from '../../src/crawl/summary.js';
import { startCrawl, useSites } from '../helpers/crawl.js';
import { expectChanges, idOf } from '../helpers/recrawl.js';
import { useScratch } from '../helpers/scratch.js';

const site = useSites();
const scratch = useScratch('trawl-recrawl-');
const SITE = { pages: 120, linksPerPage: 5, pageBytes: 1200, seed: 5 } as const;
const RECRAWL = { changeFraction: 0.1, goneFraction: 0.05, growFraction: 0.5 } as const;

/** Crawls to the end and returns the records it stored. */
async function crawlAll(opts: Partial<CrawlOptions> & { seeds: string[] }): Promise<PageRecord[]> {
  const { crawl, records } = startCrawl(opts);
  await crawl.done;
  return records;
}

describe('--recrawl', () => {
  it('asks with validators, stores 304s as unchanged, and finds exactly the changed, gone and new pages', async () => {
    const s = await site({ ...SITE, recrawl: RECRAWL });
    const dir = scratch.dir();
    const state = `${dir}/s.db`;
    const first = await crawlAll({ seeds: [s.url], state, depth: 100 });
    expect(first).toHaveLength(SITE.pages);
    expect(first.every((r) => r.change === undefined)).toBe(true);

    const diff = s.advance();
    s.reset();
    const out = `${dir}/changes.jsonl`;
    const pass = startCrawl({ seeds: [s.url], state, depth: 100, recrawl: true, out });
    const summary = await pass.crawl.done;
    const again = pass.records;
    const unchanged = expectChanges(again, diff, SITE.pages);
    // The summary (and /metrics' trawl_page_changes_total) count the same.
    const gone = diff.gone404.length + diff.gone410.length;
    expect(summary.changes).toEqual({
      new: diff.added.length,
      changed: diff.changed.length,
      unchanged,
      gone,
    });
    expect(formatSummary(summary)).toContain(
      `changes:  ${diff.added.length} new, ${diff.changed.length} changed, ${unchanged} unchanged, ${gone} gone`,
    );
    expect(await pass.crawl.metrics.registry.metrics()).toContain(
      `trawl_page_changes_total{change="unchanged"} ${unchanged}`,
    );
    // Every known page was asked once, conditionally; the unchanged ones answered without a body.
    expect(again).toHaveLength(SITE.pages + diff.added.length);
    for (const r of again) expect(s.counts.get(new URL(r.url).pathname)).toBe(1);
    const kept = again.find((r) => r.change === 'unchanged')!;
    const before = first.find((r) => r.url === kept.url)!;
    expect(kept.title).toBe(before.title);
    expect(kept.links).toEqual(before.links);
    expect(kept.status).toBe(before.status);
    expect(Date.parse(kept.fetched_at)).toBeGreaterThanOrEqual(Date.parse(before.fetched_at));
    // The output holds this pass's records; the state's results are the latest of each page.
    const lines = readFileSync(out, 'utf8').trim().split('\n');
    expect(lines).toHaveLength(again.length);
    const db = new Database(state, { readonly: true });
    const rows = db.prepare('SELECT record, etag, body_hash FROM results').all() as {
      record: string;
      etag: string | null;
      body_hash: string | null;
    }[];
    db.close();
    expect(rows).toHaveLength(SITE.pages + diff.added.length);
    const changedUrl = again.find((r) => r.change === 'changed')!.url;
    const row = rows.find((x) => (JSON.parse(x.record) as PageRecord).url === changedUrl)!;
    expect(row.etag).toBe(s.generations!.etagOf(idOf(changedUrl)));
    expect(row.body_hash).toMatch(/^[A-Za-z0-9+/]{27}=$/);
  });

  it('--changed-only writes only new, changed and gone pages; a second recrawl with nothing changed writes none', async () => {
    const s = await site({ ...SITE, recrawl: RECRAWL });
    const dir = scratch.dir();
    const state = `${dir}/s.db`;
    await crawlAll({ seeds: [s.url], state });
    const diff = s.advance();
    const out = `${dir}/changes.jsonl`;
    await crawlAll({ seeds: [s.url], state, recrawl: true, changedOnly: true, out });
    const written = readFileSync(out, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as PageRecord);
    const expected = diff.changed.length + diff.gone404.length + diff.gone410.length + diff.added.length;
    expect(written).toHaveLength(expected);
    expect(written.some((r) => r.change === 'unchanged')).toBe(false);
    // Nothing changed since: every page answers 304, the output is empty.
    const out2 = `${dir}/changes2.jsonl`;
    const third = await crawlAll({ seeds: [s.url], state, recrawl: true, changedOnly: true, out: out2 });
    const live = third.filter((r) => r.change !== 'gone');
    expect(live.every((r) => r.change === 'unchanged')).toBe(true);
    expect(readFileSync(out2, 'utf8')).toBe(
      third
        .filter((r) => r.change === 'gone')
        .map((r) => `${JSON.stringify(r)}\n`)
        .join(''),
    );
  });

  it('--recrawl-after visits only pages fetched at least that long ago', async () => {
    const s = await site({ ...SITE, pages: 30, recrawl: RECRAWL });
    const dir = scratch.dir();
    const state = `${dir}/s.db`;
    await crawlAll({ seeds: [s.url], state });
    // Age ten pages' fetch time by two hours.
    const db = new Database(state);
    const old = db
      .prepare("SELECT url FROM results WHERE url LIKE '%/p/1_' ORDER BY url")
      .pluck()
      .all() as string[];
    db.prepare("UPDATE results SET done_at = done_at - 7200000 WHERE url LIKE '%/p/1_'").run();
    db.close();
    s.reset();
    const again = await crawlAll({ seeds: [s.url], state, recrawl: true, recrawlAfter: 3_600_000 });
    expect(again.map((r) => r.url).sort()).toEqual(old);
    expect(again.every((r) => r.change === 'unchanged')).toBe(true);
  });

  it('--recrawl-after auto: halves the interval of a changed page, doubles an unchanged one, and visits by it', async () => {
    const s = await site({ ...SITE, pages: 40, recrawl: { ...RECRAWL, goneFraction: 0 } });
    const dir = scratch.dir();
    const state = `${dir}/s.db`;
    await crawlAll({ seeds: [s.url], state });
    // Nothing is due yet: every page's first interval is a day.
    expect(await crawlAll({ seeds: [s.url], state, recrawl: true, recrawlAfter: 'auto' })).toHaveLength(0);
    const db = new Database(state);
    db.prepare('UPDATE results SET done_at = done_at - 86400000').run();
    const diff = s.advance();
    const again = await crawlAll({ seeds: [s.url], state, recrawl: true, recrawlAfter: 'auto' });
    expect(again).toHaveLength(40 + diff.added.length);
    const interval = (id: number) =>
      db.prepare('SELECT interval_ms FROM results WHERE url = ?').pluck().get(s.pageUrl(id)) as number | null;
    const changed = diff.changed[0]!;
    const same = s.generations!.liveIds().find((id) => id > 0 && !diff.changed.includes(id) && id < 40)!;
    expect(interval(changed)).toBe(43_200_000);
    expect(interval(same)).toBe(172_800_000);
    // A day later only the changed pages (half-day interval) and the new ones (a day) are due.
    db.prepare('UPDATE results SET done_at = done_at - 86400000').run();
    db.close();
    const third = await crawlAll({ seeds: [s.url], state, recrawl: true, recrawlAfter: 'auto' });
    expect(third.map((r) => idOf(r.url)).sort((a, b) => a - b)).toEqual(
      [...diff.changed, ...diff.added].sort((a, b) => a - b),
    );
  });

  it('--recrawl-after auto visits a page whose sitemap lastmod is later than its fetch, whatever its interval', async () => {
    const s = await site({ ...SITE, pages: 40, recrawl: { ...RECRAWL, goneFraction: 0, growFraction: 0 } });
    const state = `${scratch.dir()}/s.db`;
    const sitemaps = [`${s.url}sitemap.xml`];
    await crawlAll({ seeds: [s.url], sitemaps, state });
    // Every page fetched on 2024-12-31 with a ten-year interval: none is due by its interval.
    // (The site's base pages were last modified in 2024 before that day; a new version in 2025.)
    const db = new Database(state);
    db.prepare('UPDATE results SET done_at = ?, interval_ms = ?').run(
      Date.UTC(2024, 11, 31),
      10 * 365 * 86_400_000,
    );
    db.close();
    const diff = s.advance();
    expect(diff.changed.length).toBeGreaterThan(0);
    const again = await crawlAll({ seeds: [s.url], sitemaps, state, recrawl: true, recrawlAfter: 'auto' });
    expect(again.map((r) => idOf(r.url)).sort((a, b) => a - b)).toEqual([...diff.changed]);
    expect(again.every((r) => r.change === 'changed')).toBe(true);
  });

  it('recrawls a state written before recrawls existed (schema 4): every page is fetched whole and counts as changed', async () => {
    const s = await site({ ...SITE, pages: 20, recrawl: RECRAWL });
    const state = `${scratch.dir()}/s.db`;
    await crawlAll({ seeds: [s.url], state });
    // What a schema-4 file looks like: no recrawl columns.
    const db = new Database(state);
    for (const c of ['etag', 'last_modified', 'body_hash', 'interval_ms', 'capture_id', 'captured_at'])
      db.exec(`ALTER TABLE results DROP COLUMN ${c}`);
    db.pragma('user_version = 4');
    db.prepare("UPDATE meta SET value = '4' WHERE key = 'schema_version'").run();
    db.close();
    s.reset();
    const again = await crawlAll({ seeds: [s.url], state, recrawl: true });
    expect(again).toHaveLength(20);
    expect(again.every((r) => r.change === 'changed' && r.status === 200)).toBe(true);
    // Now it has validators: the next pass is all 304s.
    const third = await crawlAll({ seeds: [s.url], state, recrawl: true });
    expect(third.every((r) => r.change === 'unchanged')).toBe(true);
  });

  it('refuses bad recrawl options before any request', async () => {
    const dir = scratch.dir();
    const seeds = ['http://127.0.0.1:9/'];
    expect(() => new Crawl({ seeds, recrawl: true })).toThrow(/--recrawl needs --state/);
    expect(() => new Crawl({ seeds, recrawl: true, state: `${dir}/none.db` })).toThrow(
      /not an existing trawl state file/,
    );
    expect(() => new Crawl({ seeds, state: `${dir}/x.db`, recrawlAfter: -1 })).toThrow(UsageError);
    expect(() => new Crawl({ seeds, changedOnly: true })).toThrow(/--changed-only needs --recrawl/);
  });
});
