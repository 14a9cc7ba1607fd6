// `npm run bench:scraper [pages] [rounds] [variants]` (defaults 20000, 3,
// trawl,trawl-scraper,crawlee): issue 11's scraper benchmark. Serves the crawl benchmark's
// generated site (`pages` pages of ~20 KB with ~20 links each, no latency) from its own process
// and crawls it, each run in a fresh process started the way its users start it:
//   trawl          `trawl crawl URL` with the crawl benchmark's default variant's settings
//                  (--rate inf --max-connections 64 --workers 64 --host-concurrency 64, no state,
//                  JSONL page records, --expect 100000)
//   trawl-scraper  `trawl run bench/scrapers/title-links.ts URL` with the same flags and
//                  --items (the handler pushes {url, title, h1, links} via `$` and enqueues every
//                  link; page records are written too, as `trawl run` does by default)
//   crawlee        `node bench/scraper/crawlee-cheerio.mjs URL`: Crawlee's CheerioCrawler with
//                  the same handler, maxConcurrency 64 (held fixed), memory storage
// trawl runs as the `trawl` executable (bin/trawl.js, so the compiled dist/ and its
// --max-semi-space-size=4), Crawlee under plain `node` with default flags.
//
// Rounds are interleaved (each round runs every variant once, the order rotated by one per round,
// so each variant takes each position) and the table shows medians over the rounds. Per run:
// - pages/s: pages ÷ the process's wall time from spawn to exit (start-up included: what a user
//   waits for), measured here with performance.now();
// - CPU ms/page: user + system time of the process and everything it waited for (Crawlee's `ps`
//   for its memory snapshots included), from the kernel's rusage via GNU time (`/usr/bin/time`,
//   10 ms resolution), ÷ pages;
// - peak RSS: the rusage maximum resident set size (exact, kernel-kept, not sampled).
// Every run must have stored every page exactly once (page records / items counted, distinct by
// URL, all status 200); otherwise the benchmark stops with exit code 1.
// Then it prints issue 11's two ratios: trawl-scraper pages/s ÷ crawlee pages/s (target ≥ 10) and
// trawl-scraper CPU/page ÷ trawl CPU/page (target ≤ 1.5).
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { countJsonl, median, pageOk, readGnuTime, type Stored } from './bench-helpers.js';

const pages = Number(process.argv[2] ?? '20000');
const rounds = Number(process.argv[3] ?? '3');
const variantNames = (process.argv[4] ?? 'trawl,trawl-scraper,crawlee').split(',');
const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));
const root = here('../');
const TIME = '/usr/bin/time';

interface Variant {
  name: string;
  /** The command line, given the site URL and the run's temporary directory. */
  argv(url: string, dir: string): string[];
  env?(dir: string): Record<string, string>;
  /** Counts what the run stored; `stdout` is everything the process printed there. */
  stored(dir: string, stdout: string): Stored;
}

interface Run {
  variant: string;
  round: number;
  pages: number;
  seconds: number;
  pagesPerSec: number;
  cpuMsPerPage: number;
  peakRssMB: number;
}

// The crawl benchmark's default variant (bench/crawl/run-variant.ts), as flags.
const TRAWL_FLAGS = [
  '--rate',
  'inf',
  '--max-connections',
  '64',
  '--workers',
  '64',
  '--host-concurrency',
  '64',
  '--no-state',
  '--expect',
  '100000',
];

const itemOk = (rec: Record<string, unknown>): string | null =>
  typeof rec.url === 'string' && typeof rec.title === 'string' && typeof rec.links === 'number'
    ? null
    : `item ${JSON.stringify(rec).slice(0, 200)}`;

