import * as fs from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { readWarc, warcField } from './cdxj.js';
import { AppendFile } from './fd-file.js';
import { SinkError } from './sink.js';
import { asStorageFull } from './storage-full.js';
import {
  newRecordId,
  serializeBatch,
  type WarcBatch,
  type WarcEntry,
  warcinfoRecord,
} from './warc-record.js';
import type { WarcSerializer } from './warc-thread.js';

export type { RevisitOf, RevisitProfile, WarcEntry } from './warc-record.js';

/**
 * Where a WARC output's committed records end: the current file and its committed byte length.
 * Earlier files of a rotation are complete. The crawl stores it with the batch's done marks.
 */
export interface WarcMark {
  path: string;
  offset: number;
}

/** Options of a {@link WarcWriter}. */
export interface WarcWriterOptions {
  /** One file (`--warc`), ending in `.warc.gz` (a gzip member per record) or `.warc` (plain). Exactly one of file/dir. */
  file?: string;
  /** A directory of rotated `.warc.gz` files (`--warc-dir`), created if missing. */
  dir?: string;
  /** Dir mode: the next batch starts a new file once the current one holds this many bytes. Default 1 GiB. */
  maxSize?: number;
  /** Dir mode: the file-name prefix (distributed mode passes a per-process one). Default `trawl`. */
  prefix?: string;
  /** The warcinfo `software` field, e.g. `trawl/0.1.0`. */
  software: string;
  /** More warcinfo fields, in order (isPartOf, robots, description...). */
  info?: Readonly<Record<string, string>>;
  /**
   * Resume: the committed mark. Its file is cut back to the offset; in dir mode files of this
   * writer newer than it (same prefix, later name and sequence number) are deleted, as they hold
   * only uncommitted records. Undefined: a new output (file mode replaces an existing file).
   */
  resume?: WarcMark;
  /** The clock for warcinfo dates and file names, ms since the epoch. Default Date.now. */
  now?: () => number;
}

// Serializing a page's records costs ≈ 100–110 µs of CPU for a .warc.gz (see GZIP_LEVEL in
// gzip-member.ts): at 3,500 pages/s that is ~35 % of the crawl's main thread, well over its 15 %
// budget (≈ 40 µs/page), so writeAsync serializes on a WarcThread. Main-thread µs per page,
// measured with bench/warc.bench.ts (2-core VM, Node 20; medians of 3, event-loop active time,
// the append included), inline (write) → thread (writeAsync, bodies moved), by batch size:
//   .warc.gz, 20 KB pages:  64: 119 → 21   16: 120 → 15   4: 126 → 24   1: 137 → 65
//   .warc.gz, 300 B bodies: 64: 101 → 23   16: 134 → 27   4: 132 → 29   1:  91 → 37
//   .warc,    20 KB pages:  64:  66 → 34   16:  60 → 35   4:  68 → 64   1:  96 → 75
//   .warc,    300 B bodies: 64:  24 →  6   16:  24 →  6   4:  19 → 13   1:  24 → 39
// (gzipSync's per-call setup dominates small records.) A round trip costs ≈ 35–40 µs of main
// thread, so only a plain .warc batch of one small entry is cheaper inline. The thread's CPU is
// not free: where all cores are busy, inline is faster overall (see ArchiveOptions.thread).
const INLINE_MAX_BODY = 8 * 1024;
const DEFAULT_MAX_SIZE = 1024 ** 3;
const EXTENSIONS = '.warc.gz or .warc';

/** `name` of a rotated file: prefix, UTC creation time, sequence number. */
function rotatedName(prefix: string, ms: number, seq: number): string {
  const ts = new Date(ms).toISOString().replace(/[-:T]/g, '').slice(0, 14);
  return `${prefix}-${ts}-${String(seq).padStart(5, '0')}.warc.gz`;
}

/** The timestamp and sequence number of a rotated file name with `prefix`, or null for another name. */
function parseRotated(prefix: string, name: string): { ts: string; seq: number } | null {
  if (!name.startsWith(`${prefix}-`)) return null;
  const m = /^(\d{14})-(\d{5,})\.warc\.gz$/.exec(name.slice(prefix.length + 1));
  return m === null ? null : { ts: m[1] as string, seq: Number(m[2]) };
}

