import { afterAll, describe, expect, it, vi } from 'vitest';
import type { Completion, FrontierItem } from '../../src/crawl/frontier/frontier.js';
import { connectRedis, RedisConnectError } from '../../src/crawl/redis/connect.js';
import { exportRedis } from '../../src/crawl/redis/export.js';
import { MAX_STALE_SLOTS, RedisRateGate } from '../../src/crawl/redis/redis-rate-gate.js';
import { cleanup, readJsonl, tempDir } from '../helpers/cli.js';
import { item, record } from '../helpers/frontier-items.js';
import { freePort } from '../helpers/redis.js';
import { useRedisFrontiers } from '../helpers/redis-frontiers.js';

const fx = useRedisFrontiers('u');
const frontier = fx.frontier;
afterAll(cleanup);

function done(it: FrontierItem, links: FrontierItem[] = []): Completion {
  return { item: it, record: record(it, null, links), links };
}

/** Every host may go at once (readyAt 0 ≤ every lease's now). */
const all = () => 0;

describe('RedisFrontier', () => {
  it('adds each URL once crawl-wide, whichever process adds it', async () => {
    const a = frontier();
    const b = frontier();
    expect(await a.add([item('http://a/1'), item('http://a/2'), item('http://a/1')])).toBe(2);
    expect(await b.add([item('http://a/2'), item('http://b/1')])).toBe(1);
    expect(b.stats()).toMatchObject({ queued: 3, seen: 3, leased: 0 });
  });

  it('hands each queued URL to exactly one of several racing processes', async () => {
    const fs = [frontier(), frontier(), frontier()];
    const items = Array.from({ length: 60 }, (_, i) => item(`http://h${i % 6}/${i}`));
    await fs[0]!.add(items);
    const got: string[] = [];
    await Promise.all(
      fs.map(async (f) => {
        for (;;) {
          const batch = await f.lease(1, 0, all);
          if (batch.length === 0) {
            if (f.stats().queued === 0) return;
            continue;
          }
          got.push(...batch.map((x) => x.url));
        }
      }),
    );
    expect(got.length).toBe(60);
    expect(new Set(got).size).toBe(60);
  });

  it('asks ready() about due hosts and leases only from those it passes', async () => {
    const f = frontier();
    await f.add([item('http://a/1'), item('http://b/1')]);
    const asked: string[] = [];
    const got = await f.lease(5, 0, (h) => {
      asked.push(h);
      return h === 'b' ? 0 : 1; // a: not before 1 (> now)
    });
    expect(asked.sort()).toEqual(['a', 'b']);
    expect(got.map((x) => x.url)).toEqual(['http://b/1']);
  });

  it('stores a record once, links enqueued in the same step, and is drained only when nothing is leased', async () => {
    const f = frontier();
    await f.add([item('http://a/1')]);
    const [one] = await f.lease(1, 0, all);
    expect(await f.drained()).toBe(false); // leased
    expect(await f.complete([done(one!, [item('http://a/2'), item('http://a/1')])])).toBe(1);
    expect(await f.drained()).toBe(false); // a/2 queued
    const [two] = await f.lease(1, 0, all);
    await f.complete([done(two!)]);
    await f.complete([done(two!)]); // a repeated completion stores nothing
    expect(await f.drained()).toBe(true);
    expect(f.stats()).toMatchObject({ done: 2, queued: 0, leased: 0 });
    const out = `${tempDir('trawl-redis-')}/out.jsonl`;
    expect((await exportRedis(fx.client, fx.name, out)).records).toBe(2);
    expect(readJsonl(out).records.map((r) => r.url)).toEqual(['http://a/1', 'http://a/2']);
  });

  it('exports a crawl stored by an earlier trawl, whose records are a list of JSON', async () => {
    const f = frontier();
    await fx.client.rpush(
      f.keys.records,
      JSON.stringify({ url: 'http://old/1' }),
      JSON.stringify({ url: 'http://old/2' }),
    );
    const out = `${tempDir('trawl-redis-')}/old.jsonl`;
    expect((await exportRedis(fx.client, fx.name, out)).records).toBe(2);
    expect(readJsonl(out).records.map((r) => r.url)).toEqual(['http://old/1', 'http://old/2']);
  });

  it("returns a dead holder's URL to the queue when its lease expires; a late completion still stores once", async () => {
    const dead = frontier({ leaseTtlMs: 150 });
    const live = frontier({ leaseTtlMs: 150 });
    await dead.add([item('http://a/1')]);
    const [it] = await dead.lease(1, 0, all);
    await dead.close(); // stops renewing: the process "died"
    expect(await live.lease(1, 0, all)).toEqual([]);
    await new Promise((r) => setTimeout(r, 400));
    const [again] = await live.lease(1, 0, all);
    expect(again?.url).toBe('http://a/1');
    await dead.complete([done(it!)]); // the "dead" one finishes after all
    await live.complete([done(again!)]);
    expect(await fx.client.llen(live.keys.order)).toBe(1);
    expect(await fx.client.hget(live.keys.stats, 'reaped')).toBe('1');
    expect(await live.drained()).toBe(true);
  });

  it('renews its leases while the work runs', async () => {
    const holder = frontier({ leaseTtlMs: 150 });
    const other = frontier({ leaseTtlMs: 150 });
    await holder.add([item('http://a/1')]);
    await holder.lease(1, 0, all);
    await new Promise((r) => setTimeout(r, 600)); // 4 TTLs
    expect(await other.lease(1, 0, all)).toEqual([]);
    expect(other.stats().leased).toBe(1);
  });

  it('spaces a host crawl-wide by its rate and burst (GCRA), other hosts unaffected', async () => {
    const a = frontier({ hostRate: 0.5, hostBurst: 2 });
    const b = frontier({ hostRate: 0.5, hostBurst: 2 });
    await a.add([item('http://a/1'), item('http://a/2'), item('http://a/3')]);
    expect((await a.lease(1, 0, all)).length).toBe(1);
    expect((await b.lease(1, 0, all)).length).toBe(1); // burst 2, across processes
    expect(await a.lease(1, 0, all)).toEqual([]); // next token in 2 s
    expect(await b.lease(1, 0, all)).toEqual([]);
    expect(b.nextDueAt()! - Date.now()).toBeGreaterThan(1000);
    await a.add([item('http://b/1')]);
    expect((await b.lease(1, 0, all)).map((x) => x.url)).toEqual(['http://b/1']);
  });

  it('applies pauseHost and setHostInterval crawl-wide', async () => {
    const a = frontier();
    const b = frontier();
    await a.add([item('http://a/1'), item('http://a/2'), item('http://c/1'), item('http://c/2')]);
    await a.pauseHost('a', Date.now() + 60_000);
    await a.setHostInterval('c', 60_000);
    const got = [...(await b.lease(5, 0, all)), ...(await b.lease(5, 0, all))];
    expect(got.map((x) => x.url)).toEqual(['http://c/1']);
  });

  it('keeps a released retry out of reach until its notBefore, counted as queued', async () => {
    const f = frontier();
    await f.add([item('http://a/1')]);
    const [it] = await f.lease(1, 0, all);
    await f.release({ ...it!, attempts: 1 }, Date.now() + 300);
    expect(f.stats().queued).toBe(1);
    expect(await f.drained()).toBe(false);
    expect(await f.lease(1, 0, all)).toEqual([]);
    await new Promise((r) => setTimeout(r, 400));
    const [back] = await f.lease(1, 0, all);
    expect(back).toMatchObject({ url: 'http://a/1', attempts: 1 });
  });

  it('waits through a Redis restart instead of failing, and keeps what was stored', async () => {
    const f = frontier();
    await f.add([item('http://a/1'), item('http://a/2')]);
    const [one] = await f.lease(1, 0, all);
    await f.complete([done(one!)]);
    const restarting = fx.redis.restart({ downMs: 300 });
    await new Promise((r) => setTimeout(r, 50));
    const [two] = await f.lease(1, 0, all); // issued while Redis is down
    await restarting;
    expect(two?.url).toBe('http://a/2');
    await f.complete([done(two!)]);
    expect(await f.drained()).toBe(true);
    expect(await fx.client.llen(f.keys.order)).toBe(2);
  });
});

