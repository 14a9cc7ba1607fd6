/**
 * `trawl status --redis URL --name NAME` against a real redis-server: the counters, the live
 * processes with their leases and the shared options of a crawl caught mid-way (built through the
 * Redis frontier itself, so the numbers are known exactly), and the one-line refusals.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { resolveOptions } from '../../src/crawl/options.js';
import type { PageRecord } from '../../src/crawl/record.js';
import { publishSpec, specOf } from '../../src/crawl/redis/crawl-spec.js';
import { Presence } from '../../src/crawl/redis/presence.js';
import { RedisFrontier } from '../../src/crawl/redis/redis-frontier.js';
import type { RedisCrawlStatus } from '../../src/crawl/redis/redis-status.js';
import { cleanup, runCli } from '../helpers/cli.js';
import { freePort, startRedis, type TestRedis } from '../helpers/redis.js';

let redis: TestRedis | null = null;
const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of closers.splice(0)) await c();
  await cleanup();
  await redis?.stop();
  redis = null;
});

const item = (n: number) => ({
  url: `http://127.0.0.1:1/p${n}`,
  host: '127.0.0.1:1',
  depth: 1,
  referrer: null,
  attempts: 0,
});

function record(url: string, error: string | null): PageRecord {
  return { url, final_url: url, status: error ? null : 200, error } as unknown as PageRecord;
}

/**
 * Crawl `shop` caught mid-way: 5 URLs seen, one process registered holding 2 live leases, one
 * URL done ok and one failed, 1 queued. Returns the registered process's id.
 */
async function crawlMidWay(r: TestRedis): Promise<string> {
  const client = r.client();
  const spec = specOf(resolveOptions({ seeds: ['http://127.0.0.1:1/'], rate: 300, burst: 10, depth: 4 }));
  await publishSpec(client, 'shop', spec);
  const presence = new Presence(client, 'shop', { ttlMs: 30_000 });
  await presence.start();
  const f = new RedisFrontier(client, {
    name: 'shop',
    hostRate: Number.POSITIVE_INFINITY,
    hostBurst: 5,
    owner: presence.id,
    presence,
  });
  closers.push(() => f.close());
  expect(await f.add([1, 2, 3, 4, 5].map(item))).toBe(5);
  const leased = await f.lease(5, Date.now(), () => 0);
  expect(leased).toHaveLength(5);
  await f.complete([
    { item: leased[0]!, record: record(leased[0]!.url, null), links: [] },
    { item: leased[1]!, record: record(leased[1]!.url, 'http: 500'), links: [] },
    // A robots.txt refusal is a skip, not a failure, as in the crawl's summary.
    { item: leased[2]!, record: record(leased[2]!.url, 'robots: disallowed by robots.txt'), links: [] },
  ]);
  return presence.id;
}

describe('trawl status --redis', () => {
  it('prints the counters, each live process with its leases, and the shared spec; --json agrees', async () => {
    redis = await startRedis();
    const id = await crawlMidWay(redis);
    const json = await runCli(['status', '--redis', redis.url, '--name', 'shop', '--json']);
    expect(json.code, json.stderr).toBe(0);
    const s = JSON.parse(json.stdout) as RedisCrawlStatus & { spec: { hostRate: unknown } };
    expect(s).toMatchObject({
      name: 'shop',
      queued: 0,
      leased: 2,
      expired: 0,
      done: 3,
      failed: 1,
      skipped: 1,
      seen: 5,
      reaped: 0,
      members: [{ id, leases: 2 }],
      unattributedLeases: 0,
    });
    expect(s.spec).toMatchObject({
      rate: 300,
      burst: 10,
      depth: 4,
      hostRate: 'inf',
      seeds: ['http://127.0.0.1:1/'],
    });

    const text = await runCli(['status', '--redis', redis.url, '--name', 'shop']);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toContain(`crawl    shop (Redis ${redis.url})`);
    expect(text.stdout).toContain('done     3 (1 ok, 1 failed, 1 skipped)');
    expect(text.stdout).toContain('queued   0\n');
    expect(text.stdout).toContain('leased   2\n');
    expect(text.stdout).toContain('seen     5\n');
    expect(text.stdout).toContain('workers  1 live\n');
    expect(text.stdout).toMatch(new RegExp(`\\n  ${id.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} +2 leases\\n`));
    expect(text.stdout).toContain('  rate          300/s, burst 10\n');
    expect(text.stdout).toContain('  host rate     inf/s, burst 5\n');
  });

  it('a process that stopped is no longer listed as live (its presence is withdrawn)', async () => {
    redis = await startRedis();
    await crawlMidWay(redis);
    for (const c of closers.splice(0)) await c(); // the frontier's close stops its presence
    const res = await runCli(['status', '--redis', redis.url, '--name', 'shop', '--json']);
    expect(res.code, res.stderr).toBe(0);
    const s = JSON.parse(res.stdout) as RedisCrawlStatus;
    expect(s.members).toEqual([]);
    // Its leases stay until they expire (a stopped process's unfinished work is not lost).
    expect(s.leased).toBe(2);
    expect(s.unattributedLeases).toBe(2);
  });

  it('exits 2 with one line when no crawl of that name exists', async () => {
    redis = await startRedis();
    const res = await runCli(['status', '--redis', redis.url, '--name', 'nope']);
    expect(res.code).toBe(2);
    expect(res.stdout).toBe('');
    expect(res.stderr).toBe(`trawl: no crawl named "nope" at ${redis.url}\n`);
  });

  it('refuses ambiguous or incomplete usage in one line, and an unreachable Redis', async () => {
    const port = await freePort();
    const url = `redis://127.0.0.1:${port}/0`;
    const cases: [string[], string][] = [
      [['status'], 'trawl: status needs a state file, or --redis URL --name NAME\n'],
      [['status', '--redis', url], 'trawl: trawl status --redis needs --name NAME\n'],
      [['status', 'x.db', '--redis', url, '--name', 't'], 'trawl: give a state file or --redis, not both\n'],
      [['status', 'x.db', '--name', 't'], 'trawl: --name needs --redis (a state file holds one crawl)\n'],
      [
        ['status', '--redis', url, '--name', 't'],
        `trawl: cannot connect to Redis at ${url}: connect ECONNREFUSED 127.0.0.1:${port}\n`,
      ],
    ];
    const results = await Promise.all(cases.map(([args]) => runCli(args)));
    results.forEach((res, i) => {
      const [args, line] = cases[i]!;
      expect(res.stderr, args.join(' ')).toBe(line);
      expect(res.code, args.join(' ')).toBe(2);
    });
  });
});
