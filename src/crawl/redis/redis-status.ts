import type { Redis } from 'ioredis';
import { LuaScript } from './connect.js';
import { type CrawlSpec, decodeSpec } from './crawl-spec.js';
import { crawlKeys } from './keys.js';

/** One live process of a Redis crawl in a {@link RedisCrawlStatus}. */
export interface RedisMemberStatus {
  /** Its id, `hostname:pid:random` (the owner of its leases). */
  id: string;
  /** Unexpired leases it holds. */
  leases: number;
}

/** A snapshot of a distributed crawl read from Redis. */
export interface RedisCrawlStatus {
  name: string;
  /** URLs waiting, retries waiting for their backoff included. */
  queued: number;
  /** URLs leased by some process (expired leases not yet returned to the queue included). */
  leased: number;
  /** Of `leased`, leases whose holder stopped renewing them: the next lease call re-queues them. */
  expired: number;
  /** URLs with a record (ok, failed or skipped). */
  done: number;
  /** URLs whose record has an error that is not a skip (outcomeOf in record.ts). */
  failed: number;
  /** URLs skipped without a fetch that counts (robots.txt refusals, --max-pages-per-host). */
  skipped: number;
  /** URLs ever accepted (the crawl-wide dedup set). */
  seen: number;
  /** Leases that expired and were crawled again (a process died or hung). */
  reaped: number;
  /** Scraped items stored with their pages' records (a scraper crawl; 0 otherwise). */
  items: number;
  /** Live processes (crawl and workers), by id, each with its unexpired leases. */
  members: RedisMemberStatus[];
  /** Unexpired leases held by processes not in `members` (a process of a version without presence). */
  unattributedLeases: number;
  /** The crawl's shared options (scope, budget...). */
  spec: CrawlSpec;
  /** Stored sessions live and retired (counts only: a session's cookies never leave Redis). */
  sessions: { live: number; retired: number };
  /** The recrawl pass under way or last run (`--recrawl`), or null for a crawl never recrawled. */
  recrawl: { pass: number; startedAt: number; after: number | 'auto'; changedOnly: boolean } | null;
  /** The processes' WARC files (`--warc`, `--warc-dir`): how many, and their committed bytes. */
  warc: { files: number; bytes: number };
}

// One script, so that the counters, leases and members are one consistent snapshot on Redis' clock.
const STATUS = new LuaScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local spec = redis.call('GET', KEYS[1])
if not spec then return false end
local s = redis.call('HMGET', KEYS[2], 'queued', 'done', 'failed', 'reaped', 'skipped', 'items')
local live = redis.call('ZRANGEBYSCORE', KEYS[4], '(' .. string.format('%.3f', now), '+inf')
local owners = {}
for _, url in ipairs(live) do
  local o = redis.call('HGET', KEYS[5], url) or ''
  owners[o] = (owners[o] or 0) + 1
