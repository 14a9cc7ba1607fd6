import { availableParallelism } from 'node:os';
import type { Hop } from '../fetch/fetch-page.js';
import type { PriorFetch, WarcCommit } from '../frontier/frontier.js';
import type { PageRecord } from '../record.js';
import { dropRecords } from '../store/warc-drop.js';
import { newRecordId } from '../store/warc-record.js';
import { WarcThread } from '../store/warc-thread.js';
import type { WarcEntry, WarcWriter } from '../store/warc-writer.js';
import type { Parsed } from './outcome.js';
import type { Built } from './page-record.js';

/** Options of an {@link Archive}. */
export interface ArchiveOptions {
  /**
   * Serialize records on a WarcThread (WarcWriter.writeAsync) instead of on the calling thread.
   * Default: when the machine has more than 2 cores (availableParallelism), i.e. a core to spare
   * beyond the main thread and the default single parse thread. Measured on a 2-core VM
   * (bench/warc.bench.ts, CLI crawls of the 20k-page test site): the thread cuts the main thread's
   * cost per page from ≈ 160 to ≈ 40 µs, but it adds ≈ 15–20 µs of CPU per page (messages,
   * copies), so where every core is busy it loses pages/s (−6 to −8 % with 1 parse thread) and
   * where one is idle it gains (+8 to +12 % with --parsers 0).
   */
  thread?: boolean;
}

/** A batch written by {@link Archive.flush}: the mark to commit it with, and the end of its commit. */
export interface Flushed {
  /** The mark after the batch (with `start`, where it begins, and the file list when it changed). */
  mark: WarcCommit;
  /** Call once the batch's commit is over (stored or not): the next batch's write waits for it. */
  done(): void;
}

/**
 * The crawl's WARC output (--warc, --warc-dir) as the store step uses it: the records of a batch's
 * pages are gathered with {@link page} while the batch is built and written by {@link flush} in
 * one append, before the batch is committed with the mark flush returns — so every page's
 * records are in the WARC exactly when the page is done (a resume cuts the file back to the
 * mark). The next batch is written only once that commit is over (`done`), so a commit that has
 * to rewrite its batch ({@link rewriteBatch}: distributed mode) finds it at the end of the file.
 * Fetches that are not pages (robots.txt) are written with the next batch ({@link side}).
 * With `thread` (see ArchiveOptions), records are serialized (digests, gzip) on a WarcThread of
 * its own, started by the first batch that needs it, and the exchanges' response bodies are moved
 * to it: nothing reads them after the archive.
 */
export class Archive {
  readonly #writer: WarcWriter;
  readonly #thread: WarcThread | null;
  /** Settles when the last flushed batch's commit is over (flushes and commits run one at a time). */
  #committed: Promise<void> = Promise.resolve();
  #entries: WarcEntry[] = [];
  #side: WarcEntry[] = [];
  /** Every WARC file of the crawl (earlier runs' first), as the state remembers them. */
  readonly #files: string[];
  #lastPath: string | null = null;

  /** `files`: the WARC files earlier runs of this crawl wrote (from the state), oldest first. */
  constructor(writer: WarcWriter, files: readonly string[] = [], o: ArchiveOptions = {}) {
    this.#writer = writer;
    this.#files = [...files];
    const thread = o.thread ?? availableParallelism() > 2;
    this.#thread = thread ? new WarcThread({ moveBodies: true }) : null;
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
    const final = o.res.rendered === true ? documentHop(hops, o.res.finalUrl) : hops.length - 1;
    const ids: string[] = (c.warcIds = []);
    for (let i = 0; i < hops.length; i++) {
      const ex = hops[i]!.exchange;
      const last = i === final;
      const id = newRecordId();
      ids.push(id);
      if (last && prior !== undefined && c.record.change === 'unchanged') {
        this.#entries.push({
          type: 'revisit',
          exchange: ex,
          profile: ex.status === 304 ? 'server-not-modified' : 'identical-payload-digest',
          refersTo: refersTo(prior),
          id,
        });
        if (c.version !== undefined) {
          c.version.captureId = prior.captureId ?? null;
          c.version.capturedAt = prior.capturedAt ?? null;
        }
        continue;
      }
      this.#entries.push({ type: 'exchange', exchange: ex, id });
      if (last && c.version !== undefined) {
        c.version.captureId = id;
        c.version.capturedAt = ex.date;
      }
    }
  }

  /**
   * Writes the gathered records (the side fetches first) in one append and resolves to the mark
   * to commit the batch with (its `start` and `offset`, and the file list when a new file was
   * started); undefined when there was nothing to write. Rejects with what WarcWriter.write or
   * writeAsync throws (a StorageFullError on a full disk, with nothing written); the gathered
   * records are then dropped, as the batch is not stored. With a thread, their large response
   * bodies are moved to it either way (empty afterwards). What was gathered is taken at the call;
   * the write waits until the previous flushed batch is `done` (the store loop and the
   * scheduler's direct commits of refused URLs may overlap), so the file gets the batches in call
   * order and each batch is the file's tail while it is committed.
   */
  flush(): Promise<Flushed | undefined> {
    if (this.#entries.length === 0 && this.#side.length === 0) return Promise.resolve(undefined);
    const entries = this.#side.length === 0 ? this.#entries : [...this.#side, ...this.#entries];
    this.#entries = [];
    this.#side = [];
    const previous = this.#committed;
    let done!: () => void;
    this.#committed = new Promise<void>((resolve) => {
      done = resolve;
    });
    return previous
      .then(() => this.#write(entries))
      .then(
        (mark) => ({ mark, done }),
        (err: unknown) => {
          done();
          throw err;
        },
      );
  }

  async #write(entries: WarcEntry[]): Promise<WarcCommit> {
    const before = this.#writer.mark();
    const written =
      this.#thread === null
        ? this.#writer.write(entries)
        : await this.#writer.writeAsync(entries, this.#thread);
    const mark: WarcCommit = { ...written, start: written.path === before.path ? before.offset : 0 };
    if (mark.path === this.#lastPath) return mark;
    this.#lastPath = mark.path;
    if (!this.#files.includes(mark.path)) this.#files.push(mark.path);
    return { ...mark, files: [...this.#files] };
  }

  /**
   * Rewrites the last flushed batch — [start, end) of the current file `path` — without the
   * records of the captures in `drop` (ids from Completion.warcIds) and returns the new end (see
   * redis/warc-marks.ts dropRecords: crash-safe through a spool file). Call it only while that
   * batch is being committed (before its `done`).
   */
  rewriteBatch(path: string, start: number, end: number, drop: ReadonlySet<string>): number {
    return dropRecords(path, start, end, drop, (at, bytes) => {
      this.#writer.replaceTail(path, at, bytes);
    });
  }

  /** Drops what was gathered for a batch that will not be stored. */
  discard(): void {
    this.#entries = [];
  }

  /** Closes the WARC file, then stops the WARC thread if any (also when closing the file throws). */
  async close(): Promise<void> {
    try {
      this.#writer.close();
    } finally {
      await this.#thread?.close();
    }
  }
}

/**
 * The index of a rendered page's document among its hops (its redirect hops come before it, its
 * sub-resources after): the first hop of its final URL; the last hop if none is.
 */
function documentHop(hops: readonly Hop[], finalUrl: string): number {
  const hash = finalUrl.indexOf('#');
  const url = hash < 0 ? finalUrl : finalUrl.slice(0, hash);
  const i = hops.findIndex((h) => h.exchange.url === url);
  return i < 0 ? hops.length - 1 : i;
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
