// Soak benchmark: `npm run bench:soak -- [pages=200000] [retryAfterSec=0] [--no-faults]` (issue
// 15 part 2 runs it with `1000000 0 --no-faults`).
//
// Crawls a generated test site (served by a child process, so the site's own bookkeeping is not
// in the crawler's RSS) with faults switched on — 5 % of pages answer 500 every time, 2 % answer
// 429 once, 1 % reset the connection mid-body every time, 1 % answer after 1 s — at --rate inf,
// with the SQLite state file and a JSONL output, as a long production run would. Then checks that
// every page of the site ended stored or failed with a reason, exactly once (the JSONL's url set
// against the site's page set), and that RSS, sampled every 10 s, stays flat after warm-up.
// Writes the RSS curve to bench/soak-rss.csv and bench/soak-rss.svg.
//
// Long crawls must not slow down: the crawl's stored count is also read every second, and the
// run's pages/s is reported per tenth of the site (the time between the moments 10 %, 20 %, …
// of the pages were stored, interpolated between readings), with the last tenth's rate as a
// share of the first's. The SQLite state's size (database + WAL) is reported per page at the end.
//
// The 500 and reset faults are laid on leaf pages of the site's link tree, so every page stays
// reachable: a missing record is then the crawler's loss, never the site's shape. The 429s carry
// `Retry-After: <retryAfterSec>` (default 0): a 429 rightly pauses the whole host for that long,
// and with one host and 2 % of pages a 1 s pause every ~50 pages would make this a benchmark of
// politeness sleeps, not of loss and memory. Even so each 429 halves the host's concurrency cap
// (additive increase after), and with the 1 s pages holding slots the run is paced by that
// backoff (~400 pages/s here). `--no-faults` serves every page at once, so the run measures the
// crawler and its state alone: whether a long crawl slows down.
import { type ChildProcess, spawn } from 'node:child_process';
import { createReadStream, existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Crawl } from '../src/crawl/crawler.js';
import { startTestSite } from '../src/testsite/server.js';
import { buildSite, mix } from '../src/testsite/site.js';

const LINKS = 10;
const BYTES = 4096;
const SAMPLE_MS = 10_000;

/**
 * The fault plan for a site of `pages` pages: deterministic, from the site's own seeded hash;
 * empty without `faults`.
 */
function faultPlan(pages: number, faults = true) {
  const site = buildSite({ pages, linksPerPage: LINKS, pageBytes: BYTES });
  if (!faults)
    return { site, e500: [] as string[], e429: [] as string[], resets: [] as string[], slow: [] as string[] };
  const leaf = (id: number) => site.branching * id + 1 >= site.pages;
  let leaves = 0;
  for (let id = 1; id < pages; id++) if (leaf(id)) leaves++;
  const u = (id: number, salt: number) => mix(site.seed, id, salt) / 2 ** 32;
  const e500: string[] = [];
  const e429: string[] = [];
  const resets: string[] = [];
  const slow: string[] = [];
  // Leaf-only faults are drawn at rate × pages / leaves, so they are still 5 % / 1 % of all pages.
  const leafScale = (pages - 1) / Math.max(1, leaves);
  for (let id = 1; id < pages; id++) {
    const path = site.pathOf(id);
    const r = u(id, 11);
    if (leaf(id) && r < 0.05 * leafScale) e500.push(path);
    else if (leaf(id) && r < 0.06 * leafScale) resets.push(path);
    else if (u(id, 12) < 0.02) e429.push(path);
    else if (u(id, 13) < 0.01) slow.push(path);
  }
  return { site, e500, e429, resets, slow };
}

// Child mode: serve the site with the fault plan and print its URL.
if (process.argv[2] === '--serve') {
  const pages = Number(process.argv[3]);
  const retryAfter = Number(process.argv[4]);
  const plan = faultPlan(pages, process.argv[5] !== '--no-faults');
  const site = await startTestSite({
    pages,
    linksPerPage: LINKS,
    pageBytes: BYTES,
    recordTimes: false,
    faults: {
      error500Paths: plan.e500,
      tooManyRequests: { paths: plan.e429, times: 1, retryAfter },
      reset: { paths: plan.resets },
      slow: { paths: plan.slow, delayMs: 1000 },
    },
  });
  process.stdout.write(`${site.url}\n`);
  process.on('SIGTERM', () => void site.close().then(() => process.exit(0)));
} else {
  await main();
}

