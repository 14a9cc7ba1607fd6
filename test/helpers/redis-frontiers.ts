import type { Redis } from 'ioredis';
import { afterAll, beforeAll, beforeEach } from 'vitest';
import { connectRedis } from '../../src/crawl/redis/connect.js';
import { RedisFrontier, type RedisFrontierOptions } from '../../src/crawl/redis/redis-frontier.js';
import { startRedis, type TestRedis } from './redis.js';

/** One test file's redis-server, client and RedisFrontiers (see {@link useRedisFrontiers}). */
export interface RedisFrontierFixture {
  /** The file's redis-server (set in beforeAll). */
  readonly redis: TestRedis;
  /** A client of it (set in beforeAll). */
  readonly client: Redis;
  /** The current test's crawl name, `<prefix><n>`: a new one for each test, so tests share no keys. */
  readonly name: string;
  /**
   * A RedisFrontier on the current test's crawl with no host rate limit (rate infinite, burst
   * 1) unless `opts` overrides it; closed after the file's last test.
   */
  frontier(opts?: Partial<RedisFrontierOptions>): RedisFrontier;
}

/**
 * Registers the hooks of a test file that runs RedisFrontiers against its own redis-server:
 * beforeAll starts the server and connects a client, beforeEach picks a fresh crawl name
 * (`prefix` then a counter), afterAll closes every frontier made, disconnects and stops the
 * server. Call it once at the top level of the file; read the fields inside tests only.
 */
export function useRedisFrontiers(prefix: string): RedisFrontierFixture {
  let redis: TestRedis | undefined;
  let client: Redis | undefined;
  let n = 0;
  let name = '';
  const open: RedisFrontier[] = [];
  beforeAll(async () => {
    redis = await startRedis();
    client = await connectRedis(redis.url);
  });
  afterAll(async () => {
    for (const f of open) await f.close();
    client?.disconnect();
    await redis?.stop();
  });
  beforeEach(() => {
    name = `${prefix}${++n}`;
  });
  const started = <T>(v: T | undefined): T => {
    if (v === undefined) throw new Error('useRedisFrontiers: read its fields inside a test');
    return v;
  };
  return {
    get redis() {
      return started(redis);
    },
    get client() {
      return started(client);
    },
    get name() {
      return name;
    },
    frontier(opts = {}) {
      const f = new RedisFrontier(started(client), {
        name,
        hostRate: Number.POSITIVE_INFINITY,
        hostBurst: 1,
        ...opts,
      });
      open.push(f);
      return f;
    },
  };
}
