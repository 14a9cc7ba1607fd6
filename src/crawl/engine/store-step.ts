import type { Channel } from '../../conc/channel.js';
import type { PageRecord } from '../record.js';
import type { ItemEntry, ItemSink } from '../store/item-sink.js';
import type { Sink } from '../store/sink.js';
import { StdoutClosedError } from '../store/stdout-output.js';
import { asStorageFull, type StorageFullError } from '../store/storage-full.js';
import type { Archive, Flushed } from './archive.js';
import type { EngineContext } from './context.js';
import type { Parsed } from './outcome.js';
import type { Built, RecordBuilder } from './page-record.js';

const STORE_BATCH = 64;
/** Event-loop turns the store waits for a batch to fill (measured: bench/crawl.bench.ts). */
const STORE_TURNS = 8;

/** What the store step works with beyond the shared context. */
export interface StoreStepDeps {
  ctx: EngineContext;
  sink: Sink | null;
  /** Where a scraper's items go (--items); null when not written to a file. */
  items: ItemSink | null;
  /** The WARC output (--warc, --warc-dir), or null. */
  archive?: Archive | null;
  records: RecordBuilder;
  /** The async-iteration channel, once someone iterates (backpressure: awaited per record). */
  iterator(): Channel<PageRecord> | null;
  /** Storing failed (a full disk, or a bug): stop the crawl as a graceful stop does. */
  onStop(err: unknown): void;
  /** Runs after each batch is durable, in the same step (the crawl saves its sessions here). */
  afterBatch?: () => Promise<void>;
}

/**
 * The store step: batches finished pages (up to 64, gathered over a few event-loop turns, no
 * timer) and writes each batch in one atomic step — records to the sink, a scraper's items to the
 * items sink, then done marks, items and new links to the frontier with both sinks' marks — before
 * the ledger counts them stored (the crawl can't end early). Items of a page exist exactly when
 * the page is done: a crash between the sink writes and the frontier's commit leaves both outputs
 * cut back to the committed marks on resume. A
 * retry is held in the ledger; an unstarted URL goes back to the frontier.
 *
 * A full disk (a storage-full error from the sink or the frontier) stops the crawl: the batch is
 * not marked done (its URLs stay leased; a durable frontier re-queues them on reopen), and every
 * later result is dropped without storing, so in-flight work drains and the crawl ends with
 * stopReason `storage-full`. Any other error (a bug) stops and drains the same way and is kept
 * as {@link failure}, for the crawl to reject with.
 */
export class StoreStep {
  readonly #d: EngineContext;
  readonly #x: StoreStepDeps;
  #full: StorageFullError | null = null;
  #failure: unknown = null;
  #stopped = false;

  constructor(deps: StoreStepDeps) {
    this.#d = deps.ctx;
    this.#x = deps;
  }

  /** The storage-full error that stopped the crawl, if any. */
  get storageError(): StorageFullError | null {
    return this.#full;
  }

  /** An unexpected error that stopped storing (a bug), if any. */
  get failure(): unknown {
    return this.#failure;
  }

  /**
   * At the end of the crawl: hands held retries back to the frontier (a resumed crawl retries
   * them at their time), closes the sink, then the frontier. After storing failed, failures here
   * are swallowed (a disk still full; what was stored stays stored, leased URLs come back on
   * reopen); otherwise they reject.
   */
  async close(): Promise<void> {
    const d = this.#d;
    const full = this.#stopped;
    try {
      for (const { item, at } of d.ledger.takeAllRetries()) if (!full) await d.frontier.release(item, at);
      this.#x.sink?.close();
      this.#x.items?.close();
      await this.#x.archive?.close();
    } catch (err) {
      if (!full) throw err;
    } finally {
      await Promise.resolve()
        .then(() => d.frontier.close())
        .catch((err: unknown) => {
          if (!full) throw err;
        });
    }
  }

  /** Consumes `input` until it closes. */
  async run(input: Channel<Parsed>): Promise<void> {
    for (;;) {
      const first = await input.recv();
      if (!first.ok) return;
      const batch: Parsed[] = [first.value];
      // Take what is ready; give the event loop a few turns to deliver more (parse threads answer
      // between turns), so one transaction carries many pages. No timer: an idle crawl waits on recv.
      for (let turn = 0; turn < STORE_TURNS && batch.length < STORE_BATCH; turn++) {
        if (turn > 0) await new Promise<void>((resolve) => setImmediate(resolve));
        for (
          let next = input.tryRecv();
          next?.ok;
          next = batch.length < STORE_BATCH ? input.tryRecv() : undefined
        ) {
          batch.push(next.value);
        }
      }
      try {
        await this.commit(batch);
      } catch (err) {
        this.#stop(err); // a bug outside the write itself: keep draining, the crawl rejects
      }
    }
  }

