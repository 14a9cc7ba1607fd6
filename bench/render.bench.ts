// `npm run bench:render -- [pages] [rounds] [variants]` (defaults 2000, 3,
// trawl,crawlee,render-mixed,auto-mixed): issue 13's rendering benchmark. Serves the
// client-rendered test site (src/testsite/spa.ts: `pages` app-shell pages whose script fetches
// `/api/page` with 20 ms latency, then sets the title and renders the links; plus its special
// pages) and its mixed twin (the same graph server-rendered, 10 % of the pages app shells, no
// special pages), each from its own process (bench/render/spa-process.ts), and crawls them, each
// run in a fresh process started the way its users start it, on Debian's /usr/bin/chromium:
//   trawl          spa site, `trawl crawl URL --render --browsers 1 --tabs 8` plus the crawl
//                  benchmark's unthrottled settings (--rate inf --max-connections 64 --workers 16
//                  --host-concurrency 64, no state, JSONL page records); trawl's default wait
//   trawl-selector the same with `--render-wait 'selector:#app a'` (Crawlee's wait, below)
//   crawlee        spa site, `node bench/render/crawlee-playwright.mjs`: Crawlee's PlaywrightCrawler,
//                  8 pages at once in one browser, test/helpers/chromium.ts's flags, images/media/
//                  fonts/CSS blocked with blockRequests, waits for `#app a` (see that file for
//                  every setting and why)
//   crawlee-idle   the same waiting for networkidle instead
//   crawlee-nofp   the same as crawlee with Crawlee's browser fingerprinting off
//   render-mixed   mixed site, trawl --render (every page rendered)
//   auto-mixed     mixed site, trawl --render auto (plain HTTP first, render only where needed)
// trawl runs as the `trawl` executable (bin/trawl.js, the compiled dist/), Crawlee under plain
// `node` with default flags.
//
// Rounds are interleaved (each round runs every variant once, the order rotated by one per round)
// and the table shows medians over the rounds. Each run is started under
// bench/render/reap-tree.py (Debian's /usr/bin/python3), a child subreaper: every process the
// crawler starts stays in its tree until reaped, orphans included (Chromium's crashpad handlers
// double-fork away from the browser; at shutdown some of its children outlive it). Per run:
// - pages/s: pages stored ÷ wall time from spawn to the crawler's exit (start-up and browser
//   launch included; Chromium processes still exiting after it are not waited for);
// - CPU ms/page: user + system time of the whole tree (the subreaper's RUSAGE_CHILDREN once it
//   has reaped every process: the crawler, Chromium's browser, zygotes, renderers, GPU and
//   utility processes), ÷ pages. Not GNU time's: rusage counts only descendants whose every
//   ancestor waited for them, and Chromium's process tree is not reaped that way (orphans go to
//   init, with the CPU of whatever they reaped) — measured on this site, GNU time around the
//   crawler saw about half of Crawlee's tree CPU (35.8 s of 71.0 s). "tree CPU" is the same sum sampled from /proc (each process's last
//   100 ms missed), a cross-check;
// - peak RSS / peak PSS (crawler + browsers): the largest sum over the whole process tree (the
//   crawler and every Chromium process it started) at one /proc sample, every 100 ms. RSS counts
//   a page shared by n processes n times (Chromium's renderers share much of their memory with
//   the zygote they fork from); PSS (smaps_rollup) splits it among them, so its sum is the
//   memory the tree really holds. The target compares PSS; RSS is shown too. PSS is read less
//   often (test/helpers/process-tree.ts: at each new RSS peak, ≥ 250 ms apart, and at least every
//   second) because smaps_rollup costs milliseconds per Chromium process. "max RSS" is the
//   largest single process's (rusage). The harness's own CPU (mostly this sampling, on the same
//   cores) is in each run's JSON as harnessCpuShare;
// Every run must store each page it can reach exactly once (distinct by URL, status 200, the
// title the page's script sets — so a shell stored unrendered fails) and trawl's records under
// --render must say `rendered: true`; otherwise the benchmark stops with exit code 1. The pages
// to reach come from the site object's own page list: everything reachable from `/` over the
// rendered links, where a wait that does not cover `/delayed`'s late links (inserted 300 ms after
// load: `selector:#app a`) makes the three pages only they lead to optional (stored at most once,
// whether they are depends on timing). The site counts its page GETs per run: "GETs/page" shows
// how often each page was fetched (1 under --render; above 1 under --render auto by the shells'
// second, rendered fetch), and "secretHits" counts the /probe page's SSRF attempts that reached
// the site (trawl's guard refuses them; Crawlee has no such guard — for information only).
// Then it prints issue 13's ratios: trawl pages/s ÷ crawlee pages/s (target ≥ 2), trawl peak PSS
// ≤ crawlee peak PSS, and auto-mixed pages/s ÷ render-mixed pages/s (target ≥ 5).
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { SpaPage } from '../src/testsite/spa.js';
import { CHROMIUM_ARGS, CHROMIUM_PATH } from '../test/helpers/chromium.js';
import { sampleProcessTree } from '../test/helpers/process-tree.js';
import { median } from './bench-helpers.js';

