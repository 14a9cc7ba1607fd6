import type { Redis } from 'ioredis';
import type { StoredSession } from '../frontier/frontier.js';
import { checkSessionIds, parseStoredSession, storedSessionJson } from '../frontier/stored-session.js';
import { LuaScript, withRedisRetry } from './connect.js';

// DEL then HSET in one script: every reader sees the old set or the new one, never a mix, and a
// script re-sent after a lost reply (ioredis does that on reconnect) writes the same set again.
const SAVE = new LuaScript(`
redis.call('DEL', KEYS[1])
for i = 1, #ARGV, 2 do redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end
return #ARGV / 2
`);

/**
 * Replaces the sessions of a Redis crawl — the hash `key` (`crawlKeys(name).sessions`, that is
 * `trawl:{name}:sessions`), id → JSON with the session's position in `list` — with `list`, in one
 * atomic script: every process of the crawl reads the previous set or this one. An empty list
 * deletes the hash. Resolves once Redis has executed it: as durable as the server's persistence
 * makes any write (AOF with fsync always survives a crash of Redis too). Retries through
 * connection loss like the frontier (until `signal` aborts). Rejects with a TypeError, sending
 * nothing, when an id occurs twice.
 */
export async function saveRedisSessions(
  client: Redis,
  key: string,
  list: readonly StoredSession[],
  signal?: AbortSignal,
): Promise<void> {
  checkSessionIds(list);
  const args: string[] = [];
  for (const [pos, s] of list.entries()) args.push(s.id, storedSessionJson(s, pos));
  await withRedisRetry(() => SAVE.run(client, [key], args), signal);
}

/**
 * The sessions of a Redis crawl (the hash `key`, `crawlKeys(name).sessions`) as the last save
 * left them, in the order they were saved; [] when none were saved. Retries through connection
 * loss (until `signal` aborts). Rejects naming the key and the session id — never its contents,
 * which hold cookies — when a stored session is malformed.
 */
export async function loadRedisSessions(
  client: Redis,
  key: string,
  signal?: AbortSignal,
): Promise<StoredSession[]> {
  const hash = await withRedisRetry(() => client.hgetall(key), signal);
  const out: { session: StoredSession; pos: number }[] = [];
  for (const [id, json] of Object.entries(hash)) {
    const s = parseStoredSession(id, json);
    if (s === null) throw new Error(`Redis ${key}: session ${JSON.stringify(id)} is malformed`);
    out.push(s);
  }
  return out.sort((a, b) => a.pos - b.pos).map((s) => s.session);
}
