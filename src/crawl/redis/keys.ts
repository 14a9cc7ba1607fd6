/**
 * Redis key names of one distributed crawl. Every key of crawl NAME starts with `trawl:{NAME}:`;
 * the braces are a Redis Cluster hash tag, so all of a crawl's keys live in one slot and the
 * Lua scripts (which touch per-host keys they derive from the prefix) stay valid on a cluster.
 *
 * | key | type | holds |
 * |---|---|---|
 * | `seen` | set | every item identity ever accepted (the crawl-wide dedup; `itemKey`: key, else URL) |
 * | `q:<host>` | list | queued items of one host (JSON), leased from the head |
 * | `hosts` | zset | hosts with queued items, scored by the time (ms) they may go next |
 * | `h:<host>` | hash | a host's politeness: `tat` (GCRA), `int` (Crawl-delay ms), `pause` (until, ms) |
 * | `delayed` | zset | items released with a notBefore (retry backoff), scored by it |
 * | `leases` | zset | leased identities scored by lease expiry (ms) |
 * | `lease` / `litem` | hash | leased identity → owner id / item JSON |
 * | `done` | set | completed identities (a record is written only when its identity enters this set) |
 * | `order` | list | identities of the pass's stored records, in completion order (their records: `last`) |
 * | `last` | hash | done identity → its latest record (JSON) |
 * | `records` | list | page records (JSON) in completion order: how earlier trawl versions stored them (still exported) |
 * | `items` | list | scraped items as `{url, label, item}` JSON, written with their page's record |
 * | `stats` | hash | counters: `queued`, `done`, `failed`, `skipped`, `reaped`, `items` |
 * | `rate` | string | the global rate limit's GCRA state |
 * | `spec` | string | the crawl's shared options (JSON), written by the first `trawl crawl` |
 * | `workers` | zset | live processes of the crawl (presence.ts), scored by heartbeat expiry (ms) |
 * | `sessions` | hash | the crawl's sessions (redis-sessions.ts): id → JSON (cookies: a secret) |
 * | `warc` | hash | each process's WARC file (path) → its committed mark as JSON (warc-marks.ts) |
 * | `ver` | hash | done identity → its version for recrawls: item JSON, a newline, meta JSON (validators, hash, fetch time `t`, interval `i`, capture) |
 * | `pass` | hash | recrawl passes: `n` (0 = the first crawl), `started` (ms), `after`, `changed` |
 * | `items@<n>` | list | the scraped items of pass n, kept when pass n + 1 starts |
 */
export function crawlPrefix(name: string): string {
  return `trawl:{${name}}:`;
}

/** The fixed (non per-host) keys of crawl `name`. */
export function crawlKeys(name: string) {
  const p = crawlPrefix(name);
  return {
    prefix: p,
    seen: `${p}seen`,
    hosts: `${p}hosts`,
    delayed: `${p}delayed`,
    leases: `${p}leases`,
    lease: `${p}lease`,
    litem: `${p}litem`,
    done: `${p}done`,
    records: `${p}records`,
    items: `${p}items`,
    stats: `${p}stats`,
    rate: `${p}rate`,
    spec: `${p}spec`,
    workers: `${p}workers`,
    sessions: `${p}sessions`,
    warc: `${p}warc`,
    ver: `${p}ver`,
    last: `${p}last`,
    pass: `${p}pass`,
    order: `${p}order`,
  };
}

/** The keys of {@link crawlKeys}. */
export type CrawlKeys = ReturnType<typeof crawlKeys>;
