/**
 * The Lua scripts of the Redis frontier and rate gate. Each runs atomically in Redis, so a lease,
 * a completion or a token is one indivisible step however many workers race for it.
 *
 * Time is Redis' own clock (`TIME`, in fractional ms), never a worker's: workers on machines with
 * skewed clocks still agree on when a host may go next. Callers pass durations, not instants.
 *
 * Frontier scripts share one calling convention: KEYS are the fixed keys in {@link FRONTIER_KEYS}
 * order; ARGV[1] is the key prefix (per-host keys are derived from it, inside the crawl's hash
 * tag), ARGV[2] the per-host emission interval T in ms (0 = no per-host rate), ARGV[3] the
 * per-host burst tolerance τ = (burst − 1)·T in ms, ARGV[4] the caller's owner id, ARGV[5] the
 * lease TTL in ms; script arguments start at ARGV[6]. Scripts that report progress return the
 * 8-element stats header first: now, queued, leased, done, failed, seen, next due (−1: none),
 * items.
 *
 * An item's identity (what `seen`, `done` and the lease keys hold) is `itemKey(item)`: its key
 * when it has one (a POST, a scraper's uniqueKey), else its URL. Callers pass identities in
 * ARGV; inside the queued item JSON it is `k` when present, else `u`.
 *
 * Every script is safe to run twice (ioredis re-sends commands whose reply was lost to a
 * reconnect): leases are checked against their owner, records and scraped items are written only
 * when the identity first enters `done`, links only when they first enter `seen`.
 */
import type { CrawlKeys } from './keys.js';

/** The order of the fixed keys passed as KEYS to every frontier script. */
export const FRONTIER_KEYS = [
  'seen',
  'hosts',
  'delayed',
  'leases',
  'lease',
  'litem',
  'done',
  'records',
  'stats',
  'items',
  'warc',
  'ver',
  'last',
  'pass',
  'order',
] as const;

/** KEYS for a frontier script of the crawl with keys `k`. */
export function frontierKeys(k: CrawlKeys): string[] {
  return FRONTIER_KEYS.map((n) => k[n]);
}

/** Length of the stats header that progress-reporting scripts return first. */
export const STATS_LEN = 8;

const PRELUDE = `
local P = ARGV[1]
local HT, HTAU = tonumber(ARGV[2]), tonumber(ARGV[3])
local OWNER, TTL = ARGV[4], tonumber(ARGV[5])
local K_SEEN, K_HOSTS, K_DELAYED, K_LEASES, K_LEASE, K_LITEM, K_DONE, K_RECORDS, K_STATS, K_ITEMS, K_WARC =
  KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7], KEYS[8], KEYS[9], KEYS[10], KEYS[11]
local K_VER, K_LAST, K_PASS, K_ORDER = KEYS[12], KEYS[13], KEYS[14], KEYS[15]

local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
end
local function fmt(x) return string.format('%.3f', x) end

-- A host's GCRA state: theoretical arrival time, interval, tolerance, pause. A Crawl-delay
-- longer than the rate's interval replaces it and allows no burst (it is a spacing).
local function host_state(h)
  local st = redis.call('HMGET', P .. 'h:' .. h, 'tat', 'int', 'pause')
  local T, tau = HT, HTAU
  local int = tonumber(st[2]) or 0
  if int > T then T = int; tau = 0 end
  return tonumber(st[1]) or 0, T, tau, tonumber(st[3]) or 0
end
local function allowed_at(h)
  local tat, T, tau, pause = host_state(h)
  return math.max(tat - tau, pause)
end
-- Puts a host with queued items into the schedule (if it is not there yet).
local function schedule(h, now)
  if not redis.call('ZSCORE', K_HOSTS, h) then
    redis.call('ZADD', K_HOSTS, fmt(math.max(allowed_at(h), now)), h)
  end
end
local function enqueue(h, json, front, now)
  if front then redis.call('LPUSH', P .. 'q:' .. h, json) else redis.call('RPUSH', P .. 'q:' .. h, json) end
  schedule(h, now)
end
local function drop_lease(url)
  redis.call('ZREM', K_LEASES, url)
  redis.call('HDEL', K_LEASE, url)
  redis.call('HDEL', K_LITEM, url)
end
-- Expired leases go back to the head of their host's queue (their worker died or stalled);
-- delayed items whose time has come join their host's queue.
local function maintain(now)
  local exp = redis.call('ZRANGEBYSCORE', K_LEASES, '-inf', fmt(now), 'LIMIT', 0, 200)
  for _, url in ipairs(exp) do
    local json = redis.call('HGET', K_LITEM, url)
    drop_lease(url)
    if json and redis.call('SISMEMBER', K_DONE, url) == 0 then
      local it = cjson.decode(json)
      enqueue(it.h, json, true, now)
      redis.call('HINCRBY', K_STATS, 'queued', 1)
      redis.call('HINCRBY', K_STATS, 'reaped', 1)
    end
  end
  local due = redis.call('ZRANGEBYSCORE', K_DELAYED, '-inf', fmt(now), 'LIMIT', 0, 200)
  for _, json in ipairs(due) do
    redis.call('ZREM', K_DELAYED, json)
    enqueue(cjson.decode(json).h, json, false, now) -- already counted in queued
  end
end
-- Puts a done page back in its host's queue for a recrawl (its version: item JSON, a newline,
-- then meta JSON with f = 1 when its record had an error). Returns 1 if it was done, else 0.
local function requeue_done(id, ver, now)
  if redis.call('SREM', K_DONE, id) == 0 then return 0 end
  local nl = string.find(ver, '\\n', 1, true)
  local json = string.sub(ver, 1, nl - 1)
  local meta = cjson.decode(string.sub(ver, nl + 1))
  redis.call('HINCRBY', K_STATS, 'done', -1)
  if meta.f == 1 then redis.call('HINCRBY', K_STATS, 'failed', -1) end
  redis.call('HINCRBY', K_STATS, 'queued', 1)
  enqueue(cjson.decode(json).h, json, false, now)
  return 1
end
local function stats(now)
  local s = redis.call('HMGET', K_STATS, 'queued', 'done', 'failed', 'items')
  local next_due = -1
  local h = redis.call('ZRANGE', K_HOSTS, 0, 0, 'WITHSCORES')
  if h[2] then next_due = tonumber(h[2]) end
  local d = redis.call('ZRANGE', K_DELAYED, 0, 0, 'WITHSCORES')
  if d[2] and (next_due < 0 or tonumber(d[2]) < next_due) then next_due = tonumber(d[2]) end
  return { fmt(now), tonumber(s[1]) or 0, redis.call('ZCARD', K_LEASES), tonumber(s[2]) or 0,
    tonumber(s[3]) or 0, redis.call('SCARD', K_SEEN), fmt(next_due), tonumber(s[4]) or 0 }
end
`;

