// RecordBuilder's recrawl verdicts (PageRecord.change) for each kind of response, on hand-made
// outcomes: the end-to-end recrawl tests (recrawl.test.ts) cover them against a live site.
import { describe, expect, it } from 'vitest';
import type { Parsed } from '../../src/crawl/engine/outcome.js';
import { RecordBuilder } from '../../src/crawl/engine/page-record.js';
import { bodyHash } from '../../src/crawl/fetch/body-hash.js';
import type { FetchResult } from '../../src/crawl/fetch/fetch-page.js';
import type { FrontierItem, PriorFetch } from '../../src/crawl/frontier/frontier.js';
import { type CrawlOptions, DEFAULTS } from '../../src/crawl/options.js';
import type { PageRecord } from '../../src/crawl/record.js';

const URL_ = 'http://site.test/p/1';
const BODY = Buffer.from('<html><body>same</body></html>');
const options = { ...DEFAULTS, seeds: [URL_], recrawl: true, state: 'x.db' } as CrawlOptions;

function priorOf(status: number, hash: string | null): PriorFetch {
  const record: PageRecord = {
    url: URL_,
    final_url: URL_,
    status,
    depth: 1,
    referrer: null,
    title: 'Before',
    description: null,
    canonical: null,
    links_count: 0,
    links: [],
    content_type: 'text/html',
    bytes: BODY.length,
    fetched_at: '2025-01-01T00:00:00.000Z',
    duration_ms: 9,
    attempts: 1,
    error: status >= 400 ? `http: ${status}` : null,
    lastmod: null,
  };
  return {
    record: JSON.stringify(record),
    fetchedAt: Date.UTC(2025, 0, 1),
    etag: '"v1"',
    lastModified: null,
    hash,
    intervalMs: null,
  };
}

function fetched(status: number, body: Buffer, prior: PriorFetch | undefined, discarded = false): Parsed {
  const item: FrontierItem = { url: URL_, host: 'site.test', depth: 1, referrer: null, attempts: 0 };
  if (prior !== undefined) item.prior = prior;
  const res: FetchResult = {
    url: URL_,
    finalUrl: URL_,
    status,
    headers: status === 304 ? { etag: '"v1"' } : { etag: '"v2"' },
    contentType: status === 304 ? null : 'text/html',
    mime: status === 304 ? null : 'text/html',
    charset: null,
    body: discarded ? Buffer.alloc(0) : body,
    text: null,
    bytes: discarded ? 0 : body.length,
    redirects: [],
    durationMs: 3.4,
    retryAfterMs: null,
    discarded,
  };
  return {
    outcome: { kind: 'fetched', item, host: undefined as never, res, attempts: 1 },
    page: null,
    parseError: null,
  };
}

describe('RecordBuilder: what a recrawl found', () => {
  const build = (p: Parsed) => new RecordBuilder(options, () => {}).build(p).completion;

  it('new without a prior fetch, gone for 404 and 410', () => {
    expect(build(fetched(200, BODY, undefined)).record.change).toBe('new');
    expect(build(fetched(404, BODY, priorOf(200, bodyHash(BODY)))).record.change).toBe('gone');
    expect(build(fetched(410, BODY, priorOf(200, bodyHash(BODY)))).record.change).toBe('gone');
  });

  it('unchanged for the same status and body hash; changed for another body, status or no hash', () => {
    const same = priorOf(200, bodyHash(BODY));
    expect(build(fetched(200, BODY, same)).record.change).toBe('unchanged');
    expect(build(fetched(200, Buffer.from('<p>other</p>'), same)).record.change).toBe('changed');
    expect(build(fetched(200, BODY, priorOf(203, bodyHash(BODY)))).record.change).toBe('changed');
    expect(build(fetched(200, BODY, priorOf(200, null))).record.change).toBe('changed');
    expect(build(fetched(200, BODY, same, true)).record.change).toBe('changed');
  });

  it('a 304 is the prior record refreshed, with its items kept', () => {
    const prior = priorOf(200, bodyHash(BODY));
    const c = build(fetched(304, Buffer.alloc(0), prior));
    expect(c.unchanged).toBe(true);
    expect(c.links).toEqual([]);
    const before = JSON.parse(prior.record) as PageRecord;
    expect(c.record).toEqual({
      ...before,
      fetched_at: c.record.fetched_at,
      duration_ms: 3,
      attempts: 1,
      change: 'unchanged',
    });
    expect(c.record.fetched_at).not.toBe(before.fetched_at);
    expect(c.version).toMatchObject({ etag: '"v1"', hash: prior.hash });
  });
});