async function main(): Promise<void> {
  const pages = Number(process.argv[2] ?? 200_000);
  const retryAfter = Number(process.argv[3] ?? 0);
  const faults = !process.argv.includes('--no-faults');
  const plan = faultPlan(pages, faults);
  process.stdout.write(
    `soak: ${pages} pages; faults: ${plan.e500.length} × 500, ${plan.e429.length} × 429 (Retry-After ${retryAfter}), ` +
      `${plan.resets.length} × reset, ${plan.slow.length} × slow 1 s\n`,
  );
  const server: ChildProcess = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      fileURLToPath(import.meta.url),
      '--serve',
      String(pages),
      String(retryAfter),
      faults ? '--faults' : '--no-faults',
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const url = await new Promise<string>((resolve) => {
    server.stdout!.once('data', (d: Buffer) => resolve(d.toString().trim()));
  });
  const dir = mkdtempSync(join(tmpdir(), 'trawl-soak-'));
  const out = join(dir, 'out.jsonl');

  const samples: { t: number; rss: number; heap: number; stored: number }[] = [];
  const t0 = performance.now();
  const crawl = new Crawl({
    seeds: [url],
    rate: Number.POSITIVE_INFINITY,
    workers: 32,
    maxConnections: 32,
    hostConcurrency: 32,
    state: join(dir, 'state.db'),
    out,
    expect: Math.max(pages * 2, 1000),
  });
  const sample = () => {
    const m = process.memoryUsage();
    const s = {
      t: (performance.now() - t0) / 1000,
      rss: m.rss / 2 ** 20,
      heap: m.heapUsed / 2 ** 20,
      stored: crawl.progress().stored,
    };
    samples.push(s);
    process.stdout.write(
      `  t=${s.t.toFixed(0).padStart(4)} s  stored ${String(s.stored).padStart(7)}  RSS ${s.rss.toFixed(0)} MB  heap ${s.heap.toFixed(0)} MB\n`,
    );
  };
  sample();
  const timer = setInterval(sample, SAMPLE_MS);
  const progress: { t: number; stored: number }[] = [{ t: 0, stored: 0 }];
  const ticker = setInterval(
    () => progress.push({ t: (performance.now() - t0) / 1000, stored: crawl.progress().stored }),
    1000,
  );
  const summary = await crawl.done;
  clearInterval(timer);
  clearInterval(ticker);
  sample();
  const seconds = (performance.now() - t0) / 1000;
  progress.push({ t: seconds, stored: summary.pages });
  server.kill('SIGTERM');
  const stateFile = join(dir, 'state.db');
  const stateBytes = [stateFile, `${stateFile}-wal`].reduce(
    (n, f) => n + (existsSync(f) ? statSync(f).size : 0),
    0,
  );
  const tenths = tenthRates(progress, summary.pages);

  // Every page of the site: exactly one record, stored or failed with a reason.
  const want = new Set<string>();
  const origin = url.replace(/\/$/, '');
  for (let id = 0; id < pages; id++) want.add(`${origin}${plan.site.pathOf(id)}`);
  const seen = new Map<string, number>();
  const reasons = new Map<string, number>();
  let noReason = 0;
  const lines = createInterface({ input: createReadStream(out), crlfDelay: Number.POSITIVE_INFINITY });
  for await (const line of lines) {
    if (line === '') continue;
    const r = JSON.parse(line) as { url: string; status: number | null; error: string | null };
    seen.set(r.url, (seen.get(r.url) ?? 0) + 1);
    const reason = r.error === null ? 'stored' : r.error.replace(/ \(.*$/, '').slice(0, 60);
    reasons.set(reason, (reasons.get(reason) ?? 0) + 1);
    if (r.error === null && (r.status === null || r.status >= 400)) noReason++;
  }
  const missing = [...want].filter((u) => !seen.has(u));
  const twice = [...seen].filter(([, n]) => n > 1).length;
  const extra = [...seen.keys()].filter((u) => !want.has(u)).length;
  rmSync(dir, { recursive: true, force: true });

  // Flatness: after the first third of the run (warm-up), the least-squares slope of RSS.
  const after = samples.filter((s) => s.t >= seconds / 3);
  const slope = slopeMBPerMin(after);
  const range =
    after.length > 0 ? Math.max(...after.map((s) => s.rss)) - Math.min(...after.map((s) => s.rss)) : 0;

  const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));
  writeFileSync(
    here('./soak-rss.csv'),
    `t_s,rss_mb,heap_mb,stored\n${samples.map((s) => `${s.t.toFixed(1)},${s.rss.toFixed(1)},${s.heap.toFixed(1)},${s.stored}`).join('\n')}\n`,
  );
  writeFileSync(here('./soak-rss.svg'), svgPlot(samples, pages, seconds));

  process.stdout.write(
    `\npages ${pages}, records ${summary.pages}, time ${seconds.toFixed(1)} s, ${(summary.pages / seconds).toFixed(0)} pages/s\n` +
      `outcomes: ${[...reasons]
        .sort((a, b) => b[1] - a[1])
        .map(([k, v]) => `${k}: ${v}`)
        .join('; ')}\n` +
      `missing ${missing.length}, recorded twice ${twice}, off-site records ${extra}, failed without reason ${noReason}\n` +
      `RSS after warm-up (t ≥ ${(seconds / 3).toFixed(0)} s): range ${range.toFixed(1)} MB, slope ${slope.toFixed(2)} MB/min; ` +
      `peak ${Math.max(...samples.map((s) => s.rss)).toFixed(0)} MB\n` +
      `pages/s per tenth of the pages stored: ${tenths.map((r) => r.toFixed(0)).join(', ')}; ` +
      `last tenth ÷ first tenth ${((tenths.at(-1) ?? 0) / (tenths[0] ?? 1)).toFixed(2)}\n` +
      `state ${(stateBytes / 2 ** 20).toFixed(1)} MB (database + WAL), ${(stateBytes / Math.max(1, summary.pages)).toFixed(0)} B per page\n` +
      `wrote bench/soak-rss.csv and bench/soak-rss.svg\n`,
  );
  const ok = missing.length === 0 && twice === 0 && noReason === 0;
  process.stdout.write(ok ? 'PASS: every page stored or failed with a reason, exactly once\n' : 'FAIL\n');
  process.exitCode = ok ? 0 : 1;
}

