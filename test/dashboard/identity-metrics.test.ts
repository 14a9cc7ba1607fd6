import parsePrometheusTextFormat, { type PromFamily, type PromSample } from 'parse-prometheus-text-format';
import { afterEach, describe, expect, it } from 'vitest';
import { FakeClock } from '../../src/conc/clock.js';
import { ProxyPool, type ProxyStat } from '../../src/crawl/fetch/proxy-pool.js';
import { parseProxyUrl } from '../../src/crawl/fetch/proxy-url.js';
import { CrawlMetrics } from '../../src/crawl/metrics/metrics.js';
import type { DashboardSnapshot } from '../../src/crawl/metrics/snapshot.js';
import { type Dashboard, startDashboard } from '../../src/dashboard/server.js';

const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

function metrics(clock: FakeClock): CrawlMetrics {
  const m = new CrawlMetrics({ clock });
  cleanup.push(() => m.close());
  return m;
}

async function dashboard(m: CrawlMetrics): Promise<Dashboard> {
  const d = await startDashboard({ port: 0, metrics: m });
  cleanup.push(() => d.close());
  return d;
}

async function scrape(d: Dashboard): Promise<{ text: string; fams: Map<string, PromFamily> }> {
  const res = await fetch(`http://127.0.0.1:${d.port}/metrics`);
  expect(res.status).toBe(200);
  const text = await res.text();
  return { text, fams: new Map(parsePrometheusTextFormat(text).map((f) => [f.name, f])) };
}

/** Every sample of `name` as [labels, value]. */
function samples(fams: Map<string, PromFamily>, name: string): [Record<string, string>, number][] {
  const fam = fams.get(name);
  if (fam === undefined) throw new Error(`metric ${name} missing`);
  return (fam.metrics as PromSample[]).map((s) => [s.labels ?? {}, Number(s.value)]);
}

const T0 = 1_700_000_000_000;
const XSS = '<script>alert(1)</script>';
const XSS_PROXY = `http://${XSS}:8080`;

const stat = (display: string, requests: number, errors: number, until: number | null = null): ProxyStat => ({
  display,
  requests,
  errors,
  state: until === null ? 'up' : 'backoff',
  until,
  lastError: null,
});

