import { AppendFile } from './fd-file.js';
import { itemLine } from './item-json.js';
import type { ItemEntry, ItemSinkFormat } from './item-sink.js';
import { atLineEnd } from './jsonl-sink.js';
import { LineSink } from './line-sink.js';
import type { SinkOpenOptions } from './sink.js';

/**
 * Items as JSON Lines: each item exactly as the handler pushed it (`JSON.stringify(item)`,
 * nothing added: no URL, no label), one per `\n`-terminated line. The mark is the file's byte
 * length; resuming cuts back to it and refuses a committed offset that is not at a line end,
 * as the records' JsonlSink does.
 */
export class ItemJsonlSink extends LineSink<ItemEntry, ItemSinkFormat> {
  readonly format = 'jsonl' as const;
  protected readonly file: AppendFile;

  /** Opens (or resumes, see SinkOpenOptions) the JSONL file at `path`. */
  constructor(path: string, opts: SinkOpenOptions = {}) {
    super();
    this.file = new AppendFile(path, opts.resumeOffset, atLineEnd);
  }

  protected line(e: ItemEntry): string {
    return itemLine(e);
  }
}