/**
 * An append-only WARC/1.1 output with the crawl's exactly-once protocol (see Sink): `write` (or
 * `writeAsync`, which serializes on a WarcThread) appends a batch's records and returns the mark
 * after them, the crawl stores the mark when it commits the batch, and a resume cuts the output
 * back to the stored mark.
 *
 * Every file starts with a `warcinfo` record (software, format, `info`), written in the same
 * append as the file's first batch so it is committed with it; every other record names it in
 * WARC-Warcinfo-ID. In a `.warc.gz` each record is its own gzip member (level 1, GZIP_LEVEL in
 * gzip-member.ts), the layout indexes and replay tools expect (a CDXJ offset points at one
 * member).
 *
 * Dir mode writes `${prefix}-${YYYYMMDDhhmmss}-${seq:05}.warc.gz` files (UTC creation time, the
 * sequence number counting on across resumes; a name already taken is skipped), so names sort in
 * creation order and two processes with different prefixes never collide. A batch never spans
 * two files: when the current file has reached `maxSize` the next batch starts a new one, so a
 * file may exceed `maxSize` by one batch.
 */
export class WarcWriter {
  private file: AppendFile;
  private warcinfoId: string;
  private readonly gzip: boolean;
  private readonly opened: string[] = [];
  private readonly dir: string | null;
  private readonly prefix: string;
  private readonly maxSize: number;
  private readonly software: string;
  private readonly info: Readonly<Record<string, string>> | undefined;
  private readonly now: () => number;
  /** The sequence number of the newest rotated file (-1 before the first). */
  private seq = -1;
  private closed = false;
  /** A writeAsync is serializing its batch. */
  private pending = false;
  /** Bytes an existing file held before a fresh file-mode open replaced it (0 otherwise). */
  readonly replaced: number = 0;

  /**
   * Opens the output. Throws a RangeError when not exactly one of file/dir is given, maxSize is
   * not a positive integer or prefix holds a path separator, and a SinkError naming the file when: the file name does not end in
   * `.warc.gz` or `.warc`; a resume mark's file is missing or shorter than its offset, does not
   * start with a warcinfo record, or is not the configured file (file mode) or a file of this
   * prefix in the directory (dir mode). Creates the (empty) first file at once, so a mark taken
   * before any write can be resumed.
   */
  constructor(o: WarcWriterOptions) {
    if ((o.file === undefined) === (o.dir === undefined)) {
      throw new RangeError('WarcWriter needs exactly one of file and dir');
    }
    this.dir = o.dir ?? null;
    this.prefix = o.prefix ?? 'trawl';
    this.maxSize = o.maxSize ?? DEFAULT_MAX_SIZE;
    if (!Number.isSafeInteger(this.maxSize) || this.maxSize < 1) {
      throw new RangeError(`WarcWriter maxSize must be a positive integer (got ${this.maxSize})`);
    }
    if (/[\\/]/.test(this.prefix) || this.prefix === '') {
      throw new RangeError(
        `WarcWriter prefix must be a plain file-name part (got ${JSON.stringify(this.prefix)})`,
      );
    }
    this.software = o.software;
    this.info = o.info;
    this.now = o.now ?? Date.now;
    const resume = o.resume;

    let path: string;
    if (o.file !== undefined) {
      path = o.file;
      if (resume !== undefined && resolve(resume.path) !== resolve(path)) {
        throw new SinkError(
          `cannot resume WARC output ${path}: the state file's WARC output is ${resume.path}`,
        );
      }
    } else if (resume !== undefined) {
      path = resume.path;
      const own = parseRotated(this.prefix, basename(path));
      if (resolve(dirname(path)) !== resolve(o.dir as string) || own === null) {
        throw new SinkError(
          `cannot resume WARC output ${path}: it is not a ${this.prefix}-*.warc.gz file of ${o.dir} (the state file's WARC output differs from --warc-dir)`,
        );
      }
      this.seq = own.seq;
    } else {
      try {
        fs.mkdirSync(o.dir as string, { recursive: true });
      } catch (err) {
        throw (
          asStorageFull(err, o.dir as string) ??
          new SinkError(`cannot create WARC directory ${o.dir}: ${(err as Error).message}`)
        );
      }
      path = this.freeName();
    }
    this.gzip = path.endsWith('.warc.gz');
    if (!this.gzip && !path.endsWith('.warc')) {
      throw new SinkError(`WARC output ${path}: the file name must end in ${EXTENSIONS}`);
    }

    let existingInfo: string | null = null;
    this.file = new AppendFile(path, resume?.offset, (f, keep) => {
      const found = this.firstWarcinfo(f.path, keep);
      if (!found.startsWith('<')) return found;
      existingInfo = found;
      return undefined;
    });
    this.warcinfoId = existingInfo ?? newRecordId();
    if (resume === undefined) this.replaced = this.file.replaced;
    this.opened.push(path);
    if (this.dir !== null && resume !== undefined) this.deleteNewer(basename(path));
  }

