// `npm run bench:crawl [pages] [variants] [rounds]`: crawls the generated test site (20k pages of
// ~20 KB with ~20 links each, no latency) with trawl (--rate inf --max-connections 64) and with a
// bare undici + htmlparser2 + Set loop, each in a fresh process against the same site server (in
// a third process). Rounds are interleaved (every variant once per round, default 3); the table
// shows medians of pages/s, CPU ms per page and peak RSS, and both against the bare loop.
// trawl's variants run with the V8 flag bin/trawl.js gives node (--max-semi-space-size=4); the
// bare loop with node's defaults, as such a loop's users would run it. `trawl-sqlite` is the
// default crawl (SQLite state, robots.txt, metrics, JSONL output).
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { median } from './bench-helpers.js';

const pages = process.argv[2] ?? '20000';
const variants = (
  process.argv[3] ?? 'bare,trawl,trawl-parsers0,trawl-parsers2,trawl-sqlite,trawl-dashboard'
).split(',');
const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));

const server: ChildProcess = spawn(
  process.execPath,
  ['--import', 'tsx', here('./crawl/site-process.ts'), pages, '20', '20000'],
  {
    stdio: ['ignore', 'pipe', 'inherit'],
  },
);
const url = await new Promise<string>((resolve) => {
  server.stdout!.once('data', (d: Buffer) => resolve(d.toString().trim()));
});
process.stdout.write(`site: ${url} (${pages} pages, ~20 KB, ~20 links)\n`);
const rounds = Number(process.argv[4] ?? '3');
const rows = new Map<string, Record<string, number | string>[]>();
for (let round = 1; round <= rounds; round++) {
  for (const v of variants) {
    const args = ['--import', 'tsx', here('./crawl/run-variant.ts'), v, url];
    const r = spawnSync(process.execPath, v === 'bare' ? args : ['--max-semi-space-size=4', ...args], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const line = r.stdout.trim().split('\n').pop() ?? '{}';
    rows.set(v, [...(rows.get(v) ?? []), JSON.parse(line) as Record<string, number | string>]);
    process.stdout.write(`round ${round}: ${line}\n`);
  }
}
server.kill('SIGTERM');
const med = (v: string, k: string): number => median((rows.get(v) ?? []).map((r) => Number(r[k])));
const cpuPerPage = (v: string): number =>
  median((rows.get(v) ?? []).map((r) => (1000 * Number(r.cpuSec)) / Number(r.pages)));
const hasBare = rows.has('bare');
process.stdout.write(
  `\nmedians of ${rounds} interleaved rounds\nvariant             pages   pages/s  vs bare  CPU ms/page  vs bare  peak RSS MB\n`,
);
for (const v of rows.keys()) {
  const speed = hasBare ? (med(v, 'pagesPerSec') / med('bare', 'pagesPerSec')).toFixed(2) : '-';
  const cpu = hasBare ? (cpuPerPage(v) / cpuPerPage('bare')).toFixed(2) : '-';
  process.stdout.write(
    `${v.padEnd(18)} ${med(v, 'pages').toFixed(0).padStart(6)} ${med(v, 'pagesPerSec').toFixed(0).padStart(9)} ${speed.padStart(8)} ${cpuPerPage(v).toFixed(3).padStart(12)} ${cpu.padStart(8)} ${med(v, 'peakRssMB').toFixed(0).padStart(12)}\n`,
  );
}