/**
 * Pages/s over each tenth of `total` stored pages: the times the count crossed k/10 of it,
 * interpolated linearly between the (per-second) readings of `p`.
 */
function tenthRates(p: { t: number; stored: number }[], total: number): number[] {
  const crossing = (n: number): number => {
    for (let i = 1; i < p.length; i++) {
      const a = p[i - 1]!;
      const b = p[i]!;
      if (b.stored >= n)
        return b.stored === a.stored ? b.t : a.t + ((n - a.stored) / (b.stored - a.stored)) * (b.t - a.t);
    }
    return p.at(-1)!.t;
  };
  const rates: number[] = [];
  for (let k = 0; k < 10; k++) {
    const from = crossing((total * k) / 10);
    const to = crossing((total * (k + 1)) / 10);
    rates.push(total / 10 / Math.max(1e-3, to - from));
  }
  return rates;
}

function slopeMBPerMin(s: { t: number; rss: number }[]): number {
  if (s.length < 2) return 0;
  const n = s.length;
  const mt = s.reduce((a, x) => a + x.t, 0) / n;
  const mr = s.reduce((a, x) => a + x.rss, 0) / n;
  let num = 0;
  let den = 0;
  for (const x of s) {
    num += (x.t - mt) * (x.rss - mr);
    den += (x.t - mt) ** 2;
  }
  return den === 0 ? 0 : (num / den) * 60;
}

function svgPlot(s: { t: number; rss: number; heap: number }[], pages: number, seconds: number): string {
  const W = 640;
  const H = 320;
  const L = 50;
  const B = 30;
  const maxT = Math.max(1, ...s.map((x) => x.t));
  const maxY = Math.max(64, ...s.map((x) => x.rss)) * 1.1;
  const px = (t: number) => L + ((W - L - 10) * t) / maxT;
  const py = (v: number) => H - B - ((H - B - 20) * v) / maxY;
  const line = (key: 'rss' | 'heap', color: string) =>
    `<polyline fill="none" stroke="${color}" stroke-width="2" points="${s.map((x) => `${px(x.t).toFixed(1)},${py(x[key]).toFixed(1)}`).join(' ')}"/>`;
  const ticks = [0, 0.25, 0.5, 0.75, 1]
    .map((f) => {
      const v = maxY * f;
      return `<text x="${L - 5}" y="${py(v) + 4}" text-anchor="end" font-size="10">${v.toFixed(0)}</text><line x1="${L}" x2="${W - 10}" y1="${py(v)}" y2="${py(v)}" stroke="#ddd"/>`;
    })
    .join('');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif">
<title>trawl soak: RSS and heap over time</title>
<rect width="100%" height="100%" fill="white"/>
<text x="${L}" y="14" font-size="12">trawl soak: ${pages} pages in ${seconds.toFixed(0)} s — RSS (blue) and heap (orange), MB, sampled every 10 s</text>
${ticks}
<line x1="${L}" x2="${L}" y1="20" y2="${H - B}" stroke="black"/><line x1="${L}" x2="${W - 10}" y1="${H - B}" y2="${H - B}" stroke="black"/>
<text x="${W - 10}" y="${H - 8}" text-anchor="end" font-size="10">${maxT.toFixed(0)} s</text><text x="${L}" y="${H - 8}" font-size="10">0 s</text>
${line('rss', '#1f77b4')}
${line('heap', '#ff7f0e')}
</svg>
`;
}