/** ARGV[6..]: (identity, host, item JSON) triples. Adds the unseen ones; returns stats + [added]. */
export const ADD = `${PRELUDE}
local now = now_ms()
local added = 0
for i = 6, #ARGV, 3 do
  if redis.call('SADD', K_SEEN, ARGV[i]) == 1 then
    enqueue(ARGV[i + 1], ARGV[i + 2], false, now)
    added = added + 1
  end
end
if added > 0 then redis.call('HINCRBY', K_STATS, 'queued', added) end
local out = stats(now)
out[#out + 1] = added
return out
`;

/** ARGV[6]: limit. Reaps and promotes, then returns stats + up to `limit` hosts that may go now. */
export const POLL = `${PRELUDE}
local now = now_ms()
maintain(now)
local out = stats(now)
local hosts = redis.call('ZRANGEBYSCORE', K_HOSTS, '-inf', fmt(now), 'LIMIT', 0, tonumber(ARGV[6]))
for _, h in ipairs(hosts) do out[#out + 1] = h end
return out
`;

/**
 * ARGV[6]: max; ARGV[7]: how many due hosts to return; ARGV[8..]: candidate hosts (those the
 * caller's own checks allow). Leases from each candidate host that may go now (not paused) as
 * many items as its GCRA has tokens for right now (one token each; any number for a host with no
 * rate, T = 0), up to max in all; returns stats, the
 * count k of leased items, their k JSONs, each one's last version and record (`ver`, `last`;
 * '' for a page never done), then the hosts that may go now. A host whose queue
 * holds only URLs completed meanwhile (a reaped lease finished late) is emptied and unscheduled.
 */
