import type { Redis } from 'ioredis';
import type { PageRecord } from '../record.js';
import { openSink } from '../store/open-sink.js';
import type { SinkMark } from '../store/sink.js';
import { crawlKeys } from './keys.js';

/**
 * Writes every record of Redis crawl `name` (in completion order) to `outPath` in the format its
 * extension names (JSONL, CSV or SQLite, through the ordinary sinks), replacing the file. Works
 * while the crawl runs: it writes the records stored when each 1000-record page is read (records
 * only ever append, so the result is a prefix of the final output). Returns the final mark and
 * the number of records written. Throws SinkError for an unknown extension or unwritable file.
 */
export async function exportRedis(
  client: Redis,
  name: string,
  outPath: string,
): Promise<{ mark: SinkMark; records: number }> {
  const key = crawlKeys(name).records;
  const sink = openSink(outPath, { resumeOffset: undefined });
  try {
    const total = await client.llen(key);
    let written = 0;
    let mark = sink.mark();
    for (let i = 0; i < total; i += 1000) {
      const page = await client.lrange(key, i, Math.min(i + 999, total - 1));
      mark = sink.write(page.map((s) => JSON.parse(s) as PageRecord));
      written += page.length;
    }
    return { mark, records: written };
  } finally {
    sink.close();
  }
}
