import type { Hop } from '../fetch/fetch-page.js';
import type { PriorFetch, WarcCommit } from '../frontier/frontier.js';
import type { PageRecord } from '../record.js';
import { newRecordId } from '../store/warc-record.js';
import type { WarcEntry, WarcWriter } from '../store/warc-writer.js';
import type { Parsed } from './outcome.js';
import type { Built } from './page-record.js';

/**
 * The crawl's WARC output (--warc, --warc-dir) as the store step uses it: the records of a batch's
 * pages are gathered with {@link page} while the batch is built and written by {@link flush} in
 * one append, before the batch is committed with the mark flush returns — so every page's
 * records are in the WARC exactly when the page is done (a resume cuts the file back to the
 * mark). Fetches that are not pages (robots.txt) are written with the next batch ({@link side}).
 */
export class Archive {
  readonly #writer: WarcWriter;
  #entries: WarcEntry[] = [];
  #side: WarcEntry[] = [];
  /** Every WARC file of the crawl (earlier runs' first), as the state remembers them. */
  readonly #files: string[];
  #lastPath: string | null = null;

  /** `files`: the WARC files earlier runs of this crawl wrote (from the state), oldest first. */
  constructor(writer: WarcWriter, files: readonly string[] = []) {
    this.#writer = writer;
    this.#files = [...files];
  }

  /** Keeps a fetch that belongs to no page (robots.txt) for the next batch. */
  side(hops: readonly Hop[] | undefined): void {
    if (hops !== undefined) for (const h of hops) this.#side.push({ type: 'exchange', exchange: h.exchange });
  }

  /**
   * Gathers the records of one built page: a request and a response record per hop (redirects
   * first), or, for the final response of a page a recrawl found unchanged, a revisit record
   * referring to the capture that holds its content (`server-not-modified` for a 304,
   * `identical-payload-digest` for the same body again). Sets the page's capture (the record id
   * and date its next revisit will refer to) in its completion's version.
   */
  page(parsed: Parsed, built: Built): void {
    const o = parsed.outcome;
    if (o.kind !== 'fetched' || o.res.hops === undefined) return;
    const hops = o.res.hops;
    const c = built.completion;
    const prior = c.item.prior;
    for (let i = 0; i < hops.length; i++) {
      const ex = hops[i]!.exchange;
      const last = i === hops.length - 1;
      if (last && prior !== undefined && c.record.change === 'unchanged') {
        this.#entries.push({
          type: 'revisit',
          exchange: ex,
          profile: ex.status === 304 ? 'server-not-modified' : 'identical-payload-digest',
          refersTo: refersTo(prior),
        });
        if (c.version !== undefined) {
          c.version.captureId = prior.captureId ?? null;
          c.version.capturedAt = prior.capturedAt ?? null;
        }
        continue;
      }
      const id = newRecordId();
      this.#entries.push({ type: 'exchange', exchange: ex, id });
      if (last && c.version !== undefined) {
        c.version.captureId = id;
        c.version.capturedAt = ex.date;
      }
    }
  }

  /**
   * Writes the gathered records (the side fetches first) in one append and returns the mark to
   * commit with the batch, with the file list when a new file was started; undefined when there
   * was nothing to write. Throws what WarcWriter.write throws (a StorageFullError on a full disk,
   * with nothing written); the gathered records are then dropped, as the batch is not stored.
   */
  flush(): WarcCommit | undefined {
    if (this.#entries.length === 0 && this.#side.length === 0) return undefined;
    const entries = this.#side.length === 0 ? this.#entries : [...this.#side, ...this.#entries];
    this.#entries = [];
    this.#side = [];
    const mark = this.#writer.write(entries);
    if (mark.path === this.#lastPath) return mark;
    this.#lastPath = mark.path;
    if (!this.#files.includes(mark.path)) this.#files.push(mark.path);
    return { ...mark, files: [...this.#files] };
  }

  /** Drops what was gathered for a batch that will not be stored. */
  discard(): void {
    this.#entries = [];
  }

  /** Closes the WARC file. */
  close(): void {
    this.#writer.close();
  }
}

/** What a revisit of `prior` refers to: its capture when known, else its URL and fetch time. */
function refersTo(prior: PriorFetch): { uri: string; date: number; recordId?: string } {
  const before = JSON.parse(prior.record) as PageRecord;
  const ref: { uri: string; date: number; recordId?: string } = {
    uri: before.final_url ?? before.url,
    date: prior.capturedAt ?? prior.fetchedAt,
  };
  if (prior.captureId != null) ref.recordId = prior.captureId;
  return ref;
}