  /** The files this writer has written to (or resumed), oldest first; the last is the current one. */
  get files(): readonly string[] {
    return this.opened;
  }

  /** The current file and its size: the mark after everything written so far. */
  mark(): WarcMark {
    return { path: this.file.path, offset: this.file.size };
  }

  /**
   * Appends the records of `entries` (see entryRecords: response or revisit, then request) in
   * order and returns the mark after them; an empty array writes nothing. In dir mode, a current
   * file that has reached maxSize is first replaced by a new one. A file's first write starts with
   * its warcinfo record. Everything goes out in ONE append, all or nothing: a full disk throws a
   * StorageFullError naming the file and leaves it exactly as before (the mark has not moved; the
   * same entries can be written again). Throws a SinkError after close or while a
   * {@link writeAsync} is pending, a RangeError for a field value with a line break (nothing
   * written).
   */
  write(entries: readonly WarcEntry[]): WarcMark {
    this.checkIdle();
    if (entries.length === 0) return this.mark();
    return this.appendSerialized(serializeBatch(this.prepare(entries)));
  }

  /**
   * {@link write}, with the records serialized by `serializer` (a WarcThread: digests and gzip
   * off the calling thread) and only the append done here; resolves to the mark after them. In a
   * plain `.warc`, a batch of one entry with a body under 8 KiB is serialized inline, where the
   * thread's round trip would cost more (see INLINE_MAX_BODY). Same file, same guarantees:
   * rotation between batches and the warcinfo record are decided before serializing; the bytes
   * go out in one append, all or nothing — a full disk rejects with a StorageFullError naming the
   * file and leaves it exactly as before (the mark has not moved). Rejects with what the
   * serializer rejects with (a RangeError for a field value with a line break; a dead thread's
   * cause), with nothing written, and with a SinkError when the writer was closed while the batch
   * was being serialized. Whether the entries can be written again afterwards depends on the
   * serializer (a WarcThread with moveBodies has moved their large bodies away).
   *
   * One write at a time: the crawl's Archive runs its flushes one after another, so writes never
   * overlap. Calling write or writeAsync while one is pending throws a SinkError at once (the
   * warcinfo and rotation decisions assume the previous batch is in), as does calling it after
   * close.
   */
  writeAsync(entries: readonly WarcEntry[], serializer: WarcSerializer): Promise<WarcMark> {
    this.checkIdle();
    if (entries.length === 0) return Promise.resolve(this.mark());
    if (!this.gzip && entries.length === 1 && entries[0]!.exchange.responseBody.length < INLINE_MAX_BODY) {
      try {
        return Promise.resolve(this.write(entries));
      } catch (err) {
        return Promise.reject(err);
      }
    }
    const batch = this.prepare(entries);
    this.pending = true;
    return serializer.serialize(batch).then(
      (bytes) => {
        this.pending = false;
        if (this.closed) throw new SinkError(`WARC output ${this.file.path} is closed`);
        return this.appendSerialized(bytes);
      },
      (err: unknown) => {
        this.pending = false;
        throw err;
      },
    );
  }

  /** Throws a SinkError after close or while a writeAsync is pending. */
  private checkIdle(): void {
    if (this.closed) throw new SinkError(`WARC output ${this.file.path} is closed`);
    if (this.pending) {
      throw new SinkError(
        `WARC output ${this.file.path}: a write is still pending (batches must be written one at a time)`,
      );
    }
  }

