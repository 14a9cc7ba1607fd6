import { writeFileSync } from 'node:fs';
import type { Redis } from 'ioredis';
import type { PageRecord } from '../record.js';
import { cdxjLines } from '../store/cdxj.js';
import { type ItemEntry, openItemSink } from '../store/item-sink.js';
import { openSink } from '../store/open-sink.js';
import type { SinkMark } from '../store/sink.js';
import { crawlKeys } from './keys.js';
import { liveMembers } from './presence.js';
import { repairWarcFiles, type WarcFileState } from './warc-marks.js';

/**
 * Writes every record of Redis crawl `name`'s current pass (in completion order; the first crawl
 * is pass 0, see --recrawl) to `outPath` in the format its extension names (JSONL, CSV or SQLite,
 * through the ordinary sinks), replacing the file. Works while the crawl runs: it writes the
 * records stored when each 1000-record page is read (records only ever append, so the result is
 * a prefix of the final output). Returns the final mark and the number of records written.
 * Throws SinkError for an unknown extension or unwritable file. A crawl stored by an earlier
 * trawl (its records in the `records` list) is exported from that list.
 */
export async function exportRedis(
  client: Redis,
  name: string,
  outPath: string,
): Promise<{ mark: SinkMark; records: number }> {
  const keys = crawlKeys(name);
  const sink = openSink(outPath, { resumeOffset: undefined });
  const legacy = (await client.exists(keys.order)) === 0 && (await client.exists(keys.records)) === 1;
  const { mark, count } = legacy
    ? await exportList(client, keys.records, sink, (page) => page.map((s) => JSON.parse(s) as PageRecord))
    : await exportList(client, keys.order, sink, async (ids) =>
        (await client.hmget(keys.last, ...ids)).map((s) => JSON.parse(s as string) as PageRecord),
      );
  return { mark, records: count };
}

/**
 * Writes every scraped item of Redis crawl `name` (in the order their pages' completions stored
 * them, each with its page's URL and handler label) to `file` through openItemSink (format from
 * the extension; the file is replaced). Works while the crawl runs: it writes the items stored
 * when it starts (the list's length is read once; items only ever append, and a page's items are
 * appended in one atomic step with its record, so no page's items are cut or repeated).
 * Returns the final mark and the number of items written.
 */
export async function exportRedisItems(
  client: Redis,
  name: string,
  file: string,
): Promise<{ mark: SinkMark; items: number }> {
  const { mark, count } = await exportList(
    client,
    crawlKeys(name).items,
    openItemSink(file, { resumeOffset: undefined }),
    (page) => page.map((s) => JSON.parse(s) as ItemEntry),
  );
  return { mark, items: count };
}

/**
 * Writes the CDXJ index (see cdxjLines) of the WARC files the processes of Redis crawl `name`
 * wrote (`--warc`, `--warc-dir`: one file or rotation per process, listed in the crawl's `warc`
 * hash) to `outPath`, replacing it. First repairs every listed file on this machine whose process
 * is no longer live (repairWarcFiles: a killed process's uncommitted tail is cut, records of pages
 * another process stored are removed), so the files hold each done page's records exactly once;
 * each file is indexed up to its committed mark (a live process's may be growing). Files on
 * other machines are left out and counted as `missing`. Returns the lines written and every
 * file's state. Throws an Error when a file is shorter than its mark or malformed.
 */
export async function exportRedisCdxj(
  client: Redis,
  name: string,
  outPath: string,
): Promise<{ lines: number; files: WarcFileState[] }> {
  const live = new Set(await liveMembers(client, name));
  const files = (await repairWarcFiles(client, crawlKeys(name), (owner) => live.has(owner))).sort((a, b) =>
    a.path < b.path ? -1 : a.path > b.path ? 1 : 0,
  );
  const here = files.filter((f) => f.state !== 'missing');
  const lines = cdxjLines(
    here.map((f) => f.path),
    new Map(here.map((f) => [f.path, f.mark])),
  );
  writeFileSync(outPath, lines.length === 0 ? '' : `${lines.join('\n')}\n`);
  return { lines: lines.length, files };
}

/**
 * The shared loop of exportRedis and exportRedisItems: reads the list at `key` in pages of 1000
 * up to the length it has when the export starts (entries appended later are left out) and
 * writes each page, decoded by `decode`, to `sink` in one write. Closes the sink whatever
 * happens; returns its final mark (its mark on open for an empty list) and the number of
 * entries written.
 */
async function exportList<T>(
  client: Redis,
  key: string,
  sink: { write(entries: readonly T[]): SinkMark; close(): void },
  decode: (page: string[]) => T[] | Promise<T[]>,
): Promise<{ mark: SinkMark; count: number }> {
  try {
    const total = await client.llen(key);
    let count = 0;
    let mark = sink.write([]);
    for (let i = 0; i < total; i += 1000) {
      const page = await client.lrange(key, i, Math.min(i + 999, total - 1));
      mark = sink.write(await decode(page));
      count += page.length;
    }
    return { mark, count };
  } finally {
    sink.close();
  }
}
