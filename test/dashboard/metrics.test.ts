import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { get as httpGet, type IncomingMessage } from 'node:http';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import parsePrometheusTextFormat, {
  type PromFamily,
  type PromHistogramSample,
  type PromSample,
} from 'parse-prometheus-text-format';
import { afterEach, describe, expect, it } from 'vitest';
import { FakeClock } from '../../src/conc/clock.js';
import { CrawlMetrics } from '../../src/crawl/metrics/metrics.js';
import type { DashboardSnapshot } from '../../src/crawl/metrics/snapshot.js';
import { type Dashboard, startDashboard } from '../../src/dashboard/server.js';
import { until } from '../helpers/crawl.js';

const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

async function start(opts: Parameters<typeof startDashboard>[0]): Promise<Dashboard> {
  const d = await startDashboard({ port: 0, ...opts });
  cleanup.push(() => d.close());
  return d;
}

function metrics(opts: ConstructorParameters<typeof CrawlMetrics>[0] = {}): CrawlMetrics {
  const m = new CrawlMetrics(opts);
  cleanup.push(() => m.close());
  return m;
}

const base = (d: Dashboard): string => `http://127.0.0.1:${d.port}`;

async function scrape(d: Dashboard): Promise<Map<string, PromFamily>> {
  const res = await fetch(`${base(d)}/metrics`);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toContain('text/plain');
  const families = parsePrometheusTextFormat(await res.text());
  return new Map(families.map((f) => [f.name, f]));
}

/** The value of the sample of `name` whose labels equal `labels` exactly; undefined if absent. */
function value(
  fams: Map<string, PromFamily>,
  name: string,
  labels: Record<string, string> = {},
): number | undefined {
  const fam = fams.get(name);
  if (fam === undefined) throw new Error(`metric ${name} missing`);
  const want = JSON.stringify(Object.entries(labels).sort());
  for (const s of fam.metrics as PromSample[]) {
    if (JSON.stringify(Object.entries(s.labels ?? {}).sort()) === want) return Number(s.value);
  }
  return undefined;
}

function histogram(
  fams: Map<string, PromFamily>,
  name: string,
): { count: number; sum: number; le: (b: string) => number } {
  const fam = fams.get(name);
  expect(fam?.type).toBe('HISTOGRAM');
  const h = fam!.metrics[0] as PromHistogramSample;
  return { count: Number(h.count), sum: Number(h.sum), le: (b) => Number(h.buckets[b]) };
}

/** Opens /events and collects parsed frames until `until` says stop (or the stream ends). */
function readEvents(
  url: string,
  until: (frames: DashboardSnapshot[]) => boolean,
): Promise<{ frames: DashboardSnapshot[]; res: IncomingMessage }> {
  return new Promise((resolve, reject) => {
    const req = httpGet(url, (res) => {
      const frames: DashboardSnapshot[] = [];
      let buf = '';
      const done = (): void => {
        res.removeAllListeners('data');
        resolve({ frames, res });
      };
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buf += chunk;
        let i = buf.indexOf('\n\n');
        while (i >= 0) {
          const block = buf.slice(0, i);
          buf = buf.slice(i + 2);
          if (block.startsWith('data: ')) frames.push(JSON.parse(block.slice(6)) as DashboardSnapshot);
          i = buf.indexOf('\n\n');
        }
        if (until(frames)) done();
      });
      res.on('end', done);
      res.on('error', reject);
    });
    req.on('error', reject);
  });
}