export const LEASE = `${PRELUDE}
local now = now_ms()
maintain(now)
local max = tonumber(ARGV[6])
local got = {}
for i = 8, #ARGV do
  if #got >= max then break end
  local h = ARGV[i]
  local score = redis.call('ZSCORE', K_HOSTS, h)
  if score then
    local tat, T, tau, pause = host_state(h)
    local at = math.max(tat - tau, pause)
    if at > now then
      redis.call('ZADD', K_HOSTS, fmt(at), h)
    else
      local q = P .. 'q:' .. h
      -- As many items as the host's bucket holds tokens for (all of them without a rate, T = 0).
      while #got < max and math.max(tat - tau, pause) <= now do
        local json, url
        repeat
          json = redis.call('LPOP', q)
          if json then
            redis.call('HINCRBY', K_STATS, 'queued', -1)
            local it = cjson.decode(json)
            url = it.k or it.u
            if redis.call('SISMEMBER', K_DONE, url) == 1 then json = nil; url = nil end
          end
        until json or redis.call('LLEN', q) == 0
        if not json then break end
        tat = math.max(tat, now) + T
        redis.call('ZADD', K_LEASES, fmt(now + TTL), url)
        redis.call('HSET', K_LEASE, url, OWNER)
        redis.call('HSET', K_LITEM, url, json)
        got[#got + 1] = json
      end
      if T > 0 then redis.call('HSET', P .. 'h:' .. h, 'tat', fmt(tat)) end
      if redis.call('LLEN', q) > 0 then
        -- Never before now: a host that just went moves behind the others that may go now.
        redis.call('ZADD', K_HOSTS, fmt(math.max(allowed_at(h), now)), h)
      else
        redis.call('ZREM', K_HOSTS, h)
      end
    end
  end
end
local out = stats(now)
out[#out + 1] = #got
for _, j in ipairs(got) do out[#out + 1] = j end
-- Each item's last version and record (a page queued again for a recrawl), '' for none.
for _, j in ipairs(got) do
  local it = cjson.decode(j)
  local id = it.k or it.u
  local ver = redis.call('HGET', K_VER, id)
  out[#out + 1] = ver or ''
  out[#out + 1] = ver and (redis.call('HGET', K_LAST, id) or '') or ''
end
-- The hosts that may go now after this lease: the caller's candidates for its next lease, so a
-- busy worker needs one round trip per lease, not two.
local hosts = redis.call('ZRANGEBYSCORE', K_HOSTS, '-inf', fmt(now), 'LIMIT', 0, tonumber(ARGV[7]))
for _, h in ipairs(hosts) do out[#out + 1] = h end
return out
`;

/**
 * ARGV[6]: n; ARGV[7..9]: the batch's WARC output — file path ('' for none), the offset where the
 * batch's records start in it and the offset after them; then per completion: identity, record
 * JSON, outcome (0 ok, 1 failed, 2 skipped — both counted in `failed`, the records with an error;
 * skips also in `skipped`), link count, scraped item count, its WARC record ids (space-separated,
 * '' for none), its version for recrawls ('' for none: item JSON, a newline, meta JSON — kept in
 * `ver`), whether the record is listed in `order` ('1'; '0' for an unchanged page of a
 * --changed-only pass: its record is kept in `last` all the same), that many links as (identity, host, item JSON) triples, then that many scraped
 * item entries (`{url, label, item}` JSON). Drops the caller's leases, stores each record and its
 * scraped items iff its identity is not done yet (the first completion wins, so a page's items are
 * stored once crawl-wide) — the record in `last`, its identity at the end of `order` — and
 * enqueues unseen links. With a WARC file, sets its entry in `warc` to
 * `{owner, mark, start}` plus `drop`, the record ids of the completions that lost (their records
 * are in the file but another completion of the page won: see warc-marks.ts). Returns stats +
 * [links added, the WARC record ids to drop (space-separated, '' for none)]; a re-sent batch
 * (same file, start and end as the entry) changes no entry and returns the first run's ids.
 */