describe('RedisRateGate', () => {
  it('shares one bucket between processes: burst at once, then the rate', async () => {
    const g1 = new RedisRateGate(fx.client, { name: fx.name, rate: 1, burst: 3 });
    const g2 = new RedisRateGate(fx.client, { name: fx.name, rate: 1, burst: 3 });
    await g1.wait();
    await g2.wait();
    await g1.wait();
    // The fourth slot is ~1 s away: a 150 ms deadline aborts the wait.
    await expect(g2.wait(AbortSignal.timeout(150))).rejects.toThrow();
  });

  it('gives up a slot this process was too stalled to use on time and reserves another', async () => {
    // A client of its own: the spy must not count other scripts (lease renewals of open frontiers).
    const own = await connectRedis(fx.redis.url);
    const g = new RedisRateGate(own, { name: fx.name, rate: 10, burst: 1 });
    const reservations = vi.spyOn(own, 'evalsha');
    try {
      const waiting = g.wait();
      // A stall (CPU starvation, a GC pause) between reserving the slot and acting on it: the
      // reply (slot: now, the bucket is full) is handled ≥ 100 ms later, past STALE_SLOT_MS.
      const until = performance.now() + 100;
      while (performance.now() < until) {
        // busy: the event loop cannot run
      }
      await waiting;
      expect(reservations.mock.calls.length).toBeGreaterThanOrEqual(2);
      expect(reservations.mock.calls.length).toBeLessThanOrEqual(MAX_STALE_SLOTS + 1);
    } finally {
      reservations.mockRestore();
      own.disconnect();
    }
  });

  it('does not touch Redis with an infinite rate', async () => {
    const g = new RedisRateGate(fx.client, { name: fx.name, rate: Number.POSITIVE_INFINITY, burst: 1 });
    for (let i = 0; i < 100; i++) await g.wait();
    expect(await fx.client.exists(`trawl:{${fx.name}}:rate`)).toBe(0);
  });
});

describe('connectRedis', () => {
  it('refuses an unreachable server with one clear line', async () => {
    const port = await freePort();
    const err = await connectRedis(`redis://127.0.0.1:${port}/0`).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RedisConnectError);
    expect((err as Error).message).toMatch(
      new RegExp(`^cannot connect to Redis at redis://127.0.0.1:${port}/0: .*ECONNREFUSED`),
    );
    expect((err as Error).message).not.toContain('\n');
  });
});
