import { bodyHash } from '../fetch/body-hash.js';
import type { FetchResult } from '../fetch/fetch-page.js';
import type { Completion, FrontierItem, Item, PageVersion, PriorFetch } from '../frontier/frontier.js';
import { nextInterval } from '../frontier/recrawl-interval.js';
import type { PageOutcome } from '../metrics/snapshot.js';
import type { CrawlOptions } from '../options.js';
import type { PageChange, PageRecord } from '../record.js';
import { normalizeUrl } from '../url/normalize.js';
import { ownString } from '../url/own-string.js';
import { QueryVariantGuard } from '../url/traps.js';
import type { Parsed } from './outcome.js';

/** A finished URL as the store writes it: its completion and what it came to. */
export interface Built {
  completion: Completion;
  outcome: PageOutcome;
}

/**
 * Builds the record of every finished URL and the links it hands to the frontier. Owns the
 * query-variant trap guard (distinct query strings per path, counted over the links it admits).
 */
export class RecordBuilder {
  readonly #o: CrawlOptions;
  readonly #queryVariants: QueryVariantGuard;
  readonly #noteHost: (host: string, url: string) => void;

  /** `noteHost` learns one URL per host (robots.txt needs its scheme). */
  constructor(options: CrawlOptions, noteHost: (host: string, url: string) => void) {
    this.#o = options;
    this.#queryVariants = new QueryVariantGuard(options.maxQueryVariants);
    this.#noteHost = noteHost;
  }

  /**
   * The record of a finished URL (`parsed.outcome` is fetched, failed or skipped; retry and
   * unstarted have no record) with its outcome: `skipped` for a URL the crawl's rules refused,
   * `failed` when its record carries an error (network, `http:` status ≥ 400, parse), else `ok`.
   * Links are the page's followable ones that pass the query-variant guard, at depth + 1.
   */
  build(parsed: Parsed): Built {
    const o = parsed.outcome;
    const item = o.item;
    if (o.kind === 'skipped') {
      const record = baseRecord(item, item.attempts);
      record.error = o.reason;
      return { completion: { item, record, links: [] }, outcome: 'skipped' };
    }
    if (o.kind === 'failed') {
      const record = baseRecord(item, o.attempts);
      record.error = o.error;
      record.status = o.status;
      record.duration_ms = Math.round(o.durationMs);
      return { completion: { item, record, links: [] }, outcome: 'failed' };
    }
    if (o.kind !== 'fetched') throw new Error(`no record for a ${o.kind} outcome`);
    const prior = this.#o.recrawl === true ? item.prior : undefined;
    if (prior !== undefined && o.res.status === 304) return unchangedPage(item, prior, o.res, o.attempts);
    const record = this.#fetched(item, o.res, o.attempts, parsed);
    const keep = this.#o.state !== undefined || this.#o.keepVersions === true;
    const version = keep ? versionOf(o.res, parsed.page?.bodyHash) : undefined;
    if (this.#o.recrawl === true) {
      record.change = changeOf(record, version?.hash ?? null, prior);
      if (version !== undefined && prior !== undefined)
        version.intervalMs = nextInterval(prior.intervalMs, record.change !== 'unchanged');
    }
    const links: FrontierItem[] = [];
    const page = parsed.page;
    let items: Item[] | undefined;
    if (page) {
      const all = record.links;
      const nextDepth = item.depth + 1;
      // Scoped, trap- and depth-checked on the parse thread (a scraper's handler chose these).
      for (let i = 0; i < page.follow.length; i++) {
        const f = page.follow[i]!;
        // A request that is not a plain link of the page (see ParseOutput.follow).
        const r = f < 0 ? page.requests![-f - 1]! : undefined;
        // A link kept by the frontier must not hold the page's whole link list (see ownString).
        const url = r === undefined ? ownString(all[f]!) : r.url;
        const host = page.hosts[page.followHost[i]!]!;
        if (this.#queryVariants.admit(url) !== null) continue; // trap guard: distinct query strings per path
        this.#noteHost(host, url);
        // Built field by field: an object spread per link costs more than the rest of this loop.
        const link: FrontierItem = { url, host, depth: nextDepth, referrer: item.url, attempts: 0 };
        if (r?.key !== undefined) link.key = r.key;
        if (r?.request !== undefined) link.request = r.request;
        links.push(link);
      }
      if (page.items !== null && page.items.length > 0) items = page.items;
    }
    const completion: Completion = items ? { item, record, links, items } : { item, record, links };
    if (version !== undefined) completion.version = version;
    return { completion, outcome: record.error === null ? 'ok' : 'failed' };
  }

  #fetched(item: FrontierItem, res: FetchResult, attempts: number, p: Parsed): PageRecord {
    const record = baseRecord(item, attempts);
    record.final_url = normalizeUrl(res.finalUrl) ?? res.finalUrl;
    record.status = res.status;
    record.content_type = res.contentType;
    record.bytes = res.bytes;
    record.duration_ms = Math.round(res.durationMs);
    if (res.rendered === true) record.rendered = true;
    if (res.cached === true) record.cached = true;
    if (res.status >= 400) record.error = `http: ${res.status}`;
    if (p.parseError) record.error = p.parseError;
    const page = p.page;
    if (!page) return record;
    record.title = page.title;
    record.description = page.description;
    record.canonical = page.canonical;
    record.noindex = page.robots.noindex;
    if (page.fields) record.fields = page.fields;
    const all = page.links === '' ? [] : page.links.split('\n');
    record.links = all;
    record.links_count = all.length;
    if (this.#o.extractFn && page.html !== null) {
      const extra = this.#o.extractFn({
        url: item.url,
        finalUrl: res.finalUrl,
        status: res.status,
        html: page.html,
        title: page.title,
      });
      if (extra) record.fields = { ...record.fields, ...extra };
    }
    return record;
  }
}