  /**
   * The next batch's records to serialize: rotates first in dir mode when the current file has
   * reached maxSize, and puts the warcinfo record first when the (current) file is empty.
   */
  private prepare(entries: readonly WarcEntry[]): WarcBatch {
    if (this.dir !== null && this.file.size >= this.maxSize) this.rotate();
    const head =
      this.file.size === 0
        ? warcinfoRecord({
            id: this.warcinfoId,
            date: this.now(),
            filename: basename(this.file.path),
            software: this.software,
            info: this.info,
          })
        : null;
    return { head, entries, warcinfoId: this.warcinfoId, gzip: this.gzip };
  }

  /** Appends a prepared batch's bytes in one all-or-nothing append; the mark after them. */
  private appendSerialized(bytes: Buffer): WarcMark {
    this.file.append(bytes);
    return this.mark();
  }

  /**
   * Replaces the current file's bytes from `start` on with `bytes` (a repair of its last batch:
   * the same records less some, see redis/warc-marks.ts) and returns the mark after them. Throws a
   * SinkError when `path` is not the current file or the writer is closed or busy, a RangeError
   * when `start` is past the end, and what the append throws (the file is then cut at `start`).
   */
  replaceTail(path: string, start: number, bytes: Buffer): WarcMark {
    this.checkIdle();
    if (resolve(path) !== resolve(this.file.path))
      throw new SinkError(`WARC output ${path} is not the current file (${this.file.path})`);
    this.file.truncate(start);
    return this.appendSerialized(bytes);
  }

  /** Closes the current file; later writes throw. Idempotent. */
  close(): void {
    this.closed = true;
    this.file.close();
  }

  /** Starts the next rotated file. The new file is opened before the old one is closed, so a failure changes nothing. */
  private rotate(): void {
    const next = new AppendFile(this.freeName(), undefined);
    this.file.close();
    this.file = next;
    this.warcinfoId = newRecordId();
    this.opened.push(next.path);
  }

  /** The next rotated file name not yet taken in the directory (advancing `seq`). */
  private freeName(): string {
    const dir = this.dir as string;
    for (;;) {
      const path = join(dir, rotatedName(this.prefix, this.now(), ++this.seq));
      if (!fs.existsSync(path)) return path;
    }
  }

  /** Deletes this prefix's rotated files named after `current` with a higher sequence number. */
  private deleteNewer(current: string): void {
    const dir = this.dir as string;
    const own = parseRotated(this.prefix, current) as { ts: string; seq: number };
    for (const name of fs.readdirSync(dir)) {
      const f = parseRotated(this.prefix, name);
      if (f === null || f.seq <= own.seq || f.ts < own.ts) continue;
      try {
        fs.unlinkSync(join(dir, name));
      } catch (err) {
        throw new SinkError(
          `cannot resume WARC output ${join(dir, current)}: cannot delete the uncommitted ${name}: ${(err as Error).message}`,
        );
      }
    }
  }

  /**
   * The resume check: the kept prefix must start with a warcinfo record (whose id later records
   * name). Returns its WARC-Record-ID, or the problem. A plain file's prefix must also end at a
   * record's end.
   */
  private firstWarcinfo(path: string, keep: number): string {
    const records = readWarc(path, keep);
    try {
      const first = records.next();
      if (first.done === true || warcField(first.value, 'WARC-Type') !== 'warcinfo') {
        return 'the file does not start with a warcinfo record (not written by trawl; use --fresh to start over)';
      }
      const id = warcField(first.value, 'WARC-Record-ID');
      if (id === undefined || !id.startsWith('<')) return 'its warcinfo record has no WARC-Record-ID';
      if (!this.gzip) {
        const tail = Buffer.alloc(4);
        const fd = fs.openSync(path, 'r');
        try {
          fs.readSync(fd, tail, 0, 4, keep - 4);
        } finally {
          fs.closeSync(fd);
        }
        if (tail.toString('latin1') !== '\r\n\r\n') {
          return `the committed offset ${keep} is not at the end of a record (the file was modified; use --fresh to start over)`;
        }
      }
      return id;
    } catch (err) {
      return `${(err as Error).message} (use --fresh to start over)`;
    } finally {
      records.return(undefined);
    }
  }
}
