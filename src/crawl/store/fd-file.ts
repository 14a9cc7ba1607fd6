import * as fs from 'node:fs';
import { SinkError } from './sink.js';
import { asStorageFull } from './storage-full.js';

/**
 * An append-only file written with synchronous `write(2)` calls on a raw descriptor, the shared
 * plumbing of the text sinks. Each write reaches the kernel before returning (so it survives the
 * death of the process); no fsync, so it does not survive a power cut or kernel crash.
 */
export class AppendFile {
  readonly path: string;
  private fd: number | null = null;
  /** Bytes in the file (its committed prefix plus everything appended since open). */
  size: number;
  /** Bytes the file held before a fresh open replaced them (0 on resume or a new file). */
  readonly replaced: number;

  /**
   * Opens `path` for appending. With `resumeOffset` the file must hold at least that many bytes
   * and is truncated to exactly that many; without, it is created or truncated to empty.
   * `check` (resume only, when the kept prefix is not empty) inspects the kept prefix before
   * anything is cut: a returned message aborts the open with a SinkError and leaves the file as
   * it was.
   */
  constructor(
    path: string,
    resumeOffset: number | undefined,
    check?: (file: AppendFile, keep: number) => string | undefined,
  ) {
    this.path = path;
    let existing = -1;
    try {
      existing = fs.statSync(path).size;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
        throw new SinkError(`cannot open output ${path}: ${(err as Error).message}`);
      }
    }
    if (resumeOffset !== undefined) {
      if (!Number.isSafeInteger(resumeOffset) || resumeOffset < 0) {
        throw new SinkError(`cannot resume output ${path}: invalid committed offset ${resumeOffset}`);
      }
      if (existing < resumeOffset) {
        throw new SinkError(
          existing < 0
            ? `cannot resume output ${path}: the file is missing but the state file records ${resumeOffset} committed bytes (use --fresh to start over)`
            : `cannot resume output ${path}: it holds ${existing} bytes but ${resumeOffset} were committed (the file was truncated or replaced; use --fresh to start over)`,
        );
      }
    }
    const keep = resumeOffset ?? 0;
    try {
      this.fd = fs.openSync(path, existing < 0 ? 'w' : 'r+');
    } catch (err) {
      throw (
        asStorageFull(err, path) ?? new SinkError(`cannot open output ${path}: ${(err as Error).message}`)
      );
    }
    this.size = keep;
    const problem = keep > 0 && check !== undefined ? check(this, keep) : undefined;
    if (problem !== undefined) {
      this.close();
      throw new SinkError(`cannot resume output ${path}: ${problem}`);
    }
    try {
      if (existing !== keep) fs.ftruncateSync(this.fd, keep);
    } catch (err) {
      this.close();
      throw new SinkError(`cannot truncate output ${path}: ${(err as Error).message}`);
    }
    this.replaced = resumeOffset === undefined && existing > 0 ? existing : 0;
  }

  /** Reads up to `length` bytes at `position` (for resume sanity checks). */
  read(position: number, length: number): Buffer {
    const buf = Buffer.alloc(length);
    const n = fs.readSync(this.requireFd(), buf, 0, length, position);
    return buf.subarray(0, n);
  }

  /**
   * Appends the whole buffer at the end (looping over short writes) and returns the new size.
   * All or nothing: when a write fails part-way (a full disk typically accepts a short write and
   * then fails the next one with ENOSPC) the file is cut back to its size before the call, so it
   * never ends in a half-written record, `size` is unchanged and a later append (after space was
   * freed) continues from the same place. A full disk or quota (ENOSPC, EDQUOT, EFBIG) throws a
   * StorageFullError naming the file; any other error is rethrown as it is. If even the cut-back
   * fails, the file is closed, so nothing can be appended after the torn tail (a resume cuts it
   * away at the committed mark).
   */
  append(buf: Buffer): number {
    const fd = this.requireFd();
    let done = 0;
    try {
      while (done < buf.length) {
        done += fs.writeSync(fd, buf, done, buf.length - done, this.size + done);
      }
    } catch (err) {
      if (done > 0) {
        try {
          // Shrinking needs no space, so this works on a full disk.
          fs.ftruncateSync(fd, this.size);
        } catch {
          this.close();
        }
      }
      throw asStorageFull(err, this.path) ?? err;
    }
    this.size += buf.length;
    return this.size;
  }

  /** Cuts the file to its first `size` bytes (not more than it holds); later appends go after them. */
  truncate(size: number): void {
    if (size > this.size)
      throw new RangeError(`cannot cut ${this.path} to ${size} bytes: it holds ${this.size}`);
    fs.ftruncateSync(this.requireFd(), size);
    this.size = size;
  }

  /** Closes the descriptor; idempotent. */
  close(): void {
    if (this.fd !== null) {
      fs.closeSync(this.fd);
      this.fd = null;
    }
  }

  private requireFd(): number {
    if (this.fd === null) throw new SinkError(`output ${this.path} is closed`);
    return this.fd;
  }
}
