/**
 * The library's distributed entry points, distributedCrawl and joinCrawl, against a real
 * redis-server and a loopback test site: two crawls of one process share the work and store each
 * page once, `done` withdraws the process and closes its connection, the refusals reject before
 * any request, and abort() ends a crawl whose Redis has gone away.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { distributedCrawl, joinCrawl } from '../../src/crawl/distributed-crawl.js';
import type { PageRecord } from '../../src/crawl/record.js';
import { RedisConnectError } from '../../src/crawl/redis/connect.js';
import { UsageError } from '../../src/crawl/usage-error.js';
import { useSites } from '../helpers/crawl.js';
import { freePort, startRedis, type TestRedis } from '../helpers/redis.js';

let redis: TestRedis | null = null;
afterEach(async () => {
  await redis?.stop();
  redis = null;
});
const site = useSites();

/** Connections the server has open, the asking one excluded. */
async function otherConnections(r: TestRedis): Promise<number> {
  const c = r.client();
  const list = (await c.client('LIST')) as string;
  return list.trim().split('\n').length - 1;
}

/** Polls (real time) until `cond` resolves true; what follows does not depend on how long it took. */
async function eventually(cond: () => Promise<boolean>): Promise<void> {
  while (!(await cond())) await new Promise((res) => setTimeout(res, 10));
}

const fast = { rate: Number.POSITIVE_INFINITY, parsers: 0, allowPrivate: true, retryBaseMs: 1 };

describe('distributedCrawl and joinCrawl', () => {
  it('a crawl and a joined worker share one crawl: every page stored once, done closes the connection', async () => {
    redis = await startRedis();
    const s = await site({ pages: 120, latencyMs: 2 });
    const mine: PageRecord[] = [];
    const theirs: PageRecord[] = [];
    // The worker joins first and waits for the crawl to be created.
    const joining = joinCrawl({
      redis: redis.url,
      name: 'lib',
      waitMs: 30_000,
      ...fast,
      onRecord: (r) => theirs.push(r),
    });
    const c = redis.client();
    await eventually(async () => (await c.zcard('trawl:{lib}:workers')) === 1);
    const first = await distributedCrawl({
      redis: redis.url,
      name: 'lib',
      seeds: [s.url],
      ...fast,
      onRecord: (r) => mine.push(r),
    });
    const worker = await joining;
    expect(worker.name).toBe('lib');
    const [a, b] = await Promise.all([first.done, worker.done]);
    expect(a.stopReason).toBe('done');
    expect(b.stopReason).toBe('done');
    expect(a.pages + b.pages).toBe(120);
    const urls = [...mine, ...theirs].map((r) => r.url);
    expect(new Set(urls).size).toBe(120);
    expect(urls).toHaveLength(120);
    expect(await c.llen('trawl:{lib}:order')).toBe(120);
    expect(await c.hlen('trawl:{lib}:last')).toBe(120);
    // done withdrew both processes and closed both connections (only the asserting client is left).
    expect(await c.zcard('trawl:{lib}:workers')).toBe(0);
    await eventually(async () => (await otherConnections(redis!)) === 1);
  });

  it('a crawl started again on a finished crawl ends at once and closes its connection', async () => {
    redis = await startRedis();
    const s = await site({ pages: 20 });
    const opts = { redis: redis.url, name: 'again', seeds: [s.url], ...fast };
    expect((await (await distributedCrawl(opts)).done).pages).toBe(20);
    s.reset();
    // It used to hang: its sessions were saved after the frontier had closed the connection.
    const again = await distributedCrawl(opts);
    const summary = await again.done;
    expect(summary.pages).toBe(0);
    expect(summary.stopReason).toBe('done');
    expect(s.total()).toBe(0);
    await eventually(async () => (await otherConnections(redis!)) === 0);
  });

  it('joinCrawl rejects with a UsageError naming a crawl that does not exist, and closes its connection', async () => {
    redis = await startRedis();
    await expect(joinCrawl({ redis: redis.url, name: 'nope' })).rejects.toThrow(
      new UsageError(
        `no crawl named "nope" at ${redis.url} (start it with trawl crawl <url> --redis ... --name nope)`,
      ),
    );
    expect(await redis.client().zcard('trawl:{nope}:workers')).toBe(0);
    await eventually(async () => (await otherConnections(redis!)) === 1);
  });

  it('refuses before any request: unreachable Redis, local-storage options, bad options', async () => {
    const s = await site({ pages: 3 });
    const port = await freePort();
    const down = `redis://127.0.0.1:${port}/0`;
    await expect(distributedCrawl({ redis: down, seeds: [s.url], ...fast })).rejects.toBeInstanceOf(
      RedisConnectError,
    );
    await expect(joinCrawl({ redis: down, name: 't' })).rejects.toBeInstanceOf(RedisConnectError);
    const bad = { state: 'x.db' } as unknown as object;
    await expect(distributedCrawl({ redis: down, seeds: [s.url], ...bad })).rejects.toThrow(
      /state lives in Redis/,
    );
    await expect(distributedCrawl({ redis: down, seeds: [s.url], leaseTtlMs: 5 })).rejects.toThrow(
      /lease-ttl/,
    );
    await expect(distributedCrawl({ redis: down, seeds: [s.url], workers: 0 })).rejects.toBeInstanceOf(
      UsageError,
    );
    expect(s.total()).toBe(0);
  });

  it('abort() ends a crawl whose Redis went away (its waits on Redis end too)', async () => {
    redis = await startRedis();
    const s = await site({ pages: 400, latencyMs: 20 });
    const crawl = await distributedCrawl({
      redis: redis.url,
      name: 'gone',
      seeds: [s.url],
      ...fast,
      workers: 4,
    });
    await eventually(async () => s.total() > 20);
    await redis.stop();
    redis = null;
    crawl.abort();
    // done settles: with the summary, or with the abort's reason when a Redis call was cut short.
    const outcome = await crawl.done.then(
      (summary) => summary.stopReason,
      (err: unknown) => (err instanceof Error ? err.name : String(err)),
    );
    expect(['aborted', 'AbortError']).toContain(outcome);
  });
});