/**
 * A recrawled page the server says is not modified (304): its record is the one stored last time,
 * refreshed (fetch time, attempts, duration; `change: unchanged`), its earlier items stay, and
 * its validators are the 304's where it sent new ones. No links: the page's links were followed
 * when it was fetched.
 */
function unchangedPage(item: FrontierItem, prior: PriorFetch, res: FetchResult, attempts: number): Built {
  const record = JSON.parse(prior.record) as PageRecord;
  record.fetched_at = new Date().toISOString();
  record.duration_ms = Math.round(res.durationMs);
  record.attempts = attempts;
  record.change = 'unchanged';
  if (res.cached === true) record.cached = true;
  else delete record.cached;
  const version: PageVersion = {
    etag: res.headers.etag ?? prior.etag,
    lastModified: res.headers['last-modified'] ?? prior.lastModified,
    hash: prior.hash,
    intervalMs: nextInterval(prior.intervalMs, false),
    captureId: prior.captureId ?? null,
    capturedAt: prior.capturedAt ?? null,
  };
  return {
    completion: { item, record, links: [], version, unchanged: true },
    outcome: outcomeOfRecord(record),
  };
}

/** What the state keeps of a response for the next recrawl; the hash from the parse thread when it made one. */
function versionOf(res: FetchResult, parsedHash: string | undefined): PageVersion {
  return {
    etag: res.headers.etag ?? null,
    lastModified: res.headers['last-modified'] ?? null,
    hash: parsedHash ?? (res.discarded ? null : bodyHash(res.body)),
    intervalMs: null,
  };
}

/**
 * What a recrawl found (PageRecord.change): `new` without a prior fetch, `gone` for 404/410,
 * `unchanged` when the status and body hash equal the prior fetch's, else `changed`. The prior
 * record is parsed (for its status) only when the hashes match: a changed body needs no parse.
 */
function changeOf(record: PageRecord, hash: string | null, prior: PriorFetch | undefined): PageChange {
  if (prior === undefined) return 'new';
  if (record.status === 404 || record.status === 410) return 'gone';
  if (hash === null || hash !== prior.hash) return 'changed';
  const before = JSON.parse(prior.record) as PageRecord;
  return before.status === record.status ? 'unchanged' : 'changed';
}

/** ok or failed, as the record's error says (an unchanged page keeps its earlier outcome). */
function outcomeOfRecord(record: PageRecord): PageOutcome {
  return record.error === null ? 'ok' : 'failed';
}

/** A record with only what is known before any response: the URL, its depth and referrer. */
function baseRecord(item: FrontierItem, attempts: number): PageRecord {
  return {
    url: item.url,
    final_url: null,
    status: null,
    depth: item.depth,
    referrer: item.referrer,
    title: null,
    description: null,
    canonical: null,
    links_count: 0,
    links: [],
    content_type: null,
    bytes: 0,
    fetched_at: new Date().toISOString(),
    duration_ms: 0,
    attempts,
    error: null,
    lastmod: item.lastmod ?? null,
  };
}
