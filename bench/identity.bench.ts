// `npm run bench:identity [pages] [rounds] [variants]` (defaults 20000, 3,
// cookies,no-cookies,direct,proxy): issue 12's benchmark — what cookies and a proxy cost trawl.
// Serves the crawl benchmark's generated site (`pages` pages of ~20 KB with ~20 links each, no
// latency) from its own processes — one copy that sets one cookie on every response
// (`Set-Cookie: trawl_visit=<n>; Path=/`, so the jar is written on every response and read on
// every request), one plain copy — and crawls it with `trawl crawl URL` (bin/trawl.js, the
// compiled dist/) under the crawl benchmark's default settings (--rate inf --max-connections 64
// --workers 64 --host-concurrency 64, no state, JSONL page records, --expect 100000):
//   cookies     the cookie-setting site, cookies on (trawl's default)
//   no-cookies  the cookie-setting site, --no-cookies
//   direct      the plain site, no proxy
//   proxy       the plain site, --proxy http://127.0.0.1:PORT: a fresh Debian tinyproxy
//               (/usr/bin/tinyproxy, test/helpers/proxies.ts's config) started for each run on a
//               free loopback port; trawl tunnels every request through it with CONNECT.
//   socks       the plain site, --proxy socks5://127.0.0.1:PORT: a fresh Debian microsocks
//               (/usr/bin/microsocks, a thread per connection that only relays bytes) started
//               the same way; trawl tunnels every request through it with SOCKS5.
//
// Rounds are interleaved (each round runs every variant once, the order rotated by one per round,
// so each variant takes each position) and the table shows medians over the rounds. Per run:
// - pages/s: pages ÷ the trawl process's wall time from spawn to exit (start-up included);
// - CPU ms/page: user + system time of the trawl process (and anything it waited for), from the
//   kernel's rusage via GNU time (`/usr/bin/time`, 10 ms resolution), ÷ pages. The proxy's CPU
//   is not in it: the proxy is this process's child, not trawl's;
//   The user ms/page column is the user-mode part alone: a write to a loopback socket does part of
//   the delivery in the writer's system call (waking the receiving thread at least), so a proxy
//   with a thread per connection adds kernel time to trawl's account that is the hop's, not work
//   trawl does per page.
// - proxy CPU ms/page: the proxy process's own user + system time (/proc/PID/stat, all its
//   threads) over the run, ÷ pages — shown for information, not part of the target;
// - peak RSS: the rusage maximum resident set size of the trawl process.
// Every run must have stored every page exactly once (page records distinct by URL, all status
// 200), and a proxied run must have gone through its proxy (tinyproxy logged at least one
// `CONNECT <site host:port>` and nothing else); otherwise the benchmark stops with exit code 1.
// Then it prints issue 12's two ratios: cookies CPU/page ÷ no-cookies CPU/page (target ≤ 1.10)
// and proxy CPU/page ÷ direct CPU/page (target ≤ 1.15), for each proxy variant run.
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startMicrosocks, startTinyproxy, type TestProxy } from '../test/helpers/proxies.js';
import { countJsonl, median, pageOk, processCpuMs, readGnuTime } from './bench-helpers.js';

const pages = Number(process.argv[2] ?? '20000');
const rounds = Number(process.argv[3] ?? '3');
const variantNames = (process.argv[4] ?? 'cookies,no-cookies,direct,proxy').split(',');
const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));
const root = here('../');
const TIME = '/usr/bin/time';
const TINYPROXY = '/usr/bin/tinyproxy';
const MICROSOCKS = '/usr/bin/microsocks';

type SiteKind = 'cookie' | 'plain';

interface Variant {
  name: string;
  /** Which copy of the site it crawls. */
  site: SiteKind;
  /** Flags after the crawl benchmark's own. */
  flags: readonly string[];
  /** Crawls through a fresh proxy of this kind; null: direct. */
  proxied: 'tinyproxy' | 'microsocks' | null;
}

interface Run {
  variant: string;
  round: number;
  pages: number;
  seconds: number;
  pagesPerSec: number;
  cpuMsPerPage: number;
  /** The user-mode part of cpuMsPerPage (the rest is kernel time, see the module comment). */
  userMsPerPage: number;
  /** tinyproxy's own CPU ÷ pages; null for a direct run. */
  proxyCpuMsPerPage: number | null;
  /** Requests tinyproxy logged (its CONNECT tunnels); null for a direct run. */
  proxyRequests: number | null;
  peakRssMB: number;
}