const pages = Number(process.argv[2] ?? '2000');
const rounds = Number(process.argv[3] ?? '3');
const variantNames = (process.argv[4] ?? 'trawl,crawlee,render-mixed,auto-mixed').split(',');
const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));
const root = here('../');
const PYTHON = '/usr/bin/python3';
const REAP_TREE = here('./render/reap-tree.py');
/** Pages rendered at once, by both tools: trawl `--browsers 1 --tabs 8`, Crawlee 8 pages in one browser. */
const TABS = 8;
const API_LATENCY_MS = 20;
const MIXED = 0.1;

type SiteKind = 'spa' | 'mixed';
/** Whether a wait strategy sees `/delayed`'s late links (see the module comment). */
type Sees = 'all' | 'no-late';

/** One stored page, as the harness compares it. */
interface Rec {
  url: string;
  title: unknown;
  status: unknown;
  error: unknown;
  /** trawl's `rendered` field; undefined for Crawlee's items. */
  rendered: unknown;
}

interface Variant {
  name: string;
  site: SiteKind;
  sees: Sees;
  /** trawl --render: every record must say `rendered: true`. */
  allRendered: boolean;
  /** The command line, given the site URL and the run's temporary directory. */
  argv(url: string, dir: string): string[];
  env?(dir: string): Record<string, string>;
  /** The stored pages; a problem (a failed request, missing output) is thrown as an Error. */
  read(dir: string, stdout: string): Rec[];
}

interface Run {
  variant: string;
  round: number;
  pages: number;
  seconds: number;
  pagesPerSec: number;
  cpuMsPerPage: number;
  treeCpuMsPerPage: number;
  peakRssMB: number;
  peakPssMB: number;
  maxRssMB: number;
  /** Distinct processes in the tree over the run (crawler, Chromium's). */
  processes: number;
  /** How long the tree's last process outlived the crawler, in ms (not in `seconds`). */
  lingerMs: number;
  /** The harness's own CPU during the run (mostly the /proc sampling), ÷ wall time: the share of a core it took. */
  harnessCpuShare: number;
  /** Records with `rendered: true` (trawl); null for Crawlee. */
  rendered: number | null;
  /** Page GETs the site served ÷ pages stored. */
  getsPerPage: number;
  /** All requests the site served (pages, API, script, robots.txt, probes). */
  requests: number;
  /** Requests that reached the site's `/secret` (the /probe page's SSRF attempts that got through). */
  secretHits: number;
}

const trawlBin = join(root, 'bin/trawl.js');
const TRAWL_FLAGS = [
  '--browsers',
  '1',
  '--tabs',
  String(TABS),
  '--rate',
  'inf',
  '--max-connections',
  '64',
  '--workers',
  '16',
  '--host-concurrency',
  '64',
  '--no-state',
];

/** trawl's JSONL page records. */
function readTrawl(dir: string): Rec[] {
  const file = join(dir, 'pages.jsonl');
  if (!existsSync(file)) throw new Error(`${file} was not written`);
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => {
      const r = JSON.parse(l) as Record<string, unknown>;
      return { url: String(r.url), title: r.title, status: r.status, error: r.error, rendered: r.rendered };
    });
}