end
local flat = {}
for o, n in pairs(owners) do flat[#flat + 1] = o; flat[#flat + 1] = n end
local members = redis.call('ZRANGEBYSCORE', KEYS[6], '(' .. math.floor(now), '+inf')
-- Sessions are counted here so that their JSON (cookie values) never leaves Redis.
local sessions, retired = 0, 0
for _, v in ipairs(redis.call('HVALS', KEYS[7])) do
  sessions = sessions + 1
  local ok, d = pcall(cjson.decode, v)
  if ok and type(d) == 'table' and d.retired == true then retired = retired + 1 end
end
local files, bytes = 0, 0
for _, v in ipairs(redis.call('HVALS', KEYS[8])) do
  files = files + 1
  bytes = bytes + (cjson.decode(v).mark or 0)
end
local pass = redis.call('HMGET', KEYS[9], 'n', 'started', 'after', 'changed')
return { spec, s[1] or '0', s[2] or '0', s[3] or '0', s[4] or '0', redis.call('SCARD', KEYS[3]),
  redis.call('ZCARD', KEYS[4]), #live, flat, members, s[5] or '0', s[6] or '0', sessions, retired,
  files, tostring(bytes), pass[1] or '0', pass[2] or '0', pass[3] or '0', pass[4] or '0' }
`);

/**
 * Reads the progress of Redis crawl `name` in one atomic step (a script: the counters, the leases
 * and the live processes agree with each other), without changing anything: expired leases are
 * reported, not reaped. Resolves null when no crawl of that name exists (its shared options were
 * never published). Works while the crawl runs and after it ended (the keys stay until deleted).
 * Connection errors reject (no retry: a status is a one-shot question).
 */
export async function readRedisStatus(client: Redis, name: string): Promise<RedisCrawlStatus | null> {
  const k = crawlKeys(name);
  const r = (await STATUS.run(
    client,
    [k.spec, k.stats, k.seen, k.leases, k.lease, k.workers, k.sessions, k.warc, k.pass],
    [],
  )) as
    | [
        string,
        string,
        string,
        string,
        string,
        number,
        number,
        number,
        (string | number)[],
        string[],
        string,
        string,
        number,
        number,
        number,
        string,
        string,
        string,
        string,
        string,
      ]
    | null;
  if (!r) return null;
  const [
    spec,
    queued,
    done,
    failed,
    reaped,
    seen,
    leased,
    live,
    flat,
    ids,
    skipped,
    items,
    sessions,
    retired,
    warcFiles,
    warcBytes,
    pass,
    started,
    after,
    changed,
  ] = r;
  const byOwner = new Map<string, number>();
  for (let i = 0; i < flat.length; i += 2) byOwner.set(String(flat[i]), Number(flat[i + 1]));
  const members = [...ids].sort().map((id) => ({ id, leases: byOwner.get(id) ?? 0 }));
  const attributed = members.reduce((n, m) => n + m.leases, 0);
  return {
    name,
    queued: Number(queued),
    leased: Number(leased),
    expired: Number(leased) - Number(live),
    done: Number(done),
    failed: Number(failed) - Number(skipped),
    skipped: Number(skipped),
    seen: Number(seen),
    reaped: Number(reaped),
    items: Number(items),
    members,
    unattributedLeases: Number(live) - attributed,
    spec: decodeSpec(spec),
    sessions: { live: Number(sessions) - Number(retired), retired: Number(retired) },
    recrawl:
      Number(pass) === 0
        ? null
        : {
            pass: Number(pass),
            startedAt: Number(started),
            after: after === 'auto' ? 'auto' : Number(after),
            changedOnly: changed === '1',
          },
    warc: { files: Number(warcFiles), bytes: Number(warcBytes) },
  };
}

/** `Infinity` as `inf`, as the CLI flags spell it. */
function num(n: number): string {
  return Number.isFinite(n) ? String(n) : 'inf';
}

/**
 * `trawl status --redis`'s text for `s`, in the layout of a state file's status: the counters,
 * the live processes with their leases, then the shared options in force (the rate budget, scope
 * and limits every process of the crawl obeys). `where` is the (redacted) Redis URL it came from.
 */
export function formatRedisStatus(s: RedisCrawlStatus, where: string): string {
  const p = s.spec;
  const lines: string[] = [];
  lines.push(`crawl    ${s.name} (Redis ${where})`);
  lines.push(`seeds    ${p.seeds.join(' ')}`);
  lines.push(
    `done     ${s.done} (${s.done - s.failed - s.skipped} ok, ${s.failed} failed, ${s.skipped} skipped)`,
  );
  lines.push(`queued   ${s.queued}`);
  lines.push(`leased   ${s.leased}${s.expired > 0 ? ` (${s.expired} expired, returning to the queue)` : ''}`);
  lines.push(`seen     ${s.seen}`);
  lines.push(`reaped   ${s.reaped}`);
  if (s.items > 0) lines.push(`items    ${s.items}`);
  if (s.recrawl !== null) {
    const r = s.recrawl;
    const which =
      r.after === 'auto'
        ? 'pages due by their interval'
        : r.after > 0
          ? `pages fetched ${r.after} ms before it`
          : 'every page';
    lines.push(
      `recrawl  pass ${r.pass}, started ${new Date(r.startedAt).toISOString()} (${which}${r.changedOnly ? ', changed only' : ''})`,
    );
  }
  if (s.warc.files > 0) lines.push(`warc     ${s.warc.files} files, ${s.warc.bytes} bytes committed`);
  if (s.sessions.live + s.sessions.retired > 0)
    lines.push(`sessions ${s.sessions.live} live, ${s.sessions.retired} retired`);
  lines.push(`workers  ${s.members.length} live`);
  for (const m of s.members) lines.push(`  ${m.id.padEnd(40)} ${String(m.leases).padStart(6)} leases`);
  if (s.unattributedLeases > 0)
    lines.push(`  ${'(unregistered)'.padEnd(40)} ${String(s.unattributedLeases).padStart(6)} leases`);
  lines.push('', 'spec (shared by every process)');
  lines.push(`  rate          ${num(p.rate)}/s, burst ${p.burst}`);
  lines.push(`  host rate     ${num(p.hostRate)}/s, burst ${p.hostBurst}`);
  lines.push(
    `  scope         ${p.scope}, depth ${num(p.depth)}, max pages per host ${num(p.maxPagesPerHost)}`,
  );
  if (p.include.length > 0) lines.push(`  include       ${p.include.join(' ')}`);
  if (p.exclude.length > 0) lines.push(`  exclude       ${p.exclude.join(' ')}`);
  lines.push(`  retries       ${p.retries}`);
  lines.push(`  robots.txt    ${p.ignoreRobots ? 'ignored' : 'obeyed'}`);
  lines.push(`  user agent    ${p.userAgent}`);
  if (p.sitemaps.length > 0) lines.push(`  sitemaps      ${p.sitemaps.join(' ')}`);
  if (p.extract.length > 0) lines.push(`  extract       ${p.extract.join(' ')}`);
  return `${lines.join('\n')}\n`;
}
