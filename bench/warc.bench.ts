// `npx tsx bench/warc.bench.ts [pages] [batch sizes] [body bytes] [.warc.gz|.warc]`: main-thread cost of archiving a page
// (--warc x.warc.gz) — WarcWriter.write (serialized inline) against writeAsync on a WarcThread
// with the bodies moved, as the crawl's Archive does it, for batches of several sizes. Pages are
// real test-site pages (~20 KB, as bench/crawl.bench.ts crawls) with the wire tap's layout (a
// response body that owns its memory). Main-thread time is the event loop's active time
// (performance.eventLoopUtilization) over the writes: the loop idles while the thread works.
// Prints µs of main-thread time per page and the thread's wall time per batch.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Exchange } from '../src/crawl/exchange.js';
import { WarcThread } from '../src/crawl/store/warc-thread.js';
import { type WarcEntry, WarcWriter } from '../src/crawl/store/warc-writer.js';
import { startTestSite } from '../src/testsite/server.js';
import { median } from './bench-helpers.js';

const pages = Number(process.argv[2] ?? '6400');
const sizes = (process.argv[3] ?? '64,16,4,2,1').split(',').map(Number);
/** Cut every body to this many bytes (0: whole pages), to see where a thread stops paying off. */
const cut = Number(process.argv[4] ?? '0');
/** `.warc.gz` (default) or `.warc`. */
const ext = process.argv[5] ?? '.warc.gz';

// Real pages: the test site's home and the pages it links to.
const site = await startTestSite({ pages: 100, linksPerPage: 20, pageBytes: 20000 });
const home = await (await fetch(site.url)).text();
const paths = [...home.matchAll(/href="(\/[^"]*)"/g)].map((m) => m[1] as string).slice(0, 16);
const bodies: Buffer[] = [];
for (const p of paths) {
  const b = Buffer.from(await (await fetch(new URL(p, site.url))).arrayBuffer());
  bodies.push(cut > 0 ? b.subarray(0, cut) : b);
}
await site.close();
const avg = bodies.reduce((n, b) => n + b.length, 0) / bodies.length;

const requestHead = (path: string) =>
  Buffer.from(
    `GET ${path} HTTP/1.1\r\nhost: 127.0.0.1\r\nuser-agent: trawl/0.1.0\r\naccept: text/html\r\naccept-encoding: gzip, br\r\n\r\n`,
    'latin1',
  );
/** One page's entry as the crawl hands it over: heads from strings, the body a Buffer.concat copy. */
function entry(i: number): WarcEntry {
  const body = bodies[i % bodies.length] as Buffer;
  const path = paths[i % paths.length] as string;
  const ex: Exchange = {
    url: `http://127.0.0.1${path}?${i}`,
    date: Date.now(),
    ip: '127.0.0.1',
    requestHead: requestHead(path),
    requestBody: null,
    responseHead: Buffer.from(
      `HTTP/1.1 200 OK\r\ncontent-type: text/html; charset=utf-8\r\ncontent-length: ${body.length}\r\ndate: ${new Date().toUTCString()}\r\n\r\n`,
      'latin1',
    ),
    status: 200,
    responseBody: Buffer.concat([body], body.length),
  };
  return { type: 'exchange', exchange: ex };
}

const dir = mkdtempSync(join(tmpdir(), 'trawl-warc-bench-'));
type Mode = 'sync' | 'thread';

/** Main-thread µs per page and median wall ms per batch, writing `pages` pages in batches of `size`. */
async function run(mode: Mode, size: number, thread: WarcThread): Promise<{ us: number; ms: number }> {
  const w = new WarcWriter({ file: join(dir, `${mode}-${size}${ext}`), software: 'bench' });
  let active = 0;
  const walls: number[] = [];
  // Entries are made 20 batches at a time, outside the measured windows (the bodies are moved).
  for (let done = 0; done < pages; ) {
    const batches: WarcEntry[][] = [];
    for (let b = 0; b < 20 && done < pages; b++, done += size) {
      batches.push(Array.from({ length: Math.min(size, pages - done) }, (_, k) => entry(done + k)));
    }
    await new Promise((r) => setImmediate(r));
    const elu0 = performance.eventLoopUtilization();
    for (const batch of batches) {
      const t0 = performance.now();
      if (mode === 'sync') w.write(batch);
      else await w.writeAsync(batch, thread);
      walls.push(performance.now() - t0);
    }
    active += performance.eventLoopUtilization(elu0).active;
  }
  w.close();
  return { us: (active * 1000) / pages, ms: median(walls) };
}

const thread = new WarcThread({ moveBodies: true });
await run('thread', 64, thread); // warm-up: JIT on both threads
await run('sync', 64, thread);
process.stdout.write(
  `${pages} pages of ${(avg / 1000).toFixed(2)} KB on average, into ${ext}; main-thread µs per page (batch wall ms)\n`,
);
process.stdout.write('batch   sync µs/page   thread µs/page   sync ms/batch  thread ms/batch\n');
for (const size of sizes) {
  const us: Record<Mode, number[]> = { sync: [], thread: [] };
  const ms: Record<Mode, number[]> = { sync: [], thread: [] };
  for (let rep = 0; rep < 3; rep++) {
    for (const mode of ['sync', 'thread'] as const) {
      const r = await run(mode, size, thread);
      us[mode].push(r.us);
      ms[mode].push(r.ms);
    }
  }
  process.stdout.write(
    `${String(size).padStart(5)} ${median(us.sync).toFixed(1).padStart(14)} ${median(us.thread).toFixed(1).padStart(16)} ${median(ms.sync).toFixed(2).padStart(15)} ${median(ms.thread).toFixed(2).padStart(16)}\n`,
  );
}
await thread.close();
rmSync(dir, { recursive: true, force: true });