export const COMPLETE = `${PRELUDE}
local now = now_ms()
local wfile, wstart, wend = ARGV[7], tonumber(ARGV[8]), tonumber(ARGV[9])
-- A re-sent batch (its reply was lost to a reconnect) finds its own entry: the pages it stored
-- are done now, which must not count as lost, so the first run's answer stands.
local again = nil
if wfile ~= '' then
  local raw = redis.call('HGET', K_WARC, wfile)
  if raw then
    local e = cjson.decode(raw)
    if e.start == wstart and e.mark == wend then again = e end
  end
end
local i = 10
local added = 0
local drop = {}
for _ = 1, tonumber(ARGV[6]) do
  local url, rec, failed = ARGV[i], ARGV[i + 1], ARGV[i + 2]
  local nl, ni, ids = tonumber(ARGV[i + 3]), tonumber(ARGV[i + 4]), ARGV[i + 5]
  local ver, listed = ARGV[i + 6], ARGV[i + 7]
  i = i + 8
  if redis.call('HGET', K_LEASE, url) == OWNER then drop_lease(url) end
  local stored = redis.call('SADD', K_DONE, url) == 1
  if stored then
    redis.call('HSET', K_LAST, url, rec)
    if listed == '1' then redis.call('RPUSH', K_ORDER, url) end
    if ver ~= '' then redis.call('HSET', K_VER, url, ver) end
    redis.call('HINCRBY', K_STATS, 'done', 1)
    if failed ~= '0' then redis.call('HINCRBY', K_STATS, 'failed', 1) end
    if failed == '2' then redis.call('HINCRBY', K_STATS, 'skipped', 1) end
  elseif ids ~= '' then
    drop[#drop + 1] = ids
  end
  for _ = 1, nl do
    if redis.call('SADD', K_SEEN, ARGV[i]) == 1 then
      enqueue(ARGV[i + 1], ARGV[i + 2], false, now)
      added = added + 1
    end
    i = i + 3
  end
  if ni > 0 then
    if stored then
      -- In chunks: unpack of thousands of values would overflow Lua's C stack.
      local last = i + ni - 1
      for j = i, last, 1000 do
        redis.call('RPUSH', K_ITEMS, unpack(ARGV, j, math.min(j + 999, last)))
      end
      redis.call('HINCRBY', K_STATS, 'items', ni)
    end
    i = i + ni
  end
end
local dropped = table.concat(drop, ' ')
if again then
  dropped = again.drop or ''
elseif wfile ~= '' then
  local e = { owner = OWNER, mark = wend, start = wstart }
  if dropped ~= '' then e.drop = dropped end
  redis.call('HSET', K_WARC, wfile, cjson.encode(e))
end
if added > 0 then redis.call('HINCRBY', K_STATS, 'queued', added) end
local out = stats(now)
out[#out + 1] = added
out[#out + 1] = dropped
return out
`;

/**
 * KEYS[1]: the crawl's `warc` hash; ARGV[1]: a WARC file path, [2]: the batch start its entry must
 * have, [3]: the new mark. Ends a repair of the file's last batch (see warc-marks.ts): when the
 * entry still asks for records to be dropped from the batch starting at [2], it becomes
 * `{owner, mark, start}` with the new mark. Returns 1 when it changed the entry, else 0.
 */
export const WARC_FIXED = `
local raw = redis.call('HGET', KEYS[1], ARGV[1])
if not raw then return 0 end
local e = cjson.decode(raw)
if e.drop == nil or e.start ~= tonumber(ARGV[2]) then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], cjson.encode({ owner = e.owner, mark = tonumber(ARGV[3]), start = e.start }))
return 1
`;

/**
 * ARGV[6]: the pass's recrawl-after (ms, or 'auto'), [7]: '1' for --changed-only, [8]: the
 * caller's clock (ms). Starts a recrawl pass when the crawl is finished (nothing queued or
 * leased): `pass` gets n + 1, the start time, the options; `order` starts empty (the last pass's
 * records are exported before: every page keeps its latest record in `last`) and the last pass's
 * `items` list is kept as `items@<n>`. Otherwise the
 * current pass (or the first crawl, n = 0) goes on. Returns stats + [n, 1 for a new pass else 0,
 * started, after, changedOnly].
 */
export const PASS = `${PRELUDE}
local now = now_ms()
maintain(now)
local s = stats(now)
local n = tonumber(redis.call('HGET', K_PASS, 'n')) or 0
local fresh = 0
if s[2] == 0 and s[3] == 0 then
  fresh = 1
  -- The new pass lists its own records (pages it does not visit keep theirs in last); the
  -- scraped items of the passes before stay readable beside the new pass's.
  redis.call('DEL', K_ORDER, K_RECORDS)
  if redis.call('EXISTS', K_ITEMS) == 1 then redis.call('RENAME', K_ITEMS, K_ITEMS .. '@' .. n) end
  n = n + 1
  redis.call('HSET', K_PASS, 'n', n, 'started', ARGV[8], 'after', ARGV[6], 'changed', ARGV[7])
end
local p = redis.call('HMGET', K_PASS, 'started', 'after', 'changed')
local out = stats(now)
out[#out + 1] = n
out[#out + 1] = fresh
out[#out + 1] = p[1] or ''
out[#out + 1] = p[2] or ''
out[#out + 1] = p[3] or ''
return out
`;

/**
 * ARGV[6]: HSCAN cursor of `ver`, [7]: count, [8]: before (ms), [9]: '1' for auto, [10]: now
 * (ms), [11]: the first interval for pages without one (ms). Queues again the done pages of one
 * scan step that are due: fetched (meta t) before `before` and, with auto, whose interval (meta i)
 * has passed by `now`. Returns stats + [next cursor ('0' when the scan is over), requeued].
 */
