/**
 * Sessions of a distributed crawl in Redis (issue 12): RedisFrontier.saveSessions / loadSessions
 * against a real redis-server — shared by every process of the crawl, replaced atomically,
 * surviving a kill -9 of Redis, and counted (never shown) by `trawl status --redis`.
 */
import { describe, expect, it } from 'vitest';
import { keepsSessions, type StoredSession } from '../../src/crawl/frontier/frontier.js';
import { resolveOptions } from '../../src/crawl/options.js';
import { connectRedis } from '../../src/crawl/redis/connect.js';
import { publishSpec, specOf } from '../../src/crawl/redis/crawl-spec.js';
import { crawlKeys } from '../../src/crawl/redis/keys.js';
import { RedisFrontier } from '../../src/crawl/redis/redis-frontier.js';
import { formatRedisStatus, readRedisStatus } from '../../src/crawl/redis/redis-status.js';
import { useRedisFrontiers } from '../helpers/redis-frontiers.js';

const fx = useRedisFrontiers('sess');

/** A cookie value that must never show up in a status or message. */
const SECRET = 'sid-1a2b3c4d5e6f';

function session(id: string, extra: Partial<StoredSession> = {}): StoredSession {
  return {
    id,
    cookies: JSON.stringify({ cookies: [{ key: 'sid', value: SECRET, domain: '127.0.0.1', path: '/' }] }),
    proxy: 1,
    retired: false,
    loggedIn: true,
    requests: 7,
    ...extra,
  };
}

describe('RedisFrontier sessions', () => {
  it('are shared by every process of the crawl, in the order saved', async () => {
    const a = fx.frontier();
    const b = fx.frontier();
    expect(keepsSessions(a)).toBe(true);
    expect(await b.loadSessions()).toEqual([]);
    const saved = [
      session('w2', { retired: true }),
      session('w0', { cookies: null, proxy: null, loggedIn: false, requests: 0 }),
      session('w1'),
    ];
    await a.saveSessions(saved);
    expect(await b.loadSessions()).toEqual(saved);
    // A process joining later (its own connection) sees them too.
    const client = await connectRedis(fx.redis.url);
    try {
      const c = new RedisFrontier(client, {
        name: fx.name,
        hostRate: Number.POSITIVE_INFINITY,
        hostBurst: 1,
      });
      expect(await c.loadSessions()).toEqual(saved);
      await c.close();
    } finally {
      client.disconnect();
    }
  });

  it('a save replaces the whole set in one step; an empty save deletes it; duplicate ids send nothing', async () => {
    const f = fx.frontier();
    await f.saveSessions([session('a'), session('b'), session('c')]);
    const next = [session('c', { requests: 99 }), session('d')];
    await f.saveSessions(next);
    expect(await f.loadSessions()).toEqual(next);
    expect(await fx.client.hlen(crawlKeys(fx.name).sessions)).toBe(2);
    await expect(f.saveSessions([session('x'), session('x')])).rejects.toThrow(/session id "x" occurs twice/);
    expect(await f.loadSessions()).toEqual(next);
    await f.saveSessions([]);
    expect(await f.loadSessions()).toEqual([]);
    expect(await fx.client.exists(crawlKeys(fx.name).sessions)).toBe(0);
  });

  it('a malformed stored session is refused naming its id, never its contents', async () => {
    const f = fx.frontier();
    await fx.client.hset(crawlKeys(fx.name).sessions, 'bad', `{"id":"bad","cookies":"${SECRET}"`);
    const err = await f.loadSessions().then(
      () => null,
      (e: unknown) => e as Error,
    );
    expect(err?.message).toContain('session "bad" is malformed');
    expect(err?.message).not.toContain(SECRET);
  });

  it('trawl status --redis counts live and retired sessions and shows no cookie', async () => {
    await publishSpec(fx.client, fx.name, specOf(resolveOptions({ seeds: ['http://127.0.0.1:1/'] })));
    const f = fx.frontier();
    let s = await readRedisStatus(fx.client, fx.name);
    expect(s?.sessions).toEqual({ live: 0, retired: 0 });
    expect(formatRedisStatus(s!, 'redis://127.0.0.1')).not.toMatch(/^sessions /m);
    await f.saveSessions([session('s0'), session('s1', { retired: true }), session('s2', { retired: true })]);
    s = await readRedisStatus(fx.client, fx.name);
    expect(s?.sessions).toEqual({ live: 1, retired: 2 });
    const text = formatRedisStatus(s!, 'redis://127.0.0.1');
    expect(text).toContain('sessions 1 live, 2 retired\n');
    expect(text).not.toContain(SECRET);
    expect(JSON.stringify(s)).not.toContain(SECRET);
  });

  // Last: it restarts the file's redis-server.
  it('a saved set survives a kill -9 of Redis (appendfsync always) and the frontier carries on', async () => {
    const f = fx.frontier();
    const saved = [session('s0'), session('s1', { retired: true })];
    await f.saveSessions(saved);
    await fx.redis.restart({ signal: 'SIGKILL' });
    expect(await f.loadSessions()).toEqual(saved);
    const next = [session('s2')];
    await f.saveSessions(next);
    expect(await f.loadSessions()).toEqual(next);
  });
});
