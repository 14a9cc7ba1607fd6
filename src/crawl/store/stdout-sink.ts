import { type PageRecord, recordJson } from '../record.js';
import { itemLine } from './item-json.js';
import type { ItemEntry, ItemSinkFormat } from './item-sink.js';
import { LineSink } from './line-sink.js';
import { StdoutOutput } from './stdout-output.js';

/**
 * Page records as JSON Lines on stdout (`--out -`), one `JSON.stringify(record)` per line, as
 * the JsonlSink writes them to a file. The mark counts the bytes this process wrote. A resume
 * cannot cut stdout back, so there is no resumeOffset: across a crash the records of batches
 * written but not committed come out again (at-least-once). A reader that went away throws a
 * StdoutClosedError; see StdoutOutput for slow readers and full pipes.
 */
export class StdoutSink extends LineSink {
  readonly format = 'jsonl' as const;
  protected readonly file = new StdoutOutput();

  /** Times a write found the pipe full and waited for the reader (see StdoutOutput). */
  get stalls(): number {
    return this.file.stalls;
  }

  protected line(r: PageRecord): string {
    return `${recordJson(r)}\n`;
  }
}

/**
 * Scraped items as JSON Lines on stdout (`--items -`): each item's JSON exactly, one per line, as
 * the ItemJsonlSink writes them to a file. Same stdout semantics as StdoutSink (at-least-once
 * across a crash, StdoutClosedError on EPIPE).
 */
export class ItemStdoutSink extends LineSink<ItemEntry, ItemSinkFormat> {
  readonly format = 'stdout' as const;
  protected readonly file = new StdoutOutput();

  /** Times a write found the pipe full and waited for the reader (see StdoutOutput). */
  get stalls(): number {
    return this.file.stalls;
  }

  protected line(e: ItemEntry): string {
    return itemLine(e);
  }
}
