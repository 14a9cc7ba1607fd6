import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import { sleep } from '../../conc/time.js';
import { UsageError } from '../usage-error.js';

/** Redis could not be reached when a command started: the CLI prints the one-line message and exits 2. */
export class RedisConnectError extends UsageError {
  override name = 'RedisConnectError';
}

/** Options of {@link connectRedis}. */
export interface ConnectOptions {
  /** Give up the first connection after this long (ms). Default 5000. */
  connectTimeoutMs?: number;
  /** Called on connection changes after the first connect (`lost`, `reconnected`), for a log line. */
  onStatus?: (status: 'lost' | 'reconnected') => void;
}

/** The URL with any password replaced by `***`, for messages. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return url;
  }
}

/**
 * Connects to the Redis at `url` (`redis://[user:pass@]host:port[/db]` or `rediss://`) and
 * answers PING, or throws a {@link RedisConnectError} whose one-line message names the URL
 * (password redacted) and the cause — a malformed URL, refused connection or timeout alike.
 *
 * After that first success the client never gives up: a lost connection is retried with
 * exponential backoff (50 ms doubling to 2 s), commands issued meanwhile wait in the offline
 * queue (`maxRetriesPerRequest: null`) and commands whose reply was lost are re-sent on reconnect
 * (every trawl script is safe to run twice). `disconnect()`/`quit()` ends that.
 */
export async function connectRedis(url: string, opts: ConnectOptions = {}): Promise<Redis> {
  const shown = redactUrl(url);
  if (!/^rediss?:\/\/[^/]/.test(url)) {
    throw new RedisConnectError(`--redis: expected redis://host:port[/db] (got ${JSON.stringify(shown)})`);
  }
  let established = false;
  let down = false;
  // Loaded here, not at the top: commands that never touch Redis do not pay for ioredis.
  const { Redis } = await import('ioredis');
  const client = new Redis(url, {
    lazyConnect: true,
    maxRetriesPerRequest: null,
    enableOfflineQueue: true,
    connectTimeout: opts.connectTimeoutMs ?? 5000,
    // Before the first success: fail fast (a clear error beats a silent wait). After: forever.
    retryStrategy: (times) => (established ? Math.min(50 * 2 ** Math.min(times, 6), 2000) : null),
  });
  // ioredis emits 'error' on every failed reconnect; without a listener Node would crash.
  let lastError: Error | null = null;
  client.on('error', (err: Error) => {
    lastError = err;
  });
  // 'reconnecting' (not 'close'): a deliberate quit() closes without reconnecting.
  client.on('reconnecting', () => {
    if (established && !down) {
      down = true;
      opts.onStatus?.('lost');
    }
  });
  client.on('ready', () => {
    if (down) {
      down = false;
      opts.onStatus?.('reconnected');
    }
  });
  try {
    await client.connect();
    await client.ping();
  } catch (err) {
    client.disconnect();
    // connect() rejects with a bland "Connection is closed"; the 'error' event had the cause.
    const cause: unknown = lastError ?? err;
    const msg = cause instanceof Error ? cause.message : String(cause);
    throw new RedisConnectError(`cannot connect to Redis at ${shown}: ${msg.split('\n')[0]}`);
  }
  established = true;
  return client;
}

/** True for errors that go away when Redis is back: connection loss, loading, failover, busy script. */
export function isTransientRedisError(err: unknown): boolean {
  const msg = err instanceof Error ? err.message : String(err);
  return /^(LOADING|BUSY|TRYAGAIN|MASTERDOWN|CLUSTERDOWN|READONLY)\b|ECONNRESET|ECONNREFUSED|EPIPE|ETIMEDOUT|Connection is closed|Stream isn't writeable/i.test(
    msg,
  );
}

/** A Lua script and its SHA1, run with EVALSHA (falling back to EVAL after a restart flushed the cache). */
export class LuaScript {
  readonly sha: string;
  constructor(readonly source: string) {
    this.sha = createHash('sha1').update(source).digest('hex');
  }

  /** Runs the script once; rejects on any error, including connection errors. */
  async run(client: Redis, keys: readonly string[], args: readonly (string | number)[]): Promise<unknown> {
    try {
      return await client.evalsha(this.sha, keys.length, ...keys, ...args);
    } catch (err) {
      if (err instanceof Error && err.message.startsWith('NOSCRIPT')) {
        return await client.eval(this.source, keys.length, ...keys, ...args);
      }
      throw err;
    }
  }
}

/**
 * Runs `op` until it succeeds, retrying transient Redis errors ({@link isTransientRedisError})
 * with backoff (25 ms doubling to 2 s). Rejects with the error at once if it is not transient,
 * and with `signal`'s reason as soon as `signal` aborts — also while a command waits for Redis to
 * come back, so a crawl being aborted never hangs on a dead server (the command itself may still
 * run later; every trawl script is safe to repeat).
 */
export async function withRedisRetry<T>(op: () => Promise<T>, signal?: AbortSignal): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    signal?.throwIfAborted();
    try {
      return await raceAbort(op(), signal);
    } catch (err) {
      if (signal?.aborted || !isTransientRedisError(err)) throw err;
      await sleep(Math.min(25 * 2 ** Math.min(attempt, 7), 2000), signal);
    }
  }
}

function raceAbort<T>(p: Promise<T>, signal?: AbortSignal): Promise<T> {
  if (!signal) return p;
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}