// The crawl benchmark's default variant (bench/crawl/run-variant.ts), as flags — the same as
// bench/scraper.bench.ts's `trawl` variant.
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

const VARIANTS: Record<string, Variant> = {
  cookies: { name: 'cookies', site: 'cookie', flags: [], proxied: null },
  'no-cookies': { name: 'no-cookies', site: 'cookie', flags: ['--no-cookies'], proxied: null },
  direct: { name: 'direct', site: 'plain', flags: [], proxied: null },
  proxy: { name: 'proxy', site: 'plain', flags: [], proxied: 'tinyproxy' },
  socks: { name: 'socks', site: 'plain', flags: [], proxied: 'microsocks' },
};

// The running site servers, proxy and benchmark run (the last in its own process group, so that
// stopping it stops the measured process under GNU time too).
const servers = new Map<SiteKind, ChildProcess>();
let proxy: TestProxy | undefined;
let current: ChildProcess | undefined;
let currentDir: string | undefined;
const stopAll = () => {
  if (current?.pid !== undefined) process.kill(-current.pid, 'SIGTERM');
  void proxy?.stop();
  for (const s of servers.values()) s.kill('SIGTERM');
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
if (!existsSync(TIME)) fail(`${TIME} (GNU time) is needed to read each run's rusage`);
if (variantNames.some((v) => VARIANTS[v]!.proxied === 'tinyproxy') && !existsSync(TINYPROXY)) {
  fail(`${TINYPROXY} (Debian's tinyproxy) is needed for the proxy variant`);
}
if (variantNames.some((v) => VARIANTS[v]!.proxied === 'microsocks') && !existsSync(MICROSOCKS)) {
  fail(`${MICROSOCKS} (Debian's microsocks) is needed for the socks variant`);
}
if (!existsSync(join(root, 'dist/cli/main.js'))) {
  fail('dist/ is not built: run `npm run build` first (the benchmark runs the trawl executable)');
}

process.on('SIGINT', () => {
  stopAll();
  if (currentDir !== undefined) rmSync(currentDir, { recursive: true, force: true });
  process.exit(130);
});

/** Starts a copy of the benchmark site in its own process and resolves with its URL. */
async function startSite(kind: SiteKind): Promise<string> {
  const env = { ...process.env };
  if (kind === 'cookie') env.SITE_SET_COOKIE = '1';
  else delete env.SITE_SET_COOKIE;
  const server = spawn(
    process.execPath,
    ['--import', 'tsx', here('./crawl/site-process.ts'), String(pages), '20', '20000'],
    { cwd: root, env, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  servers.set(kind, server);
  return new Promise<string>((resolve) => {
    server.stdout!.once('data', (d: Buffer) => resolve(d.toString().trim()));
  });
}

const trawlBin = join(root, 'bin/trawl.js');

/** Runs one variant once in a fresh process under GNU time, checks what it stored. */
async function runOnce(v: Variant, url: string, round: number): Promise<Run> {
  const dir = mkdtempSync(join(tmpdir(), `trawl-identity-bench-${v.name}-`));
  currentDir = dir;
  const proxyFlags: string[] = [];
  let proxyCpu0 = 0;
  if (v.proxied !== null) {
    proxy = v.proxied === 'tinyproxy' ? await startTinyproxy() : await startMicrosocks();
    proxyFlags.push('--proxy', proxy.url);
    proxyCpu0 = processCpuMs(proxy.pid);
  }
  const timeFile = join(dir, 'rusage.txt');
  const argv = [trawlBin, 'crawl', url, ...TRAWL_FLAGS, ...v.flags, ...proxyFlags];
  const t0 = performance.now();
  const child = spawn(TIME, ['-f', '%U %S %M', '-o', timeFile, ...argv, '--out', join(dir, 'pages.jsonl')], {
    cwd: dir,
    stdio: ['ignore', 'ignore', 'pipe'],
    detached: true,
  });
  current = child;
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr = (stderr + d).slice(-4000)));
  const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
  const seconds = (performance.now() - t0) / 1000;
  current = undefined;
  if (code !== 0) fail(`${v.name} (round ${round}) exited with ${code}:\n${stderr}`);

  let proxyCpuMs: number | null = null;
  let proxyRequests: number | null = null;
  if (proxy !== undefined) {
    proxyCpuMs = processCpuMs(proxy.pid) - proxyCpu0;
    // tinyproxy writes its log line when it reads a request, before it connects, so everything
    // trawl sent is logged by the time trawl has exited; microsocks' log trails through a pipe.
    const logged = v.proxied === 'tinyproxy' ? proxy.requests() : await proxy.waitRequests(1);
    await proxy.stop();
    proxy = undefined;
    proxyRequests = logged.length;
    const target = `CONNECT ${new URL(url).host}`;
    const other = logged.filter((r) => r !== target);
    if (logged.length === 0) fail(`${v.name} (round ${round}): ${v.proxied} logged no request`);
    if (other.length > 0) {
      fail(`${v.name} (round ${round}): ${v.proxied} logged other requests: ${other.slice(0, 5).join(', ')}`);
    }
  }

  const { userS: user, sysS: sys, maxRssKB: maxKB } = readGnuTime(timeFile);
  const stored = countJsonl(join(dir, 'pages.jsonl'), pageOk);
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
    userMsPerPage: (user! * 1000) / stored.records,
    proxyCpuMsPerPage: proxyCpuMs === null ? null : proxyCpuMs / stored.records,
    proxyRequests,
    peakRssMB: (maxKB! * 1024) / 2 ** 20,
  };
}