const trawlBin = join(root, 'bin/trawl.js');
const VARIANTS: Record<string, Variant> = {
  trawl: {
    name: 'trawl',
    argv: (url, dir) => [trawlBin, 'crawl', url, ...TRAWL_FLAGS, '--out', join(dir, 'pages.jsonl')],
    stored: (dir) => countJsonl(join(dir, 'pages.jsonl'), pageOk),
  },
  'trawl-scraper': {
    name: 'trawl-scraper',
    argv: (url, dir) => [
      trawlBin,
      'run',
      here('./scrapers/title-links.ts'),
      url,
      ...TRAWL_FLAGS,
      '--out',
      join(dir, 'pages.jsonl'),
      '--items',
      join(dir, 'items.jsonl'),
    ],
    stored: (dir) => {
      // Every page recorded once with status 200 (no handler error), and one item per page.
      const pagesOut = countJsonl(join(dir, 'pages.jsonl'), pageOk);
      const items = countJsonl(join(dir, 'items.jsonl'), itemOk);
      const problems = [...pagesOut.problems, ...items.problems];
      if (pagesOut.records !== items.records || pagesOut.distinct !== items.distinct) {
        problems.push(
          `${pagesOut.records} page records (${pagesOut.distinct} distinct) but ${items.records} items`,
        );
      }
      return { records: items.records, distinct: items.distinct, problems };
    },
  },
  crawlee: {
    name: 'crawlee',
    argv: (url) => [process.execPath, here('./scraper/crawlee-cheerio.mjs'), url],
    env: (dir) => ({ CRAWLEE_STORAGE_DIR: join(dir, 'storage') }),
    stored: (_dir, stdout) => {
      const last = stdout.trim().split('\n').pop() ?? '';
      let r: { items?: number; distinctUrls?: number; requestsFinished?: number; requestsFailed?: number };
      try {
        r = JSON.parse(last) as typeof r;
      } catch {
        return { records: 0, distinct: 0, problems: [`no summary line on stdout: ${last.slice(0, 200)}`] };
      }
      const problems: string[] = [];
      if (r.requestsFinished !== r.items || r.requestsFailed !== 0) {
        problems.push(
          `requests finished ${r.requestsFinished}, failed ${r.requestsFailed}, items ${r.items}`,
        );
      }
      return { records: r.items ?? 0, distinct: r.distinctUrls ?? 0, problems };
    },
  },
};

// The running site server and benchmark run (the latter in its own process group, so that
// stopping it stops the measured process under GNU time too).
let server: ChildProcess | undefined;
let current: ChildProcess | undefined;
let currentDir: string | undefined;
const stopCurrent = () => {
  if (current?.pid !== undefined) process.kill(-current.pid, 'SIGTERM');
};

for (const name of variantNames) {
  if (!(name in VARIANTS)) fail(`unknown variant ${name} (known: ${Object.keys(VARIANTS).join(', ')})`);
}
if (!existsSync(TIME)) fail(`${TIME} (GNU time) is needed to read each run's rusage`);
if (variantNames.some((v) => v.startsWith('trawl')) && !existsSync(join(root, 'dist/cli/main.js'))) {
  fail('dist/ is not built: run `npm run build` first (the benchmark runs the trawl executable)');
}

server = spawn(
  process.execPath,
  ['--import', 'tsx', here('./crawl/site-process.ts'), String(pages), '20', '20000'],
  { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] },
);
process.on('SIGINT', () => {
  stopCurrent();
  if (currentDir !== undefined) rmSync(currentDir, { recursive: true, force: true });
  server?.kill('SIGTERM');
  process.exit(130);
});

function fail(message: string): never {
  process.stderr.write(`\nFAIL: ${message}\n`);
  if (currentDir !== undefined) process.stderr.write(`(the run's files are kept in ${currentDir})\n`);
  stopCurrent();
  server?.kill('SIGTERM');
  process.exit(1);
}

