import { availableParallelism } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { VERSION } from '../../version.js';
import type { Frontier } from '../frontier/frontier.js';
import { MemoryFrontier } from '../frontier/memory-frontier.js';
import { type CrawlOptions, UsageError } from '../options.js';
import { exportItems, exportState } from '../state/export.js';
import { SqliteFrontier } from '../state/sqlite-frontier.js';
import { inspectStateFile, openState, removeState, type StateMeta } from '../state/state-db.js';
import { type ItemSink, openItemSink } from '../store/item-sink.js';
import { openSink } from '../store/open-sink.js';
import type { Sink } from '../store/sink.js';
import { WarcWriter } from '../store/warc-writer.js';
import { ensureWritableSpace } from '../store/writable-space.js';
import { Archive } from './archive.js';

/** A crawl's storage: where its URLs wait and where its records go. */
export interface OpenedStorage {
  frontier: Frontier;
  sink: Sink | null;
  /** The items output (--items), or null. */
  items: ItemSink | null;
  /** The WARC output (--warc, --warc-dir), or null. */
  archive: Archive | null;
  /** True when an existing state file was resumed. */
  resumed: boolean;
  /** True when the frontier is durable (a state file): a stopped crawl can be resumed. */
  durable: boolean;
}

/**
 * Opens the frontier and output for a crawl (memory or SQLite, as the options say), synchronously, so every problem (unwritable
 * output, a foreign or newer state file, a state file of another crawl, an output that doesn't
 * match the one the state was writing) is thrown before any request is made.
 *
 * Without `state` the frontier is in memory and the output is written fresh. With `state` an
 * existing file is resumed (unless `fresh`): the output is cut back to the state's last
 * committed mark, so records are written exactly once across crashes.
 */
export function openStorage(o: CrawlOptions, name: string): OpenedStorage {
  if (!o.state) {
    ensureWritableSpace(files(o.out, o.items, warcFile(o))); // a full disk is refused before any request (StorageFullError)
    const sink = o.out ? openSink(o.out) : null;
    const items = o.items ? openItemSink(o.items) : null;
    return {
      frontier: new MemoryFrontier({ expected: o.expect }),
      sink,
      items,
      archive: openArchive(o, name, undefined),
      resumed: false,
      durable: false,
    };
  }
  const path = o.state;
  if (o.fresh) removeState(path);
  ensureWritableSpace(files(path, o.out, o.items, warcFile(o))); // a full disk is refused before any request (StorageFullError)
  const existed = inspectStateFile(path) === 'ok';
  // A recrawl pass may write to other outputs than the pass before it (see startRecrawl).
  const checkOutputs = existed && o.recrawl !== true;
  if (existed)
    refuseMismatch(path, name, checkOutputs ? o.out : undefined, checkOutputs ? o.items : undefined);
  const state = openState(path, { create: true, name, seeds: o.seeds, options: persistable(o) });
  try {
    if (existed) state.checkCompatible({ name });
    const frontier = new SqliteFrontier(state, { expected: o.expect, recrawl: o.recrawl === true });
    const newPass = o.recrawl === true && startRecrawl(frontier, o);
    const meta = state.meta;
    if (checkOutputs || (existed && o.recrawl === true && !newPass))
      outputMismatch(path, meta, o.out, o.items);
    let sink: Sink | null = null;
    if (newPass) {
      // A new pass writes its own records: the outputs start empty, with marks to match.
      if (o.out) sink = openSink(o.out);
    } else if (o.retryFailed) {
      frontier.requeueFailed();
      if (o.out) {
        // The failed records must leave the output too: rewrite it from the state's results.
        const mark = exportState(path, o.out);
        state.setOutMark(mark);
        sink = openSink(o.out, { resumeOffset: mark.offset });
      }
    } else if (o.out) {
      const resumeOffset = existed && meta.outPath ? (meta.outOffset ?? 0) : undefined;
      sink = openSink(o.out, { resumeOffset });
    }
    let items: ItemSink | null = null;
    if (o.items && o.retryFailed) {
      // The failed pages' items left the state with their records: rewrite the items output too.
      const mark = exportItems(path, o.items);
      state.setItemsMark(mark);
      items = openItemSink(o.items, { resumeOffset: mark.offset });
    } else if (o.items && newPass) {
      items = openItemSink(o.items);
    } else if (o.items) {
      // Cut back to the committed mark, as the records are (exactly-once items across a crash).
      const resumeOffset = existed && meta.itemsPath ? (meta.itemsOffset ?? 0) : undefined;
      items = openItemSink(o.items, { resumeOffset });
    }
    const archive = openArchive(o, name, existed ? state.meta : undefined);
    return { frontier, sink, items, archive, resumed: existed, durable: true };
  } catch (err) {
    state.close();
    // A refused start (e.g. an unwritable --out) must not leave a new, empty state behind.
    if (!existed) removeState(path);
    throw err;
  }
}

/**
 * Opens the WARC output, if any. With the meta of a state that was writing WARC into the same
 * file (or directory), the output continues from its committed mark — after a crash the torn tail
 * is cut away, and a recrawl pass appends to the archive of the passes before it; otherwise the
 * file starts anew. The state's list of WARC files carries over either way. With `owner` (a
 * distributed crawl's process id) the file is this process's own: `--warc a.warc.gz` becomes
 * `a-<owner>.warc.gz`, `--warc-dir` files are named `trawl-<owner>-…` (characters other than
 * letters, digits, `.`, `_` and `-` become `-`).
 */
