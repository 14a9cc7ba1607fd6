// The ceiling a recrawl can reach on the archive benchmark's site: a bare loop of the same
// conditional requests, and nothing else — 64 undici connections, each URL of the first crawl's
// state requested once with its stored validators (If-None-Match / If-Modified-Since), the body
// drained; no state, records, parsing or politeness. Run under plain `node` (default flags), the
// way such a loop's users would run it. Args: url dir (dir/state.db from the `first` variant).
// Prints one JSON line with the fields run-variant.ts prints.
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { Pool } from 'undici';

const [url = '', dir = ''] = process.argv.slice(2);
const db = new Database(join(dir, 'state.db'), { readonly: true });
const rows = db.prepare('SELECT url, etag, last_modified FROM results').all() as {
  url: string;
  etag: string | null;
  last_modified: string | null;
}[];
db.close();
const connections = 64;
const pool = new Pool(new URL(url).origin, { connections });
const changes: Record<string, number> = {};
let bytes = 0;
let next = 0;
const cpu0 = process.cpuUsage();
const t0 = performance.now();
await Promise.all(
  Array.from({ length: connections }, async () => {
    while (next < rows.length) {
      const r = rows[next++]!;
      const u = new URL(r.url);
      const headers: Record<string, string> = {};
      if (r.etag !== null) headers['if-none-match'] = r.etag;
      if (r.last_modified !== null) headers['if-modified-since'] = r.last_modified;
      const res = await pool.request({ path: u.pathname + u.search, method: 'GET', headers });
      for await (const chunk of res.body) bytes += (chunk as Buffer).length;
      const change = res.statusCode === 304 ? 'unchanged' : 'changed';
      changes[change] = (changes[change] ?? 0) + 1;
    }
  }),
);
const seconds = (performance.now() - t0) / 1000;
const cpu = process.cpuUsage(cpu0);
await pool.close();
process.stdout.write(
  `${JSON.stringify({
    variant: 'bare-recrawl',
    pages: rows.length,
    seconds,
    pagesPerSec: rows.length / seconds,
    cpuSec: (cpu.user + cpu.system) / 1e6,
    peakRssMB: process.memoryUsage.rss() / 2 ** 20,
    bytes,
    requests: rows.length,
    changes,
  })}\n`,
);
