/**
 * --warc on real crawls, read back by warcio.js (an independent reader): every fetch of the crawl
 * (pages, redirects, robots.txt) is one request + response pair, every page is in the WARC exactly
 * once, a recrawl writes revisit records for unchanged pages, and `trawl export --out x.cdxj`
 * (exportCdxj) agrees with the index warcio.js builds for the same file.
 */
import { createReadStream, readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CDXIndexer, WARCParser, type WARCRecord } from 'warcio';
import type { CrawlOptions } from '../../src/crawl/options.js';
import type { PageRecord } from '../../src/crawl/record.js';
import { exportCdxj } from '../../src/crawl/state/export.js';
import { startCrawl, useSites } from '../helpers/crawl.js';
import { useScratch } from '../helpers/scratch.js';

const site = useSites();
const scratch = useScratch('trawl-warc-crawl-');

async function crawlAll(opts: Partial<CrawlOptions> & { seeds: string[] }): Promise<PageRecord[]> {
  const { crawl, records } = startCrawl(opts);
  await crawl.done;
  return records;
}

interface Rec {
  type: string;
  uri: string;
  id: string;
  concurrentTo: string | null;
  status: number | null;
  profile: string | null;
  refersTo: string | null;
}

async function readWarc(file: string): Promise<Rec[]> {
  const out: Rec[] = [];
  for await (const r of new WARCParser([readFileSync(file)])) {
    const rec = r as WARCRecord;
    await rec.readFully();
    const h = rec.warcHeaders.headers as Headers;
    out.push({
      type: rec.warcType ?? '',
      uri: rec.warcTargetURI ?? '',
      id: h.get('WARC-Record-ID') ?? '',
      concurrentTo: h.get('WARC-Concurrent-To'),
      status: rec.warcType === 'request' ? null : Number(rec.httpHeaders?.statusCode ?? Number.NaN),
      profile: h.get('WARC-Profile'),
      refersTo: h.get('WARC-Refers-To'),
    });
  }
  return out;
}

const SITE = { pages: 60, linksPerPage: 4, pageBytes: 2000, seed: 9 } as const;

describe('--warc', () => {
  it('archives every fetch once: pages, redirect hops and robots.txt, each response with its request', async () => {
    const s = await site(SITE);
    const dir = scratch.dir();
    const warc = `${dir}/crawl.warc.gz`;
    const chain = `${s.url}fault/redirect/302/2`;
    const records = await crawlAll({ seeds: [s.url, chain], state: `${dir}/s.db`, warc });
    expect(records.length).toBe(SITE.pages + 1);
    expect(records.find((r) => r.url === chain)?.final_url).toBe(`${s.url}fault/landing`);
    const recs = await readWarc(warc);
    expect(recs[0]!.type).toBe('warcinfo');
    const responses = recs.filter((r) => r.type === 'response');
    const requests = recs.filter((r) => r.type === 'request');
    // One response record per request the server answered, and each request record points at it.
    expect(responses).toHaveLength(s.total());
    expect(requests).toHaveLength(s.total());
    const ids = new Set(responses.map((r) => r.id));
    for (const q of requests) expect(ids.has(q.concurrentTo!)).toBe(true);
    const byPath = new Map<string, number>();
    for (const r of responses) {
      const p = new URL(r.uri).pathname + new URL(r.uri).search;
      byPath.set(p, (byPath.get(p) ?? 0) + 1);
    }
    for (const [path, n] of s.counts) expect(byPath.get(path), path).toBe(n);
    expect(byPath.get('/robots.txt')).toBe(1);
    // Each page's final response is archived once.
    for (const r of records) expect(responses.filter((x) => x.uri === (r.final_url ?? r.url)).length).toBe(1);
  });

  it('archives the sitemaps it read', async () => {
    const s = await site({ ...SITE, pages: 30 });
    const warc = `${scratch.dir()}/crawl.warc.gz`;
    const records = await crawlAll({ seeds: [s.url], sitemaps: [`${s.url}sitemap.xml`], warc });
    expect(records).toHaveLength(30);
    const recs = await readWarc(warc);
    const sitemapPaths = [...s.counts.keys()].filter((p) => p.startsWith('/sitemap'));
    expect(sitemapPaths.length).toBeGreaterThan(0);
    for (const p of sitemapPaths)
      expect(
        recs.filter((r) => r.type === 'response' && new URL(r.uri).pathname === p),
        p,
      ).toHaveLength(1);
  });

  it('a recrawl appends revisit records for unchanged pages and responses for changed ones; CDXJ agrees with warcio', async () => {
    const s = await site({ ...SITE, recrawl: { changeFraction: 0.1, goneFraction: 0, growFraction: 0 } });
    const dir = scratch.dir();
    const warc = `${dir}/crawl.warc.gz`;
    const state = `${dir}/s.db`;
    await crawlAll({ seeds: [s.url], state, warc });
    const first = await readWarc(warc);
    const diff = s.advance();
    const again = await crawlAll({ seeds: [s.url], state, warc, recrawl: true });
    const recs = await readWarc(warc);
    expect(recs.slice(0, first.length)).toEqual(first); // the first pass's records stay as they were
    const added = recs.slice(first.length);
    const revisits = added.filter((r) => r.type === 'revisit');
    const unchanged = again.filter((r) => r.change === 'unchanged');
    expect(revisits).toHaveLength(unchanged.length);
    expect(revisits.every((r) => r.profile?.endsWith('/server-not-modified'))).toBe(true);
    // A revisit refers to the response record that holds the page's content.
    const firstIds = new Map(first.filter((r) => r.type === 'response').map((r) => [r.uri, r.id]));
    for (const r of revisits) expect(r.refersTo).toBe(firstIds.get(r.uri));
    const changedPages = added.filter(
      (r) => r.type === 'response' && r.status === 200 && !r.uri.endsWith('/robots.txt'),
    );
    expect(changedPages).toHaveLength(diff.changed.length);

    const cdxj = `${dir}/pages.cdxj`;
    expect(exportCdxj(state, cdxj)).toBe(
      recs.filter((r) => r.type === 'response' || r.type === 'revisit').length,
    );
    const indexer = new CDXIndexer({ format: 'cdxj' });
    const theirs: string[] = [];
    for await (const res of indexer.iterIndex([{ filename: basename(warc), reader: createReadStream(warc) }]))
      theirs.push(indexer.serialize(res as Record<string, unknown>).replace(/\n$/, ''));
    theirs.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    expect(readFileSync(cdxj, 'utf8').trim().split('\n')).toEqual(theirs);
  });
});