export function openArchive(
  o: CrawlOptions,
  name: string,
  meta: StateMeta | undefined,
  owner?: string,
): Archive | null {
  if (o.warc === undefined && o.warcDir === undefined) return null;
  const tag = owner?.replace(/[^A-Za-z0-9._-]/g, '-');
  const file =
    o.warc === undefined || tag === undefined ? o.warc : o.warc.replace(/(\.warc(?:\.gz)?)$/, `-${tag}$1`);
  const last = meta?.warcPath;
  const same =
    last !== undefined &&
    (o.warc !== undefined
      ? resolve(last) === resolve(o.warc)
      : dirname(resolve(last)) === resolve(o.warcDir!));
  const writer = new WarcWriter({
    ...(file !== undefined ? { file } : { dir: o.warcDir! }),
    ...(tag === undefined || file !== undefined ? {} : { prefix: `trawl-${tag}` }),
    ...(o.warcMaxSize === undefined ? {} : { maxSize: o.warcMaxSize }),
    ...(same ? { resume: { path: last, offset: meta?.warcOffset ?? 0 } } : {}),
    software: `trawl/${VERSION}`,
    info: {
      isPartOf: name,
      'http-header-user-agent': o.userAgent,
      robots: o.ignoreRobots ? 'ignore' : 'obey',
    },
  });
  // Serialize on a thread of its own only with a core to spare beyond the main and parse threads
  // (measured: where every core is busy the thread's messaging costs more than it saves).
  return new Archive(writer, meta?.warcFiles ?? [], { thread: availableParallelism() > 1 + o.parsers });
}

/**
 * Starts or continues a recrawl pass on an opened state (see CrawlOptions.recrawl). When nothing
 * is queued the last pass (or crawl) finished, and a new pass starts now: its start time goes in
 * meta, the output marks are reset (its outputs are written from empty), and the done pages it
 * visits are queued again — all fetched before the pass started, or, with a duration, before
 * that long ago, or with `auto` those whose own interval has passed. With work still queued, the
 * pass that was interrupted goes on (pages it already revisited were stored after its start, so
 * they are not queued again). Returns true for a new pass.
 */
function startRecrawl(frontier: SqliteFrontier, o: CrawlOptions): boolean {
  const state = frontier.state;
  const now = Date.now();
  const fresh = frontier.stats().queued === 0;
  const started = fresh ? now : (state.meta.recrawlStartedAt ?? now);
  const after = o.recrawlAfter ?? 0;
  const before = after === 'auto' ? started : Math.min(started, now - after);
  state.db.transaction(() => {
    if (fresh) {
      state.setMeta('recrawl_started', String(started));
      if (o.out) state.setOutMark({ path: o.out, offset: 0 });
      if (o.items) state.setItemsMark({ path: o.items, offset: 0 });
    }
  })();
  frontier.requeueForRecrawl(before, after === 'auto', now);
  return fresh;
}

/**
 * Checks through a read-only connection that an existing state file belongs to this crawl and
 * writes to this output, throwing (StateError/UsageError) if not. A writable open marks the file
 * as in use and checkpoints on close, which would change its bytes; a state file that is refused
 * must be left exactly as it was found.
 */
function refuseMismatch(
  path: string,
  name: string,
  out: string | undefined,
  items: string | undefined,
): void {
  const state = openState(path, { readonly: true });
  try {
    state.checkCompatible({ name });
    outputMismatch(path, state.meta, out, items);
  } finally {
    state.close();
  }
}

/** Refuses to resume a state into other output files than the ones its committed marks refer to. */
function outputMismatch(
  path: string,
  meta: StateMeta,
  out: string | undefined,
  items: string | undefined,
): void {
  if (meta.outPath && out && resolve(meta.outPath) !== resolve(out)) {
    throw new UsageError(
      `state ${path} writes its records to ${meta.outPath}; pass --out ${meta.outPath}, or --fresh to start over`,
    );
  }
  if (meta.itemsPath && items && resolve(meta.itemsPath) !== resolve(items)) {
    throw new UsageError(
      `state ${path} writes its items to ${meta.itemsPath}; pass --items ${meta.itemsPath}, or --fresh to start over`,
    );
  }
}

/**
 * The options recorded in a new state file (JSON-safe; functions and signals dropped, and the
 * secrets no resume needs: `headers` may hold a token, `proxies` the proxies' passwords).
 */
function persistable(o: CrawlOptions): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) {
    if (typeof v === 'function' || v instanceof AbortSignal || k === 'headers' || k === 'proxies') continue;
    out[k] = v === Number.POSITIVE_INFINITY ? 'inf' : v;
  }
  return out;
}

/** A file where the WARC output goes, for the space check: --warc, or a name in --warc-dir. */
function warcFile(o: CrawlOptions): string | undefined {
  return o.warc ?? (o.warcDir === undefined ? undefined : join(o.warcDir, 'trawl.warc.gz'));
}

/** The paths that are files ('-' is standard output: no disk space to check). */
function files(...paths: (string | undefined)[]): (string | undefined)[] {
  return paths.filter((p) => p !== '-');
}
