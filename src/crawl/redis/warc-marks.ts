/**
 * Exactly-once WARC output in a distributed crawl. Each process writes its own WARC file and
 * appends a batch's records before the batch's COMPLETE script runs; the script stores the file's
 * committed mark in the crawl's `warc` hash (file path → {@link WarcFileMark}) atomically with
 * the batch's done marks. Two things can then leave records in a file that no done page owns:
 *
 * - a tail past the mark: the process died between its append and COMPLETE (or inside the
 *   append). It is cut away by {@link repairWarcFile}.
 * - records of a completion that lost: the process held the page past its lease, another process
 *   fetched and stored it first, so COMPLETE stored nothing for it — but its records are in the
 *   batch. The entry then names them (`drop`), and the batch is rewritten without them
 *   ({@link dropRecords}): by the writer at once, or by a repair if it died first.
 *
 * The rewrite is crash-safe: the kept bytes go to a spool file (written, synced, renamed into
 * place) before the file is cut at the batch start and the spool appended; the entry forgets
 * `drop` only after that (WARC_FIXED), and only then is the spool deleted. Whatever point a crash
 * stops it at, running it again finishes the same rewrite. The file surgery itself is
 * store/warc-drop.ts; this file is what Redis records of it.
 */
import * as fs from 'node:fs';
import type { Redis } from 'ioredis';
import { dropRecords, removeSpools, replaceFileTail } from '../store/warc-drop.js';
import { LuaScript } from './connect.js';
import type { CrawlKeys } from './keys.js';
import { WARC_FIXED } from './scripts.js';

const warcFixedScript = new LuaScript(WARC_FIXED);

/** A WARC file's entry in a distributed crawl's `warc` hash, as the COMPLETE script writes it. */
export interface WarcFileMark {
  /** The lease owner id of the process writing the file. */
  owner: string;
  /** The committed length (the end of the last committed batch, before a pending drop). */
  mark: number;
  /** Where the last committed batch starts. */
  start: number;
  /** WARC-Record-IDs whose records must leave the last batch (space-separated); absent when none. */
  drop?: string;
}

/** Parses an entry of the `warc` hash. */
export function parseWarcFileMark(json: string): WarcFileMark {
  return JSON.parse(json) as WarcFileMark;
}

/** The {@link WarcFixed} of the crawl with keys `keys`: runs WARC_FIXED on its `warc` hash. */
export function warcFixed(client: Redis, keys: CrawlKeys): WarcFixed {
  return async (path, start, mark) => {
    await warcFixedScript.run(client, [keys.warc], [path, start, mark]);
  };
}

/**
 * Tells Redis a rewrite of `path`'s batch at `start` is done, with its new mark (the WARC_FIXED
 * script: the entry drops its `drop` list only if it still describes that batch).
 */
export type WarcFixed = (path: string, start: number, mark: number) => Promise<void>;

/** What {@link repairWarcFiles} did with one file of the crawl. */
export interface WarcFileState {
  path: string;
  /** The committed length after the repair. */
  mark: number;
  /** `repaired`: cut and/or rewritten now; `ok`: already at its mark; `missing`: not on this machine; `live`: its process is running (not touched). */
  state: 'repaired' | 'ok' | 'missing' | 'live';
}

/**
 * Brings WARC file `path` to exactly its committed records: applies a pending drop (see
 * {@link dropRecords}), tells Redis (`fixed`), removes the spools, and cuts a tail past the mark.
 * Returns the state and the final mark. Throws an Error when the file is shorter than its mark
 * (it was truncated or replaced by something else) or its last batch cannot be read.
 */
export async function repairWarcFile(
  path: string,
  entry: WarcFileMark,
  fixed: WarcFixed,
): Promise<WarcFileState> {
  if (!fs.existsSync(path)) return { path, mark: entry.mark, state: 'missing' };
  let mark = entry.mark;
  let changed = false;
  if (entry.drop !== undefined) {
    const drop = new Set(entry.drop.split(' '));
    mark = dropRecords(path, entry.start, entry.mark, drop, (at, bytes) => replaceFileTail(path, at, bytes));
    await fixed(path, entry.start, mark);
    changed = true;
  }
  removeSpools(path);
  const size = fs.statSync(path).size;
  if (size < mark)
    throw new Error(
      `WARC file ${path} holds ${size} bytes but ${mark} were committed (it was truncated or replaced)`,
    );
  if (size > mark) {
    fs.truncateSync(path, mark);
    changed = true;
  }
  return { path, mark, state: changed ? 'repaired' : 'ok' };
}

/**
 * Repairs (see {@link repairWarcFile}) every WARC file of the crawl with keys `keys` that is on
 * this machine and whose writer is not running (`live(owner)` false), and reports every file of
 * the crawl, oldest entry first in hash order. A file whose process is still live is left as it
 * is (its writer owns its tail).
 */
export async function repairWarcFiles(
  client: Redis,
  keys: CrawlKeys,
  live: (owner: string) => boolean,
): Promise<WarcFileState[]> {
  const all = await client.hgetall(keys.warc);
  const out: WarcFileState[] = [];
  const fixed = warcFixed(client, keys);
  for (const [path, json] of Object.entries(all)) {
    const e = parseWarcFileMark(json);
    if (live(e.owner)) {
      out.push({ path, mark: e.mark, state: 'live' });
      continue;
    }
    out.push(await repairWarcFile(path, e, fixed));
  }
  return out;
}