const trawl = (name: string, site: SiteKind, sees: Sees, flags: string[]): Variant => ({
  name,
  site,
  sees,
  allRendered: !flags.includes('auto'),
  argv: (url, dir) => [trawlBin, 'crawl', url, ...flags, ...TRAWL_FLAGS, '--out', join(dir, 'pages.jsonl')],
  read: readTrawl,
});

const crawlee = (name: string, sees: Sees, env: Record<string, string>): Variant => ({
  name,
  site: 'spa',
  sees,
  allRendered: false,
  argv: (url, dir) => [
    process.execPath,
    here('./render/crawlee-playwright.mjs'),
    url,
    join(dir, 'items.jsonl'),
    String(TABS),
    CHROMIUM_PATH,
    JSON.stringify(CHROMIUM_ARGS),
  ],
  env: (dir) => ({ ...env, CRAWLEE_STORAGE_DIR: join(dir, 'storage') }),
  read(dir, stdout) {
    const last = stdout.trim().split('\n').pop() ?? '';
    let r: { items?: number; requestsFinished?: number; requestsFailed?: number };
    try {
      r = JSON.parse(last) as typeof r;
    } catch {
      throw new Error(`no summary line on stdout: ${last.slice(0, 200)}`);
    }
    if (r.requestsFinished !== r.items || r.requestsFailed !== 0) {
      throw new Error(
        `requests finished ${r.requestsFinished}, failed ${r.requestsFailed}, items ${r.items}`,
      );
    }
    // Items are {url, title, links}: a stored item is a page Crawlee loaded with status 2xx.
    return readFileSync(join(dir, 'items.jsonl'), 'utf8')
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => {
        const i = JSON.parse(l) as Record<string, unknown>;
        return { url: String(i.url), title: i.title, status: 200, error: null, rendered: undefined };
      });
  },
});

const VARIANTS: Record<string, Variant> = {
  trawl: trawl('trawl', 'spa', 'all', ['--render']),
  'trawl-selector': trawl('trawl-selector', 'spa', 'no-late', [
    '--render',
    '--render-wait',
    'selector:#app a',
  ]),
  crawlee: crawlee('crawlee', 'no-late', {}),
  'crawlee-idle': crawlee('crawlee-idle', 'all', { WAIT: 'networkidle' }),
  'crawlee-nofp': crawlee('crawlee-nofp', 'no-late', { FINGERPRINTS: '0' }),
  'render-mixed': trawl('render-mixed', 'mixed', 'all', ['--render']),
  'auto-mixed': trawl('auto-mixed', 'mixed', 'all', ['--render', 'auto']),
};

/** A running copy of the site in its own process. */
interface Site {
  url: string;
  pages: readonly SpaPage[];
  proc: ChildProcess;
  /** Requests since the last call (the site resets its counters). */
  counts(): Promise<{ total: number; secretHits: number; pages: Record<string, number> }>;
}

// The running sites and benchmark run (the latter in its own process group, so that stopping it
// stops the measured process under reap-tree.py too; Chromium, in its own session, exits when the
// crawler's end of its pipe closes).
const sites = new Map<SiteKind, Site>();
let current: ChildProcess | undefined;
let currentDir: string | undefined;
const stopAll = () => {
  if (current?.pid !== undefined) process.kill(-current.pid, 'SIGTERM');
  for (const s of sites.values()) s.proc.kill('SIGTERM');
};

function fail(message: string): never {
  process.stderr.write(`\nFAIL: ${message}\n`);
  if (currentDir !== undefined) process.stderr.write(`(the run's files are kept in ${currentDir})\n`);
  stopAll();
  process.exit(1);
}

for (const name of variantNames) {
  if (!(name in VARIANTS)) fail(`unknown variant ${name} (known: ${Object.keys(VARIANTS).join(', ')})`);
}
if (!Number.isInteger(pages) || pages <= 0 || !Number.isInteger(rounds) || rounds <= 0) {
  fail(`pages and rounds must be positive integers, got ${process.argv[2]} ${process.argv[3]}`);
}
if (!existsSync(PYTHON))
  fail(`${PYTHON} is needed to run bench/render/reap-tree.py (apt-get install -y python3)`);