/** Feeds a known crawl: 3 hosts, mixed statuses, retries, errors, stores, gauges. */
function feedKnown(m: CrawlMetrics, clock: FakeClock): void {
  // a.test: 5 × 200 at 3 ms, 2 × 404 at 20 ms; b.test: 1 × 500 at 700 ms, 2 × no response at 5000 ms
  for (let i = 0; i < 5; i++) m.requestFinished('a.test', 200, 3, 1000);
  for (let i = 0; i < 2; i++) m.requestFinished('a.test', 404, 20, 100);
  m.requestFinished('b.test', 500, 700, 50);
  for (let i = 0; i < 2; i++) m.requestFinished('b.test', null, 5000, 0);
  // c.test is the third host: with topHosts 2 it is counted under host="other".
  m.requestFinished('c.test', 301, 12, 0);
  m.retry('b.test', 'timeout');
  m.retry('b.test', 'timeout');
  m.retry('b.test', '500');
  m.error('timeout', 'b.test', 'http://b.test/slow', 'request timed out after 5000 ms');
  m.error('timeout', 'b.test', 'http://b.test/slow2', 'request timed out after 5000 ms');
  m.error('http', 'a.test', 'http://a.test/missing', '404 Not Found');
  for (let i = 0; i < 8; i++) {
    m.pageStored({ url: `http://a.test/${i}`, status: 200, title: `page ${i}`, error: null, host: 'a.test' });
  }
  m.parseTime(0.3);
  m.parseTime(2);
  m.storeTime(4, 5);
  m.storeTime(1, 3);
  m.setQueueDepth('frontier', 42);
  m.setQueueDepth('fetch', 7);
  m.setQueueDepth('parse', 3);
  m.setQueueDepth('store', 1);
  m.setInFlight(9);
  m.setOpenConnections(12, 20);
  m.setLimiterTokens(2.5);
  m.limiterWait(100);
  m.limiterWait(300);
  m.setHostState('a.test', { rate: 2, robots: 'ok' });
  m.setHostState('b.test', { backoffUntil: clock.now() + 30_000, robots: 'disallow-all' });
  m.setHostState('c.test', { robots: 'pending' });
  m.setFrontier({ queued: 40, leased: 9, done: 8, failed: 3, seen: 60 });
}