/** Runs one variant once in a fresh process under GNU time, checks what it stored. */
async function runOnce(v: Variant, url: string, round: number): Promise<Run> {
  const dir = mkdtempSync(join(tmpdir(), `trawl-scraper-bench-${v.name}-`));
  currentDir = dir;
  const timeFile = join(dir, 'rusage.txt');
  const t0 = performance.now();
  const child = spawn(TIME, ['-f', '%U %S %M', '-o', timeFile, ...v.argv(url, dir)], {
    cwd: dir,
    env: { ...process.env, ...v.env?.(dir) },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  current = child;
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr = (stderr + d).slice(-4000)));
  const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
  const seconds = (performance.now() - t0) / 1000;
  current = undefined;
  if (code !== 0) fail(`${v.name} (round ${round}) exited with ${code}:\n${stderr}`);
  const { userS: user, sysS: sys, maxRssKB: maxKB } = readGnuTime(timeFile);
  const stored = v.stored(dir, stdout);
  if (stored.records !== pages || stored.distinct !== pages || stored.problems.length > 0) {
    fail(
      `${v.name} (round ${round}) stored ${stored.records} records, ${stored.distinct} distinct URLs; ` +
        `every one of the ${pages} pages exactly once was expected\n${stored.problems.join('\n')}\n${stderr}`,
    );
  }
  rmSync(dir, { recursive: true, force: true });
  currentDir = undefined;
  return {
    variant: v.name,
    round,
    pages: stored.records,
    seconds,
    pagesPerSec: stored.records / seconds,
    cpuMsPerPage: ((user! + sys!) * 1000) / stored.records,
    peakRssMB: (maxKB! * 1024) / 2 ** 20,
  };
}

const url = await new Promise<string>((resolve) => {
  server!.stdout!.once('data', (d: Buffer) => resolve(d.toString().trim()));
});
process.stdout.write(
  `site: ${url} (${pages} pages, ~20 KB, ~20 links); ${rounds} interleaved rounds of ${variantNames.join(', ')}\n`,
);
const runs: Run[] = [];
for (let round = 1; round <= rounds; round++) {
  const k = (round - 1) % variantNames.length;
  for (const name of [...variantNames.slice(k), ...variantNames.slice(0, k)]) {
    const run = await runOnce(VARIANTS[name]!, url, round);
    runs.push(run);
    process.stdout.write(`${JSON.stringify(run)}\n`);
  }
}
server.kill('SIGTERM');

const med = new Map(
  variantNames.map((name) => {
    const rs = runs.filter((r) => r.variant === name);
    return [
      name,
      {
        pagesPerSec: median(rs.map((r) => r.pagesPerSec)),
        cpuMsPerPage: median(rs.map((r) => r.cpuMsPerPage)),
        peakRssMB: median(rs.map((r) => r.peakRssMB)),
        range: `${Math.min(...rs.map((r) => r.pagesPerSec)).toFixed(0)}–${Math.max(...rs.map((r) => r.pagesPerSec)).toFixed(0)}`,
      },
    ] as const;
  }),
);
process.stdout.write(`\nmedians of ${rounds}   pages/s (min–max)    CPU ms/page  peak RSS MB\n`);
for (const [name, m] of med) {
  process.stdout.write(
    `${name.padEnd(15)} ${m.pagesPerSec.toFixed(0).padStart(7)} ${`(${m.range})`.padStart(13)} ${m.cpuMsPerPage.toFixed(3).padStart(12)} ${m.peakRssMB.toFixed(0).padStart(12)}\n`,
  );
}
const scraper = med.get('trawl-scraper');
const crawlee = med.get('crawlee');
const plain = med.get('trawl');
process.stdout.write('\n');
if (scraper && crawlee) {
  const r = scraper.pagesPerSec / crawlee.pagesPerSec;
  process.stdout.write(
    `trawl-scraper pages/s ÷ crawlee pages/s:     ${r.toFixed(2)}× (target ≥ 10×: ${r >= 10 ? 'met' : 'MISSED'})\n`,
  );
}
if (scraper && plain) {
  const r = scraper.cpuMsPerPage / plain.cpuMsPerPage;
  process.stdout.write(
    `trawl-scraper CPU/page ÷ trawl CPU/page:     ${r.toFixed(2)}× (target ≤ 1.5×: ${r <= 1.5 ? 'met' : 'MISSED'})\n`,
  );
}
