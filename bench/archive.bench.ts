// `npm run bench:archive [pages] [rounds]`: what issue 14's features cost and save, on the crawl
// benchmark's site (20k pages of ~20 KB, ~20 links, no latency; its own process) with validators
// and generations in which 5 % of the pages change. Each round, in fresh processes: plain (no
// state) and warc (the same with --warc FILE.warc.gz); first (a fresh SQLite state), then the site
// moves one generation and recrawl (--recrawl of that state); cache-fill (--cache, empty) and
// cache-replay (--cache, filled). Rounds are interleaved; the table shows medians, and the ratios
// the issue asks for: --warc's cost in pages/s, recrawl speed and bytes against the first crawl,
// replay against the plain live crawl.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { median } from './bench-helpers.js';

const pages = process.argv[2] ?? '20000';
const rounds = Number(process.argv[3] ?? '3');
const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));

const server: ChildProcess = spawn(
  process.execPath,
  ['--import', 'tsx', here('./archive/site-process.ts'), pages, '20', '20000'],
  { stdio: ['pipe', 'pipe', 'inherit'] },
);
const lines = createInterface({ input: server.stdout! })[Symbol.asyncIterator]();
const next = async (): Promise<string> => (await lines.next()).value as string;
const url = (await next()).trim();
process.stdout.write(`site: ${url} (${pages} pages, ~20 KB, ~20 links, 5 % change per generation)\n`);

type Row = Record<string, number | string | Record<string, number>>;
const rows = new Map<string, Row[]>();
function run(variant: string, dir: string): Row {
  const r = spawnSync(
    process.execPath,
    ['--max-semi-space-size=4', '--import', 'tsx', here('./archive/run-variant.ts'), variant, url, dir],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const row = JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}') as Row;
  rows.set(variant, [...(rows.get(variant) ?? []), row]);
  process.stdout.write(`round ${rows.get(variant)!.length}: ${JSON.stringify(row)}\n`);
  return row;
}

for (let round = 0; round < rounds; round++) {
  const dir = mkdtempSync(join(tmpdir(), 'trawl-archive-bench-'));
  run('plain', dir);
  run('warc', dir);
  run('first', dir);
  server.stdin!.write('advance\n');
  process.stdout.write(`site moved: ${await next()}\n`);
  run('recrawl', dir);
  run('cache-fill', dir);
  run('cache-replay', dir);
  rmSync(dir, { recursive: true, force: true });
}
server.kill('SIGTERM');

const med = (v: string, k: string): number => median((rows.get(v) ?? []).map((r) => Number(r[k])));
process.stdout.write(
  '\nvariant        pages   pages/s   CPU s  peak RSS MB   body MB  requests   (medians)\n',
);
for (const v of rows.keys()) {
  process.stdout.write(
    `${v.padEnd(13)} ${med(v, 'pages').toFixed(0).padStart(6)} ${med(v, 'pagesPerSec').toFixed(0).padStart(9)} ${med(v, 'cpuSec').toFixed(1).padStart(7)} ${med(v, 'peakRssMB').toFixed(0).padStart(12)} ${(med(v, 'bytes') / 2 ** 20).toFixed(1).padStart(9)} ${med(v, 'requests').toFixed(0).padStart(9)}\n`,
  );
}
const ratio = (a: number, b: number) => (a / b).toFixed(2);
process.stdout.write(
  `\n--warc pages/s vs plain:          ${ratio(med('warc', 'pagesPerSec'), med('plain', 'pagesPerSec'))} (cost ${(100 * (1 - med('warc', 'pagesPerSec') / med('plain', 'pagesPerSec'))).toFixed(1)} %)\n`,
);
process.stdout.write(
  `recrawl wall time vs first crawl: ${ratio(med('first', 'seconds'), med('recrawl', 'seconds'))}x faster; body bytes ${(100 * (med('recrawl', 'bytes') / med('first', 'bytes'))).toFixed(1)} % of the first crawl's\n`,
);
process.stdout.write(
  `cache replay pages/s vs plain:    ${ratio(med('cache-replay', 'pagesPerSec'), med('plain', 'pagesPerSec'))}x (cache-fill: ${ratio(med('cache-fill', 'pagesPerSec'), med('plain', 'pagesPerSec'))}x)\n`,
);