describe('CrawlMetrics over /metrics', () => {
  it('serves Prometheus text whose counters agree with what was fed', async () => {
    const clock = new FakeClock(1_700_000_000_000);
    const m = metrics({ clock, topHosts: 2 });
    feedKnown(m, clock);
    const d = await start({ metrics: m });
    const f = await scrape(d);

    expect(f.get('trawl_requests_total')?.type).toBe('COUNTER');
    expect(value(f, 'trawl_requests_total', { host: 'a.test', status_class: '2xx' })).toBe(5);
    expect(value(f, 'trawl_requests_total', { host: 'a.test', status_class: '4xx' })).toBe(2);
    expect(value(f, 'trawl_requests_total', { host: 'b.test', status_class: '5xx' })).toBe(1);
    expect(value(f, 'trawl_requests_total', { host: 'b.test', status_class: 'none' })).toBe(2);
    expect(value(f, 'trawl_requests_total', { host: 'other', status_class: '3xx' })).toBe(1);
    expect(value(f, 'trawl_requests_total', { host: 'c.test', status_class: '3xx' })).toBeUndefined();
    expect(f.get('trawl_requests_total')!.metrics).toHaveLength(5);
    expect(value(f, 'trawl_response_bytes_total', { host: 'a.test' })).toBe(5200);
    expect(value(f, 'trawl_response_bytes_total', { host: 'b.test' })).toBe(50);

    const fetchH = histogram(f, 'trawl_fetch_duration_seconds');
    expect(fetchH.count).toBe(11);
    expect(fetchH.sum).toBeCloseTo(5 * 0.003 + 2 * 0.02 + 0.7 + 2 * 5 + 0.012, 9);
    expect(fetchH.le('0.005')).toBe(5);
    expect(fetchH.le('0.025')).toBe(8);
    expect(fetchH.le('1')).toBe(9);
    expect(fetchH.le('2.5')).toBe(9);
    expect(fetchH.le('5')).toBe(11);
    expect(fetchH.le('+Inf')).toBe(11);

    expect(value(f, 'trawl_retries_total', { reason: 'timeout' })).toBe(2);
    expect(value(f, 'trawl_retries_total', { reason: '500' })).toBe(1);
    expect(value(f, 'trawl_errors_total', { kind: 'timeout' })).toBe(2);
    expect(value(f, 'trawl_errors_total', { kind: 'http' })).toBe(1);
    expect(value(f, 'trawl_pages_stored_total')).toBe(8);
    expect(value(f, 'trawl_store_records_total')).toBe(8);
    expect(histogram(f, 'trawl_parse_duration_seconds').count).toBe(2);
    expect(histogram(f, 'trawl_store_duration_seconds').count).toBe(2);
    expect(histogram(f, 'trawl_store_duration_seconds').sum).toBeCloseTo(0.005, 12);
    expect(histogram(f, 'trawl_limiter_wait_seconds').count).toBe(2);
    expect(histogram(f, 'trawl_limiter_wait_seconds').sum).toBeCloseTo(0.4, 12);

    expect(f.get('trawl_queue_depth')?.type).toBe('GAUGE');
    expect(value(f, 'trawl_queue_depth', { stage: 'frontier' })).toBe(42);
    expect(value(f, 'trawl_queue_depth', { stage: 'fetch' })).toBe(7);
    expect(value(f, 'trawl_queue_depth', { stage: 'parse' })).toBe(3);
    expect(value(f, 'trawl_queue_depth', { stage: 'store' })).toBe(1);
    expect(value(f, 'trawl_in_flight_requests')).toBe(9);
    expect(value(f, 'trawl_open_connections')).toBe(12);
    expect(value(f, 'trawl_max_connections')).toBe(20);
    expect(value(f, 'trawl_limiter_tokens')).toBe(2.5);
    expect(value(f, 'trawl_host_backoff_seconds', { host: 'b.test' })).toBe(30);
    expect(value(f, 'trawl_host_backoff_seconds', { host: 'a.test' })).toBe(0);
    expect(value(f, 'trawl_host_rate', { host: 'a.test' })).toBe(2);
    expect(value(f, 'trawl_hosts_in_backoff')).toBe(1);
    expect(value(f, 'trawl_hosts', { robots: 'ok' })).toBe(1);
    expect(value(f, 'trawl_hosts', { robots: 'disallow-all' })).toBe(1);
    expect(value(f, 'trawl_hosts', { robots: 'pending' })).toBe(1);
    expect(value(f, 'trawl_hosts', { robots: 'unknown' })).toBe(0);
    expect(value(f, 'trawl_frontier_urls', { state: 'queued' })).toBe(40);
    expect(value(f, 'trawl_frontier_urls', { state: 'failed' })).toBe(3);
    expect(value(f, 'trawl_frontier_seen_urls')).toBe(60);
    expect(value(f, 'trawl_process_resident_memory_bytes')).toBeGreaterThan(1e6);
    expect(value(f, 'trawl_event_loop_lag_seconds')).toBeGreaterThanOrEqual(0);
    expect(value(f, 'trawl_start_time_seconds')).toBe(1_700_000_000);

    // Backoff is relative to the crawl's clock: 31 s later it is over.
    clock.advance(31_000);
    const later = await scrape(d);
    expect(value(later, 'trawl_host_backoff_seconds', { host: 'b.test' })).toBe(0);
    expect(value(later, 'trawl_hosts_in_backoff')).toBe(0);
  });

  it('snapshot() reads the same numbers as /metrics', async () => {
    const clock = new FakeClock(1_700_000_000_000);
    const m = metrics({ clock, topHosts: 10 });
    feedKnown(m, clock);
    // More traffic with awkward float durations, so sums are compared bit for bit.
    for (let i = 0; i < 500; i++)
      m.requestFinished(`h${i % 7}.test`, [200, 404, null][i % 3]!, 0.1 + i * 1.37, i);
    const d = await start({ metrics: m });
    const f = await scrape(d);
    const s = m.snapshot();

    const requests = f.get('trawl_requests_total')!.metrics as PromSample[];
    expect(requests.reduce((a, x) => a + Number(x.value), 0)).toBe(s.requests.total);
    for (const [cls, n] of Object.entries(s.requests.byStatusClass)) {
      const inClass = requests
        .filter((x) => x.labels?.status_class === cls)
        .reduce((a, x) => a + Number(x.value), 0);
      expect(inClass, cls).toBe(n);
    }
    const bytes = f.get('trawl_response_bytes_total')!.metrics as PromSample[];
    expect(bytes.reduce((a, x) => a + Number(x.value), 0)).toBe(s.responseBytes);
    const fetchH = histogram(f, 'trawl_fetch_duration_seconds');
    expect(fetchH.count).toBe(s.fetch.count);
    expect(fetchH.sum).toBe(s.fetch.sumSeconds);
    expect(histogram(f, 'trawl_parse_duration_seconds').sum).toBe(s.parse.sumSeconds);
    expect(histogram(f, 'trawl_store_duration_seconds').count).toBe(s.store.count);
    expect(value(f, 'trawl_store_records_total')).toBe(s.store.records);
    expect(histogram(f, 'trawl_limiter_wait_seconds').count).toBe(s.limiter.waits);
    expect(histogram(f, 'trawl_limiter_wait_seconds').sum).toBe(s.limiter.waitSecondsSum);
    const sumOf = (name: string): number =>
      (f.get(name)!.metrics as PromSample[]).reduce((a, x) => a + Number(x.value), 0);
    expect(sumOf('trawl_retries_total')).toBe(s.retries.total);
    expect(sumOf('trawl_errors_total')).toBe(s.errors.total);
    for (const [kind, n] of Object.entries(s.errors.byKind))
      expect(value(f, 'trawl_errors_total', { kind })).toBe(n);
    for (const [reason, n] of Object.entries(s.retries.byReason)) {
      expect(value(f, 'trawl_retries_total', { reason })).toBe(n);
    }
    expect(value(f, 'trawl_pages_stored_total')).toBe(s.pagesStored);
    for (const [stage, n] of Object.entries(s.queueDepth))
      expect(value(f, 'trawl_queue_depth', { stage })).toBe(n);
    expect(value(f, 'trawl_in_flight_requests')).toBe(s.inFlight);
    expect(value(f, 'trawl_open_connections')).toBe(s.openConnections);
    expect(value(f, 'trawl_max_connections')).toBe(s.connectionCap);
    expect(value(f, 'trawl_limiter_tokens')).toBe(s.limiter.tokens);
    expect(value(f, 'trawl_hosts_in_backoff')).toBe(s.hosts.inBackoff);
    expect(sumOf('trawl_hosts')).toBe(s.hosts.seen);
    for (const state of ['queued', 'leased', 'done', 'failed'] as const) {
      expect(value(f, 'trawl_frontier_urls', { state })).toBe(s.frontier[state]);
    }
    expect(value(f, 'trawl_frontier_seen_urls')).toBe(s.frontier.seen);

    // /api/snapshot carries the same numbers.
    const api = (await (await fetch(`${base(d)}/api/snapshot`)).json()) as DashboardSnapshot;
    expect({ ...api.metrics, at: 0, process: null }).toEqual({ ...s, at: 0, process: null });
  });

  it('bounds label cardinality: first N hosts labelled, error kinds and retry reasons capped', async () => {
    const m = metrics({ topHosts: 3 });
    for (let i = 0; i < 100; i++) {
      m.requestFinished(`h${i}.test`, 200, 1, 1);
      m.error(`kind${i}`, `h${i}.test`, 'http://x/', 'm');
      m.retry(`h${i}.test`, `reason${i}`);
    }
    const d = await start({ metrics: m });
    const f = await scrape(d);
    const hosts = new Set(
      (f.get('trawl_requests_total')!.metrics as PromSample[]).map((s) => s.labels?.host),
    );
    expect(hosts).toEqual(new Set(['h0.test', 'h1.test', 'h2.test', 'other']));
    expect(value(f, 'trawl_requests_total', { host: 'other', status_class: '2xx' })).toBe(97);
    expect(f.get('trawl_errors_total')!.metrics.length).toBeLessThanOrEqual(33);
    expect(value(f, 'trawl_errors_total', { kind: 'other' })).toBe(100 - 32);
    expect(f.get('trawl_retries_total')!.metrics.length).toBeLessThanOrEqual(33);
    expect(m.snapshot().errors.total).toBe(100);
    // The dashboard still lists every host individually, busiest first, at most 50.
    for (let i = 0; i < 30; i++) m.requestFinished('h99.test', 200, 1, 1);
    for (let i = 0; i < 10; i++) m.requestFinished('h50.test', 200, 1, 1);
    for (let i = 0; i < 20; i++) m.requestFinished('h7.test', 200, 1, 1);
    const snap = m.dashboardSnapshot();
    expect(snap.hostsTotal).toBe(100);
    expect(snap.hosts).toHaveLength(50);
    expect(snap.hosts.slice(0, 4).map((h) => [h.host, h.requests])).toEqual([
      ['h99.test', 31],
      ['h7.test', 21],
      ['h50.test', 11],
      ['h0.test', 1],
    ]);
    const counts = snap.hosts.map((h) => h.requests);
    expect(counts).toEqual([...counts].sort((a, b) => b - a));
  });

  it('can add prom-client default metrics to the registry', async () => {
    const m = metrics({ collectDefault: true });
    const d = await start({ metrics: m });
    const f = await scrape(d);
    expect(f.has('process_resident_memory_bytes')).toBe(true);
    expect(f.has('nodejs_eventloop_lag_seconds')).toBe(true);
    expect(f.has('trawl_requests_total')).toBe(true);
  });
});