export const REQUEUE_DUE = `${PRELUDE}
local now = now_ms()
local before, auto, at, first = tonumber(ARGV[8]), ARGV[9] == '1', tonumber(ARGV[10]), tonumber(ARGV[11])
local r = redis.call('HSCAN', K_VER, ARGV[6], 'COUNT', tonumber(ARGV[7]))
local n = 0
local kv = r[2]
for j = 1, #kv, 2 do
  local ver = kv[j + 1]
  local meta = cjson.decode(string.sub(ver, string.find(ver, '\\n', 1, true) + 1))
  if meta.t < before and (not auto or meta.t + (meta.i or first) <= at) then
    n = n + requeue_done(kv[j], ver, now)
  end
end
local out = stats(now)
out[#out + 1] = r[1]
out[#out + 1] = n
return out
`;

/**
 * ARGV[6..]: (identity, lastmod ms) pairs from a sitemap. Queues again each done page whose
 * sitemap lastmod is later than its fetch (meta t). Returns stats + [requeued].
 */
export const REQUEUE_MODIFIED = `${PRELUDE}
local now = now_ms()
local n = 0
for j = 6, #ARGV, 2 do
  local ver = redis.call('HGET', K_VER, ARGV[j])
  if ver then
    local meta = cjson.decode(string.sub(ver, string.find(ver, '\\n', 1, true) + 1))
    if meta.t < tonumber(ARGV[j + 1]) then n = n + requeue_done(ARGV[j], ver, now) end
  end
end
local out = stats(now)
out[#out + 1] = n
return out
`;

/**
 * ARGV[6]: identity, [7]: host, [8]: item JSON, [9]: delay ms. If the caller still holds the lease,
 * returns the item to its host's queue (delay 0) or to the delayed set; returns stats + [1|0].
 */
export const RELEASE = `${PRELUDE}
local now = now_ms()
local url, h, json, delay = ARGV[6], ARGV[7], ARGV[8], tonumber(ARGV[9])
local ok = 0
if redis.call('HGET', K_LEASE, url) == OWNER then
  drop_lease(url)
  if redis.call('SISMEMBER', K_DONE, url) == 0 then
    if delay > 0 then
      redis.call('ZADD', K_DELAYED, fmt(now + delay), json)
    else
      enqueue(h, json, true, now)
    end
    redis.call('HINCRBY', K_STATS, 'queued', 1)
    ok = 1
  end
end
local out = stats(now)
out[#out + 1] = ok
return out
`;

/** ARGV[6..]: identities. Extends the caller's leases on them; returns those it no longer holds. */
export const RENEW = `${PRELUDE}
local now = now_ms()
local lost = {}
for i = 6, #ARGV do
  if redis.call('HGET', K_LEASE, ARGV[i]) == OWNER then
    redis.call('ZADD', K_LEASES, 'XX', fmt(now + TTL), ARGV[i])
  else
    lost[#lost + 1] = ARGV[i]
  end
end
return lost
`;

/** ARGV[6]: host, [7]: delay ms. Pauses the host until now + delay (never shortens a pause). */
export const PAUSE = `${PRELUDE}
local now = now_ms()
local h = ARGV[6]
local untl = now + tonumber(ARGV[7])
local k = P .. 'h:' .. h
local old = tonumber(redis.call('HGET', k, 'pause')) or 0
if untl > old then
  redis.call('HSET', k, 'pause', fmt(untl))
  local s = redis.call('ZSCORE', K_HOSTS, h)
  if s and tonumber(s) < untl then redis.call('ZADD', K_HOSTS, fmt(untl), h) end
end
return 1
`;

/** ARGV[6]: host, [7]: interval ms. Sets the host's minimum spacing (Crawl-delay). */
export const INTERVAL = `${PRELUDE}
redis.call('HSET', P .. 'h:' .. ARGV[6], 'int', ARGV[7])
return 1
`;

/** Reaps and promotes, then returns stats (the caller decides drained = nothing queued or leased). */
export const DRAINED = `${PRELUDE}
local now = now_ms()
maintain(now)
return stats(now)
`;

/**
 * The global rate limit as GCRA. KEYS[1]: the rate key; ARGV[1]: emission interval T (ms),
 * ARGV[2]: burst tolerance τ = (burst − 1)·T (ms). Reserves the next slot and returns how long the
 * caller must wait before using it (ms, as a string: sub-ms precision). Equivalent to a token
 * bucket of `burst` tokens refilled at 1/T: in any window W at most burst + W/T slots begin.
 */
export const RATE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local T, tau = tonumber(ARGV[1]), tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1])) or 0
local t0 = math.max(tat, now)
local at = math.max(now, t0 - tau)
redis.call('SET', KEYS[1], string.format('%.3f', t0 + T))
return string.format('%.3f', at - now)
`;
