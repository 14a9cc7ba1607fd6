import type { FrontierItem } from '../../src/crawl/frontier/frontier.js';
import type { PageRecord } from '../../src/crawl/record.js';

/** A start-URL FrontierItem for `url` (depth 0, no referrer, no attempts), with `extra` on top. */
export function item(url: string, extra: Partial<FrontierItem> = {}): FrontierItem {
  return { url, host: new URL(url).host, depth: 0, referrer: null, attempts: 0, ...extra };
}

/**
 * The PageRecord of a fetched `it`, fixed apart from its URL, depth, referrer and links (so two
 * runs compare equal): status 200 and no error, or status null with `error` when one is given;
 * the URLs of `links` as its links; fetched at 2026-01-01T00:00:00.000Z.
 */
export function record(
  it: FrontierItem,
  error: string | null = null,
  links: FrontierItem[] = [],
): PageRecord {
  return {
    url: it.url,
    final_url: it.url,
    status: error === null ? 200 : null,
    depth: it.depth,
    referrer: it.referrer,
    title: null,
    description: null,
    canonical: null,
    links_count: links.length,
    links: links.map((l) => l.url),
    content_type: 'text/html',
    bytes: 1,
    fetched_at: '2026-01-01T00:00:00.000Z',
    duration_ms: 1,
    attempts: 1,
    error,
  };
}