describe('dashboard server', () => {
  it('serves the page and uPlot from the package with security headers', async () => {
    const d = await start({ metrics: metrics() });
    expect(d.url).toBe(`http://127.0.0.1:${d.port}/`);
    expect(d.token).toBeNull();
    const page = await fetch(d.url);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toContain('text/html');
    expect(page.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(page.headers.get('content-security-policy')).toContain("default-src 'self'");
    expect(page.headers.get('x-content-type-options')).toBe('nosniff');
    expect(await page.text()).toContain('<script src="/vendor/uPlot.iife.min.js">');
    const js = await fetch(`${base(d)}/vendor/uPlot.iife.min.js`);
    expect(js.headers.get('content-type')).toContain('text/javascript');
    const want = await readFile(createRequire(import.meta.url).resolve('uplot/dist/uPlot.iife.min.js'));
    expect(Buffer.from(await js.arrayBuffer()).equals(want)).toBe(true);
    expect((await fetch(`${base(d)}/vendor/uPlot.min.css`)).status).toBe(200);
    expect((await fetch(`${base(d)}/page.js`)).status).toBe(200);
    expect((await fetch(`${base(d)}/nope`)).status).toBe(404);
    expect((await fetch(`${base(d)}/metrics`, { method: 'POST' })).status).toBe(405);
  });

  it('requires the token on every path when asked to, via query, cookie or bearer', async () => {
    const d = await start({ metrics: metrics(), requireToken: true, token: 's3cret-token' });
    expect(d.token).toBe('s3cret-token');
    expect(d.url).toBe(`http://127.0.0.1:${d.port}/?token=s3cret-token`);
    for (const path of [
      '/',
      '/metrics',
      '/events',
      '/api/snapshot',
      '/page.js',
      '/vendor/uPlot.iife.min.js',
    ]) {
      expect((await fetch(`${base(d)}${path}`)).status, path).toBe(401);
      expect((await fetch(`${base(d)}${path}?token=wrong`)).status, path).toBe(401);
    }
    const ok = await fetch(d.url);
    expect(ok.status).toBe(200);
    const setCookie = ok.headers.get('set-cookie') ?? '';
    expect(setCookie).toContain(`trawl_token_${d.port}=s3cret-token`);
    expect(setCookie).toContain('HttpOnly');
    const cookie = setCookie.split(';')[0]!;
    expect((await fetch(`${base(d)}/metrics`, { headers: { cookie } })).status).toBe(200);
    expect(
      (await fetch(`${base(d)}/metrics`, { headers: { cookie: `trawl_token_${d.port}=nope` } })).status,
    ).toBe(401);
    expect(
      (await fetch(`${base(d)}/metrics`, { headers: { authorization: 'Bearer s3cret-token' } })).status,
    ).toBe(200);
    expect(
      (await fetch(`${base(d)}/metrics`, { headers: { authorization: 'Bearer s3cret-tokex' } })).status,
    ).toBe(401);
  });

  it('generates a random token when none is given, and refuses a non-loopback bind without one', async () => {
    const a = await start({ metrics: metrics(), requireToken: true });
    const b = await start({ metrics: metrics(), requireToken: true });
    expect(a.token).toMatch(/^[0-9a-f]{32}$/);
    expect(b.token).toMatch(/^[0-9a-f]{32}$/);
    expect(a.token).not.toBe(b.token);
    expect((await fetch(`${base(a)}/metrics?token=${b.token}`)).status).toBe(401);
    expect((await fetch(`${base(a)}/metrics?token=${a.token}`)).status).toBe(200);
    // Refused before binding anything.
    await expect(
      startDashboard({ host: '0.0.0.0', port: 0, metrics: metrics(), requireToken: false }),
    ).rejects.toThrow(/without an access token/);
  });

  it('rejects foreign Host headers on a tokenless loopback dashboard (DNS rebinding)', async () => {
    const d = await start({ metrics: metrics() });
    const status = (host: string): Promise<number> =>
      new Promise((resolve, reject) => {
        httpGet({ host: '127.0.0.1', port: d.port, path: '/api/snapshot', headers: { host } }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        }).on('error', reject);
      });
    expect(await status('evil.example')).toBe(403);
    expect(await status(`evil.example:${d.port}`)).toBe(403);
    expect(await status(`localhost:${d.port}`)).toBe(200);
    expect(await status(`127.0.0.1:${d.port}`)).toBe(200);
  });

  it('streams snapshots over SSE only while a client is connected', async () => {
    let calls = 0;
    const m = metrics();
    m.requestFinished('a.test', 200, 5, 10);
    const source = (): DashboardSnapshot => {
      calls++;
      return m.dashboardSnapshot();
    };
    const d = await start({ metrics: source, intervalMs: 100 });
    expect(calls).toBe(0);
    expect(d.streaming).toBe(false);
    const t0 = performance.now();
    const { frames, res } = await readEvents(`${base(d)}/events`, (fr) => fr.length >= 3);
    const elapsed = performance.now() - t0;
    expect(res.headers['content-type']).toContain('text/event-stream');
    expect(frames[0]!.metrics.requests.total).toBe(1);
    // One frame on connect, then at most one per interval.
    expect(frames.length).toBeLessThanOrEqual(2 + Math.floor(elapsed / 100));
    expect(d.streaming).toBe(true);
    res.destroy();
    // Once the server has seen the disconnect its timer is gone: nothing can read the source.
    await until(() => !d.streaming);
    const after = calls;
    // A source-function dashboard has no registry to serve.
    expect((await fetch(`${base(d)}/metrics`)).status).toBe(404);
    const api = (await (await fetch(`${base(d)}/api/snapshot`)).json()) as DashboardSnapshot;
    expect(api.metrics.requests.total).toBe(1);
    expect(calls).toBe(after + 1); // the /api/snapshot request, and nothing else
  });

  it('leaves no timer or monitor that keeps the process alive after close()', async () => {
    // A child process: metrics (not closed, default metrics on), a dashboard with a live SSE
    // client, then dashboard.close(). The process must exit on its own.
    const dir = await mkdtemp(join(tmpdir(), 'trawl-dash-'));
    cleanup.push(() => rm(dir, { recursive: true, force: true }));
    const script = join(dir, 'exit.mts');
    const src = (p: string): string => new URL(`../../src/${p}`, import.meta.url).href;
    await writeFile(
      script,
      `import { get } from 'node:http';
import { CrawlMetrics } from '${src('crawl/metrics/metrics.ts')}';
import { startDashboard } from '${src('dashboard/server.ts')}';
const m = new CrawlMetrics({ collectDefault: true });
m.requestFinished('a.test', 200, 5, 10);
const d = await startDashboard({ port: 0, metrics: m, intervalMs: 100 });
await new Promise((resolve) => get('http://127.0.0.1:' + d.port + '/events', (res) => res.once('data', resolve)));
await d.close();
console.log('closed');
`,
    );
    const root = fileURLToPath(new URL('../../', import.meta.url));
    const { code, out } = await new Promise<{ code: number | null; out: string }>((resolve, reject) => {
      const child = spawn(process.execPath, ['--import', 'tsx', script], {
        cwd: root,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      child.stdout.on('data', (b: Buffer) => (out += b.toString()));
      child.stderr.on('data', (b: Buffer) => (out += b.toString()));
      const killer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      child.on('error', reject);
      child.on('exit', (c) => {
        clearTimeout(killer);
        resolve({ code: c, out });
      });
    });
    expect(out).toContain('closed');
    expect(code).toBe(0); // SIGKILL by the 15 s guard would give null
  });

  it('close() ends open event streams and stops serving', async () => {
    const d = await startDashboard({ port: 0, metrics: metrics(), intervalMs: 100 });
    const { res } = await readEvents(`${base(d)}/events`, (fr) => fr.length >= 1);
    const ended = new Promise<void>((resolve) => res.on('close', () => resolve()));
    res.resume();
    await d.close();
    await ended;
    await d.close(); // idempotent
    await expect(fetch(`${base(d)}/metrics`)).rejects.toThrow();
  });
});

describe('--auto-throttle state in the metrics', () => {
  it('is served per host as trawl_host_concurrency_limit and trawl_host_delay_seconds, and in the dashboard rows', async () => {
    const clock = new FakeClock(1_700_000_000_000);
    const m = metrics({ clock });
    m.requestFinished('a.test', 200, 3, 10);
    m.requestFinished('b.test', 200, 3, 10);
    m.setHostState('a.test', {
      throttle: {
        limit: 6,
        delayMs: 0,
        reason: '503',
        changedAt: clock.now() - 2000,
        latencyMs: 41,
        baseLatencyMs: 28,
      },
    });
    m.setHostState('b.test', {
      throttle: {
        limit: 1,
        delayMs: 400,
        reason: '429',
        changedAt: clock.now(),
        latencyMs: null,
        baseLatencyMs: null,
      },
    });
    const d = await start({ metrics: m });
    const f = await scrape(d);
    expect(value(f, 'trawl_host_concurrency_limit', { host: 'a.test' })).toBe(6);
    expect(value(f, 'trawl_host_delay_seconds', { host: 'a.test' })).toBe(0);
    expect(value(f, 'trawl_host_concurrency_limit', { host: 'b.test' })).toBe(1);
    expect(value(f, 'trawl_host_delay_seconds', { host: 'b.test' })).toBe(0.4);
    const rows = m.dashboardSnapshot().hosts;
    expect(rows.find((h) => h.host === 'a.test')?.throttle).toEqual({
      limit: 6,
      delayMs: 0,
      reason: '503',
      sinceMs: 2000,
      latencyMs: 41,
      baseLatencyMs: 28,
    });
    m.requestFinished('c.test', 200, 3, 10);
    expect(m.dashboardSnapshot().hosts.find((h) => h.host === 'c.test')?.throttle).toBeNull();
  });
});
