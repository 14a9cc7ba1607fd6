/**
 * Several trawl processes on one crawl through a real redis-server: exactly-once records, the
 * crawl-wide politeness budget counted at the server, a SIGKILLed worker, a Redis restart.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { afterEach, describe, expect, it } from 'vitest';
import type { TestSite } from '../../src/testsite/server.js';
import {
  type CliProcess,
  cleanup,
  readJsonl,
  runCli,
  spawnCli,
  startSite,
  tempDir,
  until,
} from '../helpers/cli.js';
import { freePort, startRedis, type TestRedis } from '../helpers/redis.js';

let redis: TestRedis | null = null;
afterEach(async () => {
  await cleanup();
  await redis?.stop();
  redis = null;
});

const common = ['--allow-private', '--quiet', '--json', '--parsers', '0', '--max-connections', '64'];

/**
 * `workers` × `trawl worker` and one `trawl crawl` with the seed, all on crawl `t`. The workers
 * start first and the crawl only once every one of them is a live member of it (they register
 * while waiting for the crawl to be created): a process's start-up (seconds on a loaded machine)
 * then cannot eat into its share of the crawl. Returns the crawl first, then the workers.
 */
async function cluster(
  site: TestSite,
  r: TestRedis,
  workers: number,
  flags: string[],
): Promise<CliProcess[]> {
  const join = ['--redis', r.url, '--name', 't', ...common, ...flags];
  const ws = Array.from({ length: workers }, () => spawnCli(['worker', ...join], { timeoutMs: 60_000 }));
  const c = r.client();
  const deadline = performance.now() + 40_000;
  while ((await c.zcard('trawl:{t}:workers')) < workers) {
    if (performance.now() > deadline) throw new Error('timed out waiting for every worker to register');
    await new Promise((res) => setTimeout(res, 20));
  }
  return [spawnCli(['crawl', site.url, ...join], { timeoutMs: 50_000 }), ...ws];
}

/** Exports crawl `t` and checks every site page is there exactly once. */
async function expectExactlyOnce(site: TestSite, r: TestRedis): Promise<void> {
  const out = `${tempDir('trawl-redis-')}/all.jsonl`;
  const res = await runCli(['export', '--redis', r.url, '--name', 't', '--out', out]);
  expect(res.stderr).toMatch(/exported \d+ records/);
  expect(res.code).toBe(0);
  const urls = readJsonl(out).records.map((x) => String(x.url));
  const want = Array.from({ length: site.site.pages }, (_, id) => site.pageUrl(id));
  expect(urls.length).toBe(want.length);
  expect(new Set(urls)).toEqual(new Set(want));
}

/** Pages stored by each process, from its JSON summary line. */
function pagesOf(stdout: string): number {
  const line = stdout.split('\n').find((l) => l.includes('"event":"summary"'));
  return line ? Number((JSON.parse(line) as { pages: number }).pages) : -1;
}

/** The most requests the server saw in any window of `w` ms. */
function maxInWindow(times: readonly number[], w: number): number {
  const t = [...times].sort((a, b) => a - b);
  let best = 0;
  for (let i = 0, j = 0; i < t.length; i++) {
    while (t[i]! - t[j]! > w) j++;
    best = Math.max(best, i - j + 1);
  }
  return best;
}