describe('CrawlMetrics.setIdentities', () => {
  it('reports no proxies, no sessions and not down before the first call', async () => {
    const m = metrics(new FakeClock(T0));
    const s = m.snapshot();
    expect(s.proxies).toEqual([]);
    expect(s.proxiesTotal).toBe(0);
    expect(s.proxiesDown).toBe(false);
    expect(s.sessions).toEqual({ live: 0, created: 0, retired: 0 });
    const { fams } = await scrape(await dashboard(m));
    expect(samples(fams, 'trawl_proxy_requests_total')).toEqual([]);
    expect(samples(fams, 'trawl_proxy_up')).toEqual([]);
    expect(samples(fams, 'trawl_sessions_live')).toEqual([[{}, 0]]);
    expect(samples(fams, 'trawl_sessions_created_total')).toEqual([[{}, 0]]);
    expect(samples(fams, 'trawl_sessions_retired_total')).toEqual([[{}, 0]]);
  });

  it('shows proxies and sessions in the snapshot and under the exact metric names and labels', async () => {
    const clock = new FakeClock(T0);
    const m = metrics(clock);
    m.setIdentities({
      proxies: [stat('http://127.0.0.1:3128', 7, 1), stat('socks5://127.0.0.1:1080', 5, 3, T0 + 4000)],
      proxiesDown: false,
      sessions: { live: 3, created: 5, retired: 2 },
    });
    expect(m.snapshot().proxies).toEqual([
      { display: 'http://127.0.0.1:3128', requests: 7, errors: 1, state: 'up', until: null, backoffMs: 0 },
      {
        display: 'socks5://127.0.0.1:1080',
        requests: 5,
        errors: 3,
        state: 'backoff',
        until: T0 + 4000,
        backoffMs: 4000,
      },
    ]);
    expect(m.snapshot().sessions).toEqual({ live: 3, created: 5, retired: 2 });
    expect(m.snapshot().proxiesDown).toBe(false);

    const d = await dashboard(m);
    const { text, fams } = await scrape(d);
    expect(fams.get('trawl_proxy_requests_total')?.type).toBe('COUNTER');
    expect(fams.get('trawl_proxy_errors_total')?.type).toBe('COUNTER');
    expect(fams.get('trawl_proxy_up')?.type).toBe('GAUGE');
    expect(fams.get('trawl_sessions_live')?.type).toBe('GAUGE');
    expect(fams.get('trawl_sessions_created_total')?.type).toBe('COUNTER');
    expect(fams.get('trawl_sessions_retired_total')?.type).toBe('COUNTER');
    expect(text).toContain('trawl_proxy_requests_total{proxy="http://127.0.0.1:3128"} 7\n');
    expect(text).toContain('trawl_proxy_requests_total{proxy="socks5://127.0.0.1:1080"} 5\n');
    expect(text).toContain('trawl_proxy_errors_total{proxy="http://127.0.0.1:3128"} 1\n');
    expect(text).toContain('trawl_proxy_errors_total{proxy="socks5://127.0.0.1:1080"} 3\n');
    expect(text).toContain('trawl_proxy_up{proxy="http://127.0.0.1:3128"} 1\n');
    expect(text).toContain('trawl_proxy_up{proxy="socks5://127.0.0.1:1080"} 0\n');
    expect(text).toContain('trawl_sessions_live 3\n');
    expect(text).toContain('trawl_sessions_created_total 5\n');
    expect(text).toContain('trawl_sessions_retired_total 2\n');

    // Backoff left is read on the metrics' clock at snapshot time.
    clock.advance(1500);
    expect(m.snapshot().proxies[1]!.backoffMs).toBe(2500);

    // Each call replaces the last: the proxy came back, everything is reported again.
    m.setIdentities({
      proxies: [stat('http://127.0.0.1:3128', 9, 1), stat('socks5://127.0.0.1:1080', 6, 3)],
      proxiesDown: false,
      sessions: { live: 3, created: 6, retired: 3 },
    });
    const after = await scrape(d);
    expect(after.text).toContain('trawl_proxy_requests_total{proxy="http://127.0.0.1:3128"} 9\n');
    expect(after.text).toContain('trawl_proxy_up{proxy="socks5://127.0.0.1:1080"} 1\n');
    expect(after.text).toContain('trawl_sessions_retired_total 3\n');
  });

  it('never shows the credentials of a real pool built from a proxy URL with user:pass@', async () => {
    const clock = new FakeClock(T0);
    const spec = parseProxyUrl('http://alice:s3cr3t-pw@127.0.0.1:3128');
    const pool = new ProxyPool([spec, parseProxyUrl('socks5://bob:hunter2@127.0.0.1:1080')], { clock });
    pool.pick(0);
    pool.pick(0);
    pool.failed(1, 'connection refused');
    const m = metrics(clock);
    m.setIdentities({
      proxies: pool.stats(),
      proxiesDown: pool.allDown(),
      sessions: { live: 1, created: 1, retired: 0 },
    });
    const d = await dashboard(m);
    const { text } = await scrape(d);
    const api = await (await fetch(`http://127.0.0.1:${d.port}/api/snapshot`)).text();
    for (const out of [text, api, JSON.stringify(m.snapshot())]) {
      for (const secret of ['alice', 's3cr3t-pw', 'bob', 'hunter2']) expect(out).not.toContain(secret);
    }
    expect(text).toContain('trawl_proxy_requests_total{proxy="http://127.0.0.1:3128"} 1\n');
    expect(text).toContain('trawl_proxy_errors_total{proxy="socks5://127.0.0.1:1080"} 1\n');
    expect(text).toContain('trawl_proxy_up{proxy="socks5://127.0.0.1:1080"} 0\n');
  });

  it('says all proxies are down exactly as reported', () => {
    const m = metrics(new FakeClock(T0));
    m.setIdentities({
      proxies: [stat('http://127.0.0.1:3128', 1, 1, T0 + 1000)],
      proxiesDown: true,
      sessions: { live: 1, created: 1, retired: 0 },
    });
    expect(m.snapshot().proxiesDown).toBe(true);
    m.setIdentities({
      proxies: [stat('http://127.0.0.1:3128', 2, 1)],
      proxiesDown: false,
      sessions: { live: 1, created: 1, retired: 0 },
    });
    expect(m.snapshot().proxiesDown).toBe(false);
  });

  it('merges two pools holding the same proxy into one row and one series per label', async () => {
    const m = metrics(new FakeClock(T0));
    // HTTP_PROXY and HTTPS_PROXY naming the same proxy: two pools, one display.
    m.setIdentities({
      proxies: [stat('http://127.0.0.1:3128', 4, 0), stat('http://127.0.0.1:3128', 6, 2, T0 + 3000)],
      proxiesDown: false,
      sessions: { live: 1, created: 1, retired: 0 },
    });
    expect(m.snapshot().proxies).toEqual([
      {
        display: 'http://127.0.0.1:3128',
        requests: 10,
        errors: 2,
        state: 'backoff',
        until: T0 + 3000,
        backoffMs: 3000,
      },
    ]);
    const { fams } = await scrape(await dashboard(m));
    expect(samples(fams, 'trawl_proxy_requests_total')).toEqual([[{ proxy: 'http://127.0.0.1:3128' }, 10]]);
    expect(samples(fams, 'trawl_proxy_up')).toEqual([[{ proxy: 'http://127.0.0.1:3128' }, 0]]);
  });

  it('keeps the counters monotonic when a count starts over', async () => {
    const m = metrics(new FakeClock(T0));
    const d = await dashboard(m);
    const report = (requests: number, created: number) =>
      m.setIdentities({
        proxies: [stat('http://127.0.0.1:3128', requests, 0)],
        proxiesDown: false,
        sessions: { live: 2, created, retired: 0 },
      });
    report(10, 4);
    report(3, 1); // a new pool: its totals start again from 0
    const { fams } = await scrape(d);
    expect(samples(fams, 'trawl_proxy_requests_total')).toEqual([[{ proxy: 'http://127.0.0.1:3128' }, 13]]);
    expect(samples(fams, 'trawl_sessions_created_total')).toEqual([[{}, 5]]);
    expect(m.snapshot().proxies[0]!.requests).toBe(13);
    expect(m.snapshot().sessions.created).toBe(5);
    report(5, 2);
    expect(m.snapshot().proxies[0]!.requests).toBe(15);
    expect(m.snapshot().sessions.created).toBe(6);
  });

  it('bounds the proxy label cardinality at 1000 distinct proxies', async () => {
    const m = metrics(new FakeClock(T0));
    const proxies = Array.from({ length: 1005 }, (_, i) =>
      stat(`http://127.0.${i >> 8}.${i & 255}:3128`, 1, 0),
    );
    m.setIdentities({ proxies, proxiesDown: false, sessions: { live: 1, created: 1, retired: 0 } });
    const s = m.snapshot();
    expect(s.proxies).toHaveLength(1000);
    expect(s.proxiesTotal).toBe(1005);
    expect(s.proxies.at(-1)!.display).toBe('http://127.0.3.231:3128');
    const { fams } = await scrape(await dashboard(m));
    expect(samples(fams, 'trawl_proxy_requests_total')).toHaveLength(1000);
    expect(samples(fams, 'trawl_proxy_up')).toHaveLength(1000);
  });

  it('carries a display full of markup as data: a label value in /metrics, a JSON string in the API', async () => {
    const m = metrics(new FakeClock(T0));
    m.setIdentities({
      proxies: [stat(XSS_PROXY, 2, 1)],
      proxiesDown: true,
      sessions: { live: 1, created: 1, retired: 0 },
    });
    const d = await dashboard(m);
    const { fams } = await scrape(d);
    expect(samples(fams, 'trawl_proxy_requests_total')).toEqual([[{ proxy: XSS_PROXY }, 2]]);
    const res = await fetch(`http://127.0.0.1:${d.port}/api/snapshot`);
    expect(res.headers.get('content-type')).toContain('application/json');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    const api = (await res.json()) as DashboardSnapshot;
    expect(api.metrics.proxies[0]!.display).toBe(XSS_PROXY);
    expect(api.metrics.proxiesDown).toBe(true);
  });
});
