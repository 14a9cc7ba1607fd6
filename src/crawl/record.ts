/**
 * One crawled URL's result, as written to every output (JSONL, CSV, SQLite) and kept in the
 * state file. Field names are the output's column names. A page that failed still produces a
 * record: `error` says why and the fields that need a response are null.
 */
export interface PageRecord {
  /** The normalized URL that was requested. */
  url: string;
  /** Where the last redirect hop landed (equals `url` when there was no redirect). */
  final_url: string | null;
  /** HTTP status of the final response, or null when no response arrived. */
  status: number | null;
  /** Link depth from the seeds (seeds are 0). */
  depth: number;
  /** The page whose link led here; null for seeds and sitemap entries. */
  referrer: string | null;
  title: string | null;
  description: string | null;
  canonical: string | null;
  /** Number of distinct links found on the page (`links.length`): off-site and nofollow ones included, followed or not. */
  links_count: number;
  /** The distinct links found (normalized, absolute). */
  links: string[];
  content_type: string | null;
  /** Body size in bytes after decompression. */
  bytes: number;
  /** ISO-8601 time the final attempt finished. */
  fetched_at: string;
  duration_ms: number;
  /** How many requests were made for this URL (1 = no retry). */
  attempts: number;
  /** Why the page failed or was skipped; null on success. Form: `<kind>: <detail>`. */
  error: string | null;
  /** Meta robots / X-Robots-Tag noindex was present. */
  noindex?: boolean;
  /** `<lastmod>` from a sitemap that listed this URL. */
  lastmod?: string | null;
  /** Values of user `--extract` fields / the `extract(page)` hook. */
  fields?: Record<string, unknown>;
  /** True when the page was loaded in Chromium (`--render`): title, links and fields come from the rendered DOM. */
  rendered?: boolean;
  /**
   * Recrawls (`--recrawl`) only: `new` (never fetched before), `changed`, `unchanged` (a 304, or
   * the same status and body as last time) or `gone` (now 404/410). Absent outside recrawls and
   * for a page that failed without a response.
   */
  change?: PageChange;
  /** True when the response came from the HTTP cache (`--cache`) instead of the network. */
  cached?: boolean;
}

/** What a recrawl found of a page (PageRecord.change). */
export type PageChange = 'new' | 'changed' | 'unchanged' | 'gone';

/** The column order of tabular outputs (CSV, SQLite). `links` is joined with spaces in CSV. */
export const RECORD_COLUMNS = [
  'url',
  'final_url',
  'status',
  'depth',
  'referrer',
  'title',
  'description',
  'canonical',
  'links_count',
  'links',
  'content_type',
  'bytes',
  'fetched_at',
  'duration_ms',
  'attempts',
  'error',
  'noindex',
  'lastmod',
  'fields',
  'rendered',
  'change',
  'cached',
] as const satisfies readonly (keyof PageRecord)[];

/** What a stored record comes to: fetched fine, failed, or skipped without a fetch that counts. */
export type PageOutcome = 'ok' | 'failed' | 'skipped';

/** The error kinds (the text before the colon) of records that were skipped, not failed. */
export const SKIPPED_KINDS: readonly string[] = ['robots', 'skipped'];

/**
 * A record's outcome from its `error`: null is ok; `robots: …` (refused by robots.txt) and
 * `skipped: …` (a budget such as --max-pages-per-host) are skipped; anything else failed. The one
 * rule the summary, /metrics and `trawl status` all use, so they agree with the records.
 */
export function outcomeOf(error: string | null): PageOutcome {
  if (error === null) return 'ok';
  return SKIPPED_KINDS.includes(error.slice(0, error.indexOf(':'))) ? 'skipped' : 'failed';
}

/** One scraped item: a JSON-serializable object a scraper's handler pushed. */
export type Item = Record<string, unknown>;

/** Each record's JSON, made once: the JSONL sink and the state store the same text. */
const jsonOf = new WeakMap<PageRecord, string>();

/**
 * `JSON.stringify(record)`, computed once per record object and remembered while the object
 * lives: a crawl writes each record to its output and to its state (SQLite or Redis), and
 * stringifying a page's record costs ≈ 7 µs (20 links) against ≈ 0.3 µs for the lookup. A record
 * must not be changed after its JSON was first asked for (the store step builds each record
 * before writing it anywhere, and nothing writes to it after).
 */
export function recordJson(record: PageRecord): string {
  let json = jsonOf.get(record);
  if (json === undefined) {
    json = JSON.stringify(record);
    jsonOf.set(record, json);
  }
  return json;
}