  #stop(err: unknown): void {
    if (this.#stopped) return;
    this.#full = asStorageFull(err, '');
    // A reader of stdout that went away (`| head`) ends the crawl as a graceful stop does.
    if (this.#full === null && !(err instanceof StdoutClosedError)) this.#failure = err;
    this.#stopped = true;
    this.#x.onStop(err);
  }

  /**
   * Stores one batch. `slots` false: its URLs hold no host slot (the scheduler finished them
   * without a request: skipped, or robots.txt unreachable), so none is given back.
   */
  async commit(batch: Parsed[], slots = true): Promise<void> {
    const d = this.#d;
    const started = performance.now();
    const built: Built[] = [];
    for (const p of batch) {
      const o = p.outcome;
      if (o.kind === 'retry' || o.kind === 'unstarted') {
        // The host's slot frees as soon as its response is in, not after a (Redis) round trip.
        if (slots) d.hosts.finish(o.host, false);
        if (o.kind === 'retry' && !this.#stopped) {
          d.ledger.hold(o.item, o.at);
        } else {
          d.ledger.left();
          if (!this.#stopped) await d.frontier.release(o.item);
        }
        continue;
      }
      if (this.#stopped) {
        if (slots) d.hosts.finish(o.host, false);
        d.ledger.left();
        continue;
      }
      const b = this.#x.records.build(p);
      this.#x.archive?.page(p, b);
      built.push(b);
    }
    if (built.length > 0) await this.#write(built, started, slots);
    d.metrics.setInFlight(d.ledger.outstanding);
    d.wake();
  }

  async #write(built: Built[], started: number, slots: boolean): Promise<void> {
    const d = this.#d;
    const x = this.#x;
    let records = built.map((b) => b.completion.record);
    // --changed-only: the output leaves out unchanged pages (the state keeps every record).
    if (d.options.changedOnly === true) records = records.filter((r) => r.change !== 'unchanged');
    // The host's slot frees before the (maybe remote) frontier write, as soon as the page is in.
    if (slots) for (const b of built) d.hosts.finish(d.hosts.get(b.completion.item.host), true);
    // The WARC batch's commit is over however this ends: the next batch's write waits for it.
    let warc: Flushed | undefined;
    try {
      let mark: ReturnType<Sink['write']> | undefined;
      let itemsMark: ReturnType<ItemSink['write']> | undefined;
      try {
        warc = await x.archive?.flush();
      } catch (err) {
        throw asStorageFull(err, d.options.warc ?? d.options.warcDir ?? '') ?? err;
      }
      try {
        mark = x.sink?.write(records);
      } catch (err) {
        throw asStorageFull(err, d.options.out ?? '') ?? err;
      }
      if (x.items) {
        try {
          itemsMark = x.items.write(itemEntries(built));
        } catch (err) {
          throw asStorageFull(err, d.options.items ?? '') ?? err;
        }
      }
      try {
        await d.frontier.complete(
          built.map((b) => b.completion),
          mark,
          itemsMark,
          warc?.mark,
        );
        await x.afterBatch?.();
      } catch (err) {
        throw asStorageFull(err, d.options.state ?? '') ?? err;
      }
    } catch (err) {
      // Not stored: the batch's URLs leave the pipeline unmarked (re-queued on resume).
      for (let i = 0; i < built.length; i++) d.ledger.left();
      this.#stop(err);
      return;
    } finally {
      warc?.done();
    }
    // Outstanding drops only once the batch (and its new links) is durable: the crawl can't end early.
    d.ledger.storedBatch(built.length);
    for (const { completion: c, outcome } of built) {
      const r = c.record;
      if (c.items) {
        d.metrics.itemsStored(c.items.length);
        if (d.options.onItem) for (const item of c.items) d.options.onItem(item, r);
      }
      d.metrics.pageStored({
        url: r.url,
        status: r.status,
        title: r.title,
        error: r.error,
        host: c.item.host,
        outcome,
        change: r.change,
      });
      if (outcome === 'failed') d.metrics.error(r.error!.split(':')[0]!, c.item.host, r.url, r.error!);
      d.options.onRecord?.(r);
    }
    d.metrics.storeTime(performance.now() - started, built.length);
    d.metrics.setFrontier(d.frontier.stats());
    const it = x.iterator();
    if (it) {
      // Backpressure, not loss: a slow reader of the iterable slows the store down.
      try {
        for (const r of records) await it.send(r, d.abort);
      } catch {
        // aborted: the records are stored; the reader just doesn't see the rest
      }
    }
  }
}

/** The items of a batch, in page order, with the page each came from. */
function itemEntries(built: readonly Built[]): ItemEntry[] {
  const entries: ItemEntry[] = [];
  for (const { completion: c } of built) {
    if (!c.items) continue;
    const label = c.item.request?.label ?? null;
    for (const item of c.items) entries.push({ item, url: c.record.url, label });
  }
  return entries;
}
