// `npm run bench:archive -- [pages] [rounds] [--net MODEL] [--only VARIANTS]`: what issue 14's
// features cost and save, on the crawl benchmark's site (20k pages of ~20 KB, ~20 links; its own
// process) with validators and generations in which 5 % of the pages change. Each round, in fresh
// processes: plain (no state) and warc (the same with --warc FILE.warc.gz); first (a fresh SQLite
// state), then the site moves one generation and recrawl (--recrawl of that state); cache-fill
// (--cache, empty) and cache-replay (--cache, filled). Rounds are interleaved; the table shows
// medians, and the ratios the issue asks for: --warc's cost in pages/s, recrawl speed, CPU and
// bytes against the first crawl, replay against the plain live crawl.
//
// --net (net-link.ts): `off` (the default: loopback with no latency, where the crawl is CPU-bound
// and what a recrawl or a cache saves on the network costs nothing), or e.g. `20ms,100mbit`: every
// response of every variant crosses a relay that delays it and paces all of them through one
// shared bandwidth (a cache replay makes no request, so it skips it by itself).
// bare-recrawl (bare-recrawl.ts, under plain node): the same conditional requests as the recrawl
// from a bare undici loop and nothing else — the most any recrawl can get from this site and link.
// --only: a comma-separated subset, e.g. `first,recrawl` (recrawl needs first, cache-replay
// cache-fill).
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { describeNet, parseNet } from './archive/net-link.js';
import { median } from './bench-helpers.js';

const VARIANTS = ['plain', 'warc', 'first', 'bare-recrawl', 'recrawl', 'cache-fill', 'cache-replay'] as const;
const positional: string[] = [];
let net = 'off';
let only: string[] = [...VARIANTS];
for (let i = 2; i < process.argv.length; i++) {
  const a = process.argv[i]!;
  const [flag, inline] = a.startsWith('--') ? a.split('=', 2) : [a, undefined];
  if (flag === '--net') net = inline ?? process.argv[++i] ?? '';
  else if (flag === '--only') only = (inline ?? process.argv[++i] ?? '').split(',').filter((v) => v !== '');
  else if (a.startsWith('--')) throw new Error(`unknown option ${a}`);
  else positional.push(a);
}
for (const v of only) {
  if (!(VARIANTS as readonly string[]).includes(v))
    throw new Error(`--only: no variant "${v}" (variants: ${VARIANTS.join(', ')})`);
}
for (const v of ['recrawl', 'bare-recrawl'])
  if (only.includes(v) && !only.includes('first')) throw new Error(`--only: ${v} needs first`);
if (only.includes('cache-replay') && !only.includes('cache-fill'))
  throw new Error('--only: cache-replay needs cache-fill');
const selected = new Set(only);
const pages = positional[0] ?? '20000';
const rounds = Number(positional[1] ?? '3');
const model = parseNet(net);
const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));

const server: ChildProcess = spawn(
  process.execPath,
  ['--import', 'tsx', here('./archive/site-process.ts'), pages, '20', '20000', net],
  { stdio: ['pipe', 'pipe', 'inherit'] },
);
const lines = createInterface({ input: server.stdout! })[Symbol.asyncIterator]();
const next = async (): Promise<string> => (await lines.next()).value as string;
const url = (await next()).trim();
process.stdout.write(`site: ${url} (${pages} pages, ~20 KB, ~20 links, 5 % change per generation)\n`);
process.stdout.write(`network: ${describeNet(model)}\n`);
// run-variant.ts loads dist/ when it exists: a stale build would measure old code.
process.stdout.write(
  `crawler: ${existsSync(here('../dist/index.js')) ? 'dist/ (npm run build after changing src/)' : 'src/ (tsx)'}, --rate inf, 64 connections; variants: ${[...selected].join(', ')}\n`,
);

type Row = Record<string, number | string | Record<string, number>>;
const rows = new Map<string, Row[]>();
function run(variant: string, dir: string): Row | undefined {
  if (!selected.has(variant)) return undefined;
  // trawl's variants run with the flags bin/trawl.js gives node; the bare loop with none.
  const args =
    variant === 'bare-recrawl'
      ? ['--import', 'tsx', here('./archive/bare-recrawl.ts'), url, dir]
      : ['--max-semi-space-size=4', '--import', 'tsx', here('./archive/run-variant.ts'), variant, url, dir];
  const r = spawnSync(process.execPath, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
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
  run('bare-recrawl', dir); // reads the first crawl's state, writes nothing: the recrawl sees the same
  run('recrawl', dir);
  run('cache-fill', dir);
  run('cache-replay', dir);
  rmSync(dir, { recursive: true, force: true });
}
server.kill('SIGTERM');

const med = (v: string, k: string): number =>
  rows.has(v) ? median(rows.get(v)!.map((r) => Number(r[k]))) : Number.NaN;
process.stdout.write(
  '\nvariant        pages   pages/s   CPU s  peak RSS MB   body MB  requests   (medians)\n',
);
for (const v of rows.keys()) {
  process.stdout.write(
    `${v.padEnd(13)} ${med(v, 'pages').toFixed(0).padStart(6)} ${med(v, 'pagesPerSec').toFixed(0).padStart(9)} ${med(v, 'cpuSec').toFixed(1).padStart(7)} ${med(v, 'peakRssMB').toFixed(0).padStart(12)} ${(med(v, 'bytes') / 2 ** 20).toFixed(1).padStart(9)} ${med(v, 'requests').toFixed(0).padStart(9)}\n`,
  );
}
const ratio = (a: number, b: number) => (a / b).toFixed(2);
const has = (...vs: string[]) => vs.every((v) => rows.has(v));
process.stdout.write(`\nnetwork: ${describeNet(model)}\n`);
if (has('warc', 'plain'))
  process.stdout.write(
    `--warc pages/s vs plain:          ${ratio(med('warc', 'pagesPerSec'), med('plain', 'pagesPerSec'))} (cost ${(100 * (1 - med('warc', 'pagesPerSec') / med('plain', 'pagesPerSec'))).toFixed(1)} %)\n`,
  );
if (has('first', 'recrawl'))
  process.stdout.write(
    `recrawl wall time vs first crawl: ${ratio(med('first', 'seconds'), med('recrawl', 'seconds'))}x faster (target ≥ 5); CPU ${med('recrawl', 'cpuSec').toFixed(2)} s vs ${med('first', 'cpuSec').toFixed(2)} s (${ratio(med('first', 'cpuSec'), med('recrawl', 'cpuSec'))}x less); body bytes ${(100 * (med('recrawl', 'bytes') / med('first', 'bytes'))).toFixed(1)} % of the first crawl's (target ≤ 10)\n`,
  );
if (has('bare-recrawl', 'first', 'recrawl'))
  process.stdout.write(
    `bare loop of the recrawl's requests: ${ratio(med('first', 'seconds'), med('bare-recrawl', 'seconds'))}x faster than the first crawl (the ceiling); recrawl at ${(100 * (med('recrawl', 'pagesPerSec') / med('bare-recrawl', 'pagesPerSec'))).toFixed(0)} % of its pages/s, CPU ${med('bare-recrawl', 'cpuSec').toFixed(2)} s\n`,
  );
if (has('cache-replay', 'plain'))
  process.stdout.write(
    `cache replay pages/s vs plain:    ${ratio(med('cache-replay', 'pagesPerSec'), med('plain', 'pagesPerSec'))}x (target ≥ 3; cache-fill: ${ratio(med('cache-fill', 'pagesPerSec'), med('plain', 'pagesPerSec'))}x)\n`,
  );