if (!existsSync(CHROMIUM_PATH)) fail(`${CHROMIUM_PATH} is missing (apt-get install -y chromium)`);
if (variantNames.some((v) => v.includes('trawl') || v.endsWith('-mixed'))) {
  if (!existsSync(join(root, 'dist/cli/main.js'))) {
    fail('dist/ is not built: run `npm run build` first (the benchmark runs the trawl executable)');
  }
}

process.on('SIGINT', () => {
  stopAll();
  if (currentDir !== undefined) rmSync(currentDir, { recursive: true, force: true });
  process.exit(130);
});

/** Starts a copy of the site in its own process; resolves once it printed its page list. */
async function startSite(kind: SiteKind): Promise<Site> {
  const args = [here('./render/spa-process.ts'), String(pages), String(API_LATENCY_MS)];
  if (kind === 'mixed') args.push(String(MIXED));
  const proc = spawn(process.execPath, ['--import', 'tsx', ...args], {
    cwd: root,
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const waiting: ((line: string) => void)[] = [];
  createInterface({ input: proc.stdout! }).on('line', (line) => waiting.shift()?.(line));
  const nextLine = () => new Promise<string>((resolve) => waiting.push(resolve));
  const first = JSON.parse(await nextLine()) as { url: string; pages: SpaPage[] };
  const site: Site = {
    url: first.url,
    pages: first.pages,
    proc,
    async counts() {
      const line = nextLine();
      proc.stdin!.write('counts\n');
      return JSON.parse(await line) as Awaited<ReturnType<Site['counts']>>;
    },
  };
  sites.set(kind, site);
  return site;
}

/**
 * The paths a crawler must store (`required`) and may store (`optional`): those reachable from
 * `/` over the pages' rendered links — without `/delayed`'s late links for a wait that does not
 * see them, in which case the pages only they reach are optional.
 */
function expectedPaths(
  list: readonly SpaPage[],
  sees: Sees,
): { required: Set<string>; optional: Set<string> } {
  const byPath = new Map(list.map((p) => [p.path, p]));
  const reach = (withLate: boolean): Set<string> => {
    const seen = new Set<string>(['/']);
    const queue = ['/'];
    while (queue.length > 0) {
      const p = byPath.get(queue.shift()!);
      if (p === undefined) continue;
      const late = withLate ? [] : (p.lateLinks ?? []);
      for (const l of p.links) {
        if (!seen.has(l) && !late.includes(l)) {
          seen.add(l);
          queue.push(l);
        }
      }
    }
    return seen;
  };
  const all = reach(true);
  if (sees === 'all') return { required: all, optional: new Set() };
  const required = reach(false);
  return { required, optional: new Set([...all].filter((p) => !required.has(p))) };
}

/** Checks a run's stored pages against the site; returns the problems (empty: every page exactly once). */
function checkRecords(v: Variant, site: Site, recs: readonly Rec[]): string[] {
  const problems: string[] = [];
  const note = (s: string) => {
    if (problems.length < 8) problems.push(s);
  };
  const origin = new URL(site.url).origin;
  const { required, optional } = expectedPaths(site.pages, v.sees);
  const byPath = new Map(site.pages.map((p) => [p.path, p]));
  const seen = new Map<string, number>();
  for (const r of recs) {
    const u = new URL(r.url);
    if (u.origin !== origin) {
      note(`off-site record ${r.url}`);
      continue;
    }
    seen.set(u.pathname, (seen.get(u.pathname) ?? 0) + 1);
    const page = byPath.get(u.pathname);
    if (!required.has(u.pathname) && !optional.has(u.pathname)) note(`unexpected page ${r.url}`);
    else if (r.status !== 200 || r.error != null) note(`page ${r.url}: status ${r.status}, error ${r.error}`);
    else if (r.title !== page?.title)
      note(`page ${r.url}: title ${JSON.stringify(r.title)}, expected ${page?.title}`);
    if (v.allRendered && r.rendered !== true)
      note(`page ${r.url}: rendered ${String(r.rendered)}, expected true`);
  }
  for (const [path, n] of seen) if (n > 1) note(`page ${path} stored ${n} times`);
  const missing = [...required].filter((p) => !seen.has(p));
  if (missing.length > 0) note(`${missing.length} pages not stored, e.g. ${missing.slice(0, 5).join(' ')}`);
  return problems;
}

/** The whole tree's rusage and times reap-tree.py wrote (see that file). */
function readReapTree(file: string): { cpuMs: number; maxRssKB: number; exitedMs: number; reapedMs: number } {
  const [user, sys, maxRssKB, exitedMs, reapedMs] = readFileSync(file, 'utf8').trim().split(' ').map(Number);
  return { cpuMs: (user! + sys!) * 1000, maxRssKB: maxRssKB!, exitedMs: exitedMs!, reapedMs: reapedMs! };
}

/** Runs one variant once in a fresh process under reap-tree.py, samples its tree, checks what it stored. */
async function runOnce(v: Variant, site: Site, round: number): Promise<Run> {
  const dir = mkdtempSync(join(tmpdir(), `trawl-render-bench-${v.name}-`));
  currentDir = dir;
  await site.counts(); // resets the site's counters
  const timeFile = join(dir, 'rusage.txt');
  const t0 = performance.timeOrigin + performance.now();
  const child = spawn(PYTHON, [REAP_TREE, timeFile, ...v.argv(site.url, dir)], {
    cwd: dir,
    env: { ...process.env, ...v.env?.(dir) },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  current = child;
  const tree = sampleProcessTree(child.pid!);
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr = (stderr + d).slice(-4000)));
  const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
  const usage = tree.stop();
  current = undefined;
  if (code !== 0) fail(`${v.name} (round ${round}) exited with ${code}:\n${stderr}`);
  const rusage = readReapTree(timeFile);
  const seconds = (rusage.exitedMs - t0) / 1000;
  let recs: Rec[];
  try {
    recs = v.read(dir, stdout);
  } catch (err) {
    fail(`${v.name} (round ${round}): ${(err as Error).message}\n${stderr}`);
  }
  const problems = checkRecords(v, site, recs);
  if (problems.length > 0) {
    fail(`${v.name} (round ${round}) stored ${recs.length} pages:\n${problems.join('\n')}\n${stderr}`);
  }
  const counts = await site.counts();
  const gets = Object.values(counts.pages).reduce((a, b) => a + b, 0);
  rmSync(dir, { recursive: true, force: true });
  currentDir = undefined;
  const n = recs.length;
  return {
    variant: v.name,
    round,
    pages: n,
    seconds,
    pagesPerSec: n / seconds,
    cpuMsPerPage: rusage.cpuMs / n,
    treeCpuMsPerPage: usage.cpuMs / n,
    peakRssMB: usage.peakRssKB / 1024,
    peakPssMB: usage.peakPssKB / 1024,
    maxRssMB: rusage.maxRssKB / 1024,
    processes: usage.processes,
    lingerMs: Math.round(rusage.reapedMs - rusage.exitedMs),
    harnessCpuShare: usage.samplerCpuMs / 1000 / seconds,
    rendered: v.read === readTrawl ? recs.filter((r) => r.rendered === true).length : null,
    getsPerPage: gets / n,
    requests: counts.total,
    secretHits: counts.secretHits,
  };
}

for (const kind of new Set(variantNames.map((n) => VARIANTS[n]!.site))) await startSite(kind);
const describeSite = (kind: SiteKind, s: Site): string => {
  const shells = s.pages.filter((p) => p.shell).length;
  const all = expectedPaths(s.pages, 'all').required.size;
  const noLate = expectedPaths(s.pages, 'no-late').required.size;
  const late = noLate === all ? '' : ` (${noLate} without /delayed's late links)`;
  return `${kind} site ${s.url}: ${all} pages to reach${late}, ${shells} of ${s.pages.length} app shells`;
};
process.stdout.write(
  `${[...sites].map(([k, s]) => describeSite(k, s)).join('; ')}; API latency ${API_LATENCY_MS} ms; ` +
    `${TABS} tabs; ${rounds} interleaved rounds of ${variantNames.join(', ')}\n`,
);
const runs: Run[] = [];
for (let round = 1; round <= rounds; round++) {
  const k = (round - 1) % variantNames.length;
  for (const name of [...variantNames.slice(k), ...variantNames.slice(0, k)]) {
    const v = VARIANTS[name]!;
    const run = await runOnce(v, sites.get(v.site)!, round);
    runs.push(run);
    process.stdout.write(`${JSON.stringify(run)}\n`);
  }
}
for (const s of sites.values()) s.proc.kill('SIGTERM');

const med = new Map(
  variantNames.map((name) => {
    const rs = runs.filter((r) => r.variant === name);
    const m = (f: (r: Run) => number) => median(rs.map(f));
    return [
      name,
      {
        pages: m((r) => r.pages),
        pagesPerSec: m((r) => r.pagesPerSec),
        range: `${Math.min(...rs.map((r) => r.pagesPerSec)).toFixed(1)}–${Math.max(...rs.map((r) => r.pagesPerSec)).toFixed(1)}`,
        cpuMsPerPage: m((r) => r.cpuMsPerPage),
        treeCpuMsPerPage: m((r) => r.treeCpuMsPerPage),
        peakRssMB: m((r) => r.peakRssMB),
        peakPssMB: m((r) => r.peakPssMB),
        maxRssMB: m((r) => r.maxRssMB),
        getsPerPage: m((r) => r.getsPerPage),
        rendered: rs[0]!.rendered === null ? null : m((r) => r.rendered!),
      },
    ] as const;
  }),
);
const cols = [
  ['pages', 6],
  ['pages/s', 8],
  ['(min–max)', 14],
  ['CPU ms/pg', 10],
  ['tree CPU', 9],
  ['peak PSS MB', 12],
  ['peak RSS MB', 12],
  ['max RSS MB', 11],
  ['GETs/pg', 8],
  ['rendered', 9],
] as const;
process.stdout.write(
  `\n${`medians of ${rounds}`.padEnd(15)}${cols.map(([h, w]) => h.padStart(w)).join(' ')}\n`,
);
for (const [name, x] of med) {
  const cells = [
    x.pages.toFixed(0),
    x.pagesPerSec.toFixed(1),
    `(${x.range})`,
    x.cpuMsPerPage.toFixed(1),
    x.treeCpuMsPerPage.toFixed(1),
    x.peakPssMB.toFixed(0),
    x.peakRssMB.toFixed(0),
    x.maxRssMB.toFixed(0),
    x.getsPerPage.toFixed(2),
    x.rendered === null ? '-' : x.rendered.toFixed(0),
  ];
  process.stdout.write(`${name.padEnd(15)}${cells.map((c, i) => c.padStart(cols[i]![1])).join(' ')}\n`);
}
process.stdout.write('\n');
// The targets are trawl against `crawlee`; any other Crawlee variant run is compared the same way.
const t = med.get('trawl');
for (const name of variantNames.filter((n) => n.startsWith('crawlee'))) {
  const c = med.get(name)!;
  if (t === undefined) break;
  const r = t.pagesPerSec / c.pagesPerSec;
  const pss = t.peakPssMB / c.peakPssMB;
  const rss = t.peakRssMB / c.peakRssMB;
  process.stdout.write(
    `${`trawl pages/s ÷ ${name} pages/s:`.padEnd(42)} ${r.toFixed(2)}× (target ≥ 2×: ${r >= 2 ? 'met' : 'MISSED'})\n` +
      `${`trawl peak PSS ÷ ${name} peak PSS:`.padEnd(42)} ${pss.toFixed(2)}× (target ≤ 1×: ${pss <= 1 ? 'met' : 'MISSED'}); by RSS sum ${rss.toFixed(2)}×\n`,
  );
}
const a = med.get('auto-mixed');
const rm = med.get('render-mixed');
if (a && rm) {
  const r = a.pagesPerSec / rm.pagesPerSec;
  process.stdout.write(
    `${'auto-mixed pages/s ÷ render-mixed pages/s:'.padEnd(42)} ${r.toFixed(2)}× (target ≥ 5×: ${r >= 5 ? 'met' : 'MISSED'})\n`,
  );
}