describe('distributed crawl on Redis', () => {
  it('three processes store every page of a 1,000-page site once and together keep the rate', async () => {
    redis = await startRedis();
    const site = await startSite({ pages: 1000, latencyMs: 3 });
    // 100/s, not 300/s: three processes on a 2-core machine shared with other test runs managed
    // only 133-230 requests in their best second at 300/s (load average 20-26), so the floor
    // below measured the machine, not the limiter. At 100/s they outrun the budget with margin.
    const rate = 100;
    const burst = 10;
    const procs = await cluster(site, redis, 2, [
      '--rate',
      String(rate),
      '--burst',
      String(burst),
      '--workers',
      '16',
      '--host-concurrency',
      '64',
    ]);
    // The site server runs in this process: while this process is not scheduled, requests queue
    // in the kernel and are then time-stamped together. Its longest stall is the measuring
    // instrument's error, measured here and added to the bound below.
    const stalls = monitorEventLoopDelay({ resolution: 5 });
    stalls.enable();
    const results = await Promise.all(procs.map((p) => p.exited));
    stalls.disable();
    const serverStallMs = stalls.max / 1e6;
    for (const r of results) expect(r.code, r.stderr).toBe(0);
    // Everyone took part (a worker that idled would make the budget check vacuous); every process
    // was running before the crawl was created (see cluster()), so none can miss most of it.
    for (const r of results) expect(pagesOf(r.stdout)).toBeGreaterThan(100);
    expect(results.reduce((s, r) => s + pagesOf(r.stdout), 0)).toBe(1000);
    await expectExactlyOnce(site, redis);
    // Token bucket at the server: at most burst + rate·W in any window W, plus the three
    // robots.txt fetches (not rate-limited), 30 ms of timer/loopback jitter (a worker that acts
    // on its slot later than that gives it up: redis-rate-gate.ts) and the requests of the
    // server's own longest stall (measured at load average 7-10 on 2 cores: stalls up to 156 ms;
    // after one of 51 ms, five requests were stamped within the same millisecond). Three
    // processes with their own limiters would show ~3× the rate.
    const slack = 3 + rate * 0.03 + (rate * serverStallMs) / 1000;
    for (const w of [100, 500, 1000, 3000]) {
      expect(maxInWindow(site.requestTimes, w), `window ${w} ms`).toBeLessThanOrEqual(
        burst + (rate * w) / 1000 + slack,
      );
    }
    // ... and the rate was actually the binding limit (not a vacuous bound).
    expect(maxInWindow(site.requestTimes, 1000)).toBeGreaterThan(rate * 0.6);
  });

  it('finishes with every page once after a worker is SIGKILLed holding leases', async () => {
    redis = await startRedis();
    const site = await startSite({ pages: 800, latencyMs: 25 });
    const procs = await cluster(site, redis, 2, [
      '--rate',
      'inf',
      '--host-concurrency',
      '64',
      '--workers',
      '8',
      '--lease-ttl',
      '1s',
    ]);
    await until(() => site.total() > 250, 'the crawl to get going', 30_000);
    procs[1]!.kill('SIGKILL');
    const results = await Promise.all(procs.map((p) => p.exited));
    expect(results[1]!.signal).toBe('SIGKILL');
    for (const i of [0, 2]) expect(results[i]!.code, results[i]!.stderr).toBe(0);
    const c = redis.client();
    // The killed worker's leases were reaped and crawled again by the others.
    expect(Number(await c.hget('trawl:{t}:stats', 'reaped'))).toBeGreaterThan(0);
    expect(await c.zcard('trawl:{t}:leases')).toBe(0);
    await expectExactlyOnce(site, redis);
  });

  it('a worker stopped with SIGTERM hands its unfinished work back at once (no lease has to expire)', async () => {
    redis = await startRedis();
    const site = await startSite({ pages: 1200, latencyMs: 20 });
    const procs = await cluster(site, redis, 1, [
      '--rate',
      'inf',
      '--host-concurrency',
      '64',
      '--workers',
      '16',
    ]);
    await until(() => site.total() > 300, 'the crawl to get going', 30_000);
    procs[1]!.kill('SIGTERM');
    const results = await Promise.all(procs.map((p) => p.exited));
    for (const r of results) expect(r.code, r.stderr).toBe(0);
    expect(pagesOf(results[1]!.stdout)).toBeGreaterThan(0);
    // Default --lease-ttl is 30 s: a leaked lease would have had to be reaped.
    expect(await redis.client().hget('trawl:{t}:stats', 'reaped')).toBeNull();
    await expectExactlyOnce(site, redis);
  });

  it('rides out a redis-server restart mid-crawl (AOF persistence) and finishes', async () => {
    redis = await startRedis();
    const site = await startSite({ pages: 1500, latencyMs: 5 });
    const procs = await cluster(site, redis, 2, [
      '--rate',
      '400',
      '--burst',
      '10',
      '--workers',
      '8',
      '--lease-ttl',
      '2s',
    ]);
    await until(() => site.total() > 400, 'the crawl to get going', 30_000);
    await redis.restart({ downMs: 700 });
    const results = await Promise.all(procs.map((p) => p.exited));
    for (const r of results) expect(r.code, r.stderr).toBe(0);
    expect(results.some((r) => /lost the Redis connection/.test(r.stderr))).toBe(true);
    await expectExactlyOnce(site, redis);
  });

  it('refuses to start when Redis is unreachable: exit 2 and one clear line', async () => {
    const port = await freePort();
    const site = await startSite({ pages: 3 });
    const res = await runCli([
      'crawl',
      site.url,
      '--redis',
      `redis://127.0.0.1:${port}/0`,
      '--name',
      't',
      '--allow-private',
    ]);
    expect(res.code).toBe(2);
    expect(res.stderr).toBe(
      `trawl: cannot connect to Redis at redis://127.0.0.1:${port}/0: connect ECONNREFUSED 127.0.0.1:${port}\n`,
    );
    expect(site.total()).toBe(0);
    const w = await runCli(['worker', '--redis', `redis://127.0.0.1:${port}/0`, '--name', 't']);
    expect(w.code).toBe(2);
    expect(w.stderr.trim().split('\n')).toHaveLength(1);
  });
});
