import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Redis } from 'ioredis';
import { LuaScript } from './connect.js';
import { crawlKeys } from './keys.js';

// Redis' clock, as in scripts.ts: processes on skewed machines agree on who is live.
const BEAT = new LuaScript(`
local t = redis.call('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
local ttl = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
redis.call('ZADD', KEYS[1], now + ttl, ARGV[1])
if redis.call('PTTL', KEYS[1]) < ttl then redis.call('PEXPIRE', KEYS[1], ttl) end
return now
`);

const LIVE = new LuaScript(`
local t = redis.call('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
return redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. now, '+inf')
`);

/** A process id for leases and presence: `hostname:pid:random`, unique across machines and restarts. */
export function processId(): string {
  return `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;
}

/**
 * This process's registration as a live member of Redis crawl `name` (the `workers` key), for
 * `trawl status --redis` and for anyone waiting until a cluster has assembled. `start` registers
 * (one round trip, awaited; it may precede the crawl's creation: a worker waiting for its crawl is
 * already a member) and then renews every `ttlMs`/3 on an unref'd timer (it never keeps Node
 * alive). A process that dies drops out `ttlMs` after its last renewal; the key itself expires
 * when its last member does, so a crawl that was never created leaves nothing behind. `stop`
 * deregisters (skipped when the connection is down: the entry then expires). Renewal failures are
 * ignored (the next tick tries again). Idempotent stop; start after stop is refused.
 */
export class Presence {
  readonly id: string;
  readonly #client: Redis;
  readonly #key: string;
  readonly #ttl: number;
  #timer: NodeJS.Timeout | null = null;
  #stopped = false;

  constructor(client: Redis, name: string, opts: { ttlMs: number; id?: string }) {
    this.#client = client;
    this.#key = crawlKeys(name).workers;
    this.#ttl = Math.max(100, Math.round(opts.ttlMs));
    this.id = opts.id ?? processId();
  }

  /** Registers now and keeps the registration alive until {@link stop}. */
  async start(): Promise<void> {
    if (this.#stopped) throw new Error('Presence: start after stop');
    await this.#beat();
    if (this.#stopped || this.#timer) return;
    this.#timer = setInterval(
      () => {
        this.#beat().catch(() => undefined);
      },
      Math.max(30, Math.floor(this.#ttl / 3)),
    );
    this.#timer.unref();
  }

  /** Deregisters this process (when Redis is reachable) and stops renewing. */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
    if (this.#client.status === 'ready') await this.#client.zrem(this.#key, this.id).catch(() => undefined);
  }

  #beat(): Promise<unknown> {
    return BEAT.run(this.#client, [this.#key], [this.id, this.#ttl]);
  }
}

/** The ids of the live members of Redis crawl `name` (registered and renewed within their TTL), sorted. */
export async function liveMembers(client: Redis, name: string): Promise<string[]> {
  const ids = (await LIVE.run(client, [crawlKeys(name).workers], [])) as string[];
  return [...ids].sort();
}