const urls = new Map<SiteKind, string>();
for (const kind of new Set(variantNames.map((n) => VARIANTS[n]!.site))) {
  urls.set(kind, await startSite(kind));
}
process.stdout.write(
  `sites: ${[...urls].map(([k, u]) => `${k} ${u}`).join(', ')} (${pages} pages, ~20 KB, ~20 links); ` +
    `${rounds} interleaved rounds of ${variantNames.join(', ')}\n`,
);
const runs: Run[] = [];
for (let round = 1; round <= rounds; round++) {
  const k = (round - 1) % variantNames.length;
  for (const name of [...variantNames.slice(k), ...variantNames.slice(0, k)]) {
    const v = VARIANTS[name]!;
    const run = await runOnce(v, urls.get(v.site)!, round);
    runs.push(run);
    process.stdout.write(`${JSON.stringify(run)}\n`);
  }
}
for (const s of servers.values()) s.kill('SIGTERM');

const med = new Map(
  variantNames.map((name) => {
    const rs = runs.filter((r) => r.variant === name);
    const proxyCpu = rs.flatMap((r) => (r.proxyCpuMsPerPage === null ? [] : [r.proxyCpuMsPerPage]));
    return [
      name,
      {
        pagesPerSec: median(rs.map((r) => r.pagesPerSec)),
        cpuMsPerPage: median(rs.map((r) => r.cpuMsPerPage)),
        userMsPerPage: median(rs.map((r) => r.userMsPerPage)),
        cpuRange: `${Math.min(...rs.map((r) => r.cpuMsPerPage)).toFixed(3)}–${Math.max(...rs.map((r) => r.cpuMsPerPage)).toFixed(3)}`,
        proxyCpuMsPerPage: proxyCpu.length === 0 ? null : median(proxyCpu),
        peakRssMB: median(rs.map((r) => r.peakRssMB)),
      },
    ] as const;
  }),
);
process.stdout.write(
  `\nmedians of ${rounds}  pages/s  CPU ms/page (min–max)  user ms/page  proxy CPU ms/page  peak RSS MB\n`,
);
for (const [name, m] of med) {
  process.stdout.write(
    `${name.padEnd(12)} ${m.pagesPerSec.toFixed(0).padStart(8)} ${m.cpuMsPerPage.toFixed(3).padStart(11)} ${`(${m.cpuRange})`.padStart(13)} ${m.userMsPerPage.toFixed(3).padStart(13)} ${(m.proxyCpuMsPerPage === null ? '-' : m.proxyCpuMsPerPage.toFixed(3)).padStart(18)} ${m.peakRssMB.toFixed(0).padStart(12)}\n`,
  );
}
process.stdout.write('\n');
const ratio = (a: string, b: string, target: number): void => {
  const x = med.get(a);
  const y = med.get(b);
  if (x === undefined || y === undefined) return;
  const r = x.cpuMsPerPage / y.cpuMsPerPage;
  const u = x.userMsPerPage / y.userMsPerPage;
  process.stdout.write(
    `${`${a} CPU/page ÷ ${b} CPU/page:`.padEnd(40)} ${r.toFixed(3)}× (target ≤ ${target.toFixed(2)}×: ${r <= target ? 'met' : 'MISSED'}); user CPU only ${u.toFixed(3)}×\n`,
  );
};
ratio('cookies', 'no-cookies', 1.1);
ratio('proxy', 'direct', 1.15);
ratio('socks', 'direct', 1.15);
