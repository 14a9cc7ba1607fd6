// `npm run bench:crawl [pages] [variants]`: crawls the generated test site (20k pages of ~20 KB
// with ~20 links each, no latency) with trawl (--rate inf --max-connections 64, every feature on)
// and with a bare undici + htmlparser2 + Set loop, each in a fresh process against the same
// site server (in a third process), and prints pages/s, CPU seconds and peak RSS side by side.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

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
const rows: Record<string, number | string>[] = [];
for (const v of variants) {
  // The same V8 setting as the `trawl` executable (bin/trawl.js), for every variant alike.
  const r = spawnSync(
    process.execPath,
    ['--max-semi-space-size=4', '--import', 'tsx', here('./crawl/run-variant.ts'), v, url],
    {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  const line = r.stdout.trim().split('\n').pop() ?? '{}';
  const row = JSON.parse(line) as Record<string, number | string>;
  rows.push(row);
  process.stdout.write(`${line}\n`);
}
server.kill('SIGTERM');
const bare = rows.find((r) => r.variant === 'bare');
process.stdout.write('\nvariant             pages   pages/s  vs bare  CPU s  peak RSS MB\n');
for (const r of rows) {
  const ratio = bare ? (Number(r.pagesPerSec) / Number(bare.pagesPerSec)).toFixed(2) : '-';
  process.stdout.write(
    `${String(r.variant).padEnd(18)} ${String(r.pages).padStart(6)} ${Number(r.pagesPerSec).toFixed(0).padStart(8)} ${ratio.padStart(8)} ${Number(r.cpuSec).toFixed(1).padStart(6)} ${Number(r.peakRssMB).toFixed(0).padStart(11)}\n`,
  );
}
