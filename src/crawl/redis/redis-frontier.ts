import { resolve } from 'node:path';
import type { Redis } from 'ioredis';
import {
  type Completion,
  type Frontier,
  type FrontierItem,
  type FrontierStats,
  itemKey,
  type KeepsSessions,
  type PriorFetch,
  type RequestSpec,
  type SchedulesHosts,
  type StoredSession,
  type WarcCommit,
} from '../frontier/frontier.js';
import { INITIAL_INTERVAL_MS } from '../frontier/recrawl-interval.js';
import { outcomeOf, type PageOutcome, recordJson } from '../record.js';
import type { SinkMark } from '../store/sink.js';
import { removeSpools } from '../store/warc-drop.js';
import { LuaScript, withRedisRetry } from './connect.js';
import { type CrawlKeys, crawlKeys } from './keys.js';
import { type Presence, processId } from './presence.js';
import { loadRedisSessions, saveRedisSessions } from './redis-sessions.js';
import * as S from './scripts.js';
import { type WarcFixed, warcFixed } from './warc-marks.js';

/** A record's outcome as COMPLETE takes it: failed and skipped both count as records with an error. */
const OUTCOME_CODE: Record<PageOutcome, number> = { ok: 0, failed: 1, skipped: 2 };

/** Options of {@link RedisFrontier}. */
export interface RedisFrontierOptions {
  /** Crawl name: the key namespace `trawl:{name}:`. */
  name: string;
  /** Per-host requests per second, crawl-wide (Infinity: no per-host rate). */
  hostRate: number;
  /** Per-host burst (≥ 1). */
  hostBurst: number;
  /** Lease lifetime in ms without renewal (default 30 s); leases are renewed every ttl/3. */
  leaseTtlMs?: number;
  /** Aborting ends every pending Redis wait with the signal's reason (the crawl's hard stop). */
  signal?: AbortSignal;
  /** Quit the client on close() (default false: the caller owns it). */
  ownsClient?: boolean;
  /** Lease owner id (default: a new {@link processId}); pass the {@link Presence} id to match them. */
  owner?: string;
  /** This process's registration in the crawl's live members, stopped by close(). */
  presence?: Presence;
  /** Hosts the lease step considers per call (default 64). */
  candidates?: number;
  /** Poll interval (ms) while other workers hold the only work (default 50). */
  pollMs?: number;
  /**
   * Items to lease per round trip (default 1); the extra ones wait in this process (leased,
   * renewed) for the next lease calls. A rate-limited host still gives one item per token of its
   * crawl-wide bucket, so prefetching takes no more of a host's budget than leasing one by one.
   */
  prefetch?: number;
  /**
   * Rewrites this process's WARC batch [start, end) of `path` without the records of the ids in
   * `drop` (their pages were stored by another completion) and returns the new end: the Archive's
   * rewriteBatch. Called by `complete` when its batch had such losers; required with a WARC mark.
   */
  rewriteWarc?: (path: string, start: number, end: number, drop: ReadonlySet<string>) => number;
  /** --changed-only pass: an unchanged page's record is kept for later passes but not listed in `records`. */
  changedOnly?: boolean;
}

const scripts = {
  add: new LuaScript(S.ADD),
  poll: new LuaScript(S.POLL),
  lease: new LuaScript(S.LEASE),
  complete: new LuaScript(S.COMPLETE),
  release: new LuaScript(S.RELEASE),
  renew: new LuaScript(S.RENEW),
  pause: new LuaScript(S.PAUSE),
  interval: new LuaScript(S.INTERVAL),
  drained: new LuaScript(S.DRAINED),
  pass: new LuaScript(S.PASS),
  requeueDue: new LuaScript(S.REQUEUE_DUE),
  requeueModified: new LuaScript(S.REQUEUE_MODIFIED),
};

/** The meta half of a page's version in `ver` (see scripts.ts): absent fields are null. */
interface VersionMeta {
  e?: string;
  m?: string;
  h?: string;
  i?: number;
  c?: string;
  ca?: number;
  /** When it was stored (ms, the storing process's clock). */
  t: number;
  /** 1 when its record had an error. */
  f?: 1;
}

/** A page's `ver` entry: its item JSON (attempts 0, to queue it again) and its version's meta. */
function versionEntry(c: Completion): string {
  const v = c.version!;
  const meta: VersionMeta = { t: Date.now() };
  if (v.etag !== null) meta.e = v.etag;
  if (v.lastModified !== null) meta.m = v.lastModified;
  if (v.hash !== null) meta.h = v.hash;
  if (v.intervalMs !== null) meta.i = v.intervalMs;
  if (v.captureId != null) meta.c = v.captureId;
  if (v.capturedAt != null) meta.ca = v.capturedAt;
  if (c.record.error !== null) meta.f = 1;
  return `${toJson({ ...c.item, attempts: 0 })}\n${JSON.stringify(meta)}`;
}

/** The PriorFetch of a leased page from its `ver` and `last` entries. */
function priorOf(ver: string, record: string): PriorFetch {
  const m = JSON.parse(ver.slice(ver.indexOf('\n') + 1)) as VersionMeta;
  return {
    etag: m.e ?? null,
    lastModified: m.m ?? null,
    hash: m.h ?? null,
    intervalMs: m.i ?? null,
    captureId: m.c ?? null,
    capturedAt: m.ca ?? null,
    fetchedAt: m.t,
    record,
  };
}

/** A distributed crawl's recrawl pass (the `pass` hash): 0 is the first crawl. */
export interface RecrawlPass {
  n: number;
  /** When it started (ms, the starting process's clock); 0 for the first crawl. */
  started: number;
  /** Its --recrawl-after: ms, or auto. */
  after: number | 'auto';
  /** Its --changed-only. */
  changedOnly: boolean;
}

/** Crawl `name`'s current recrawl pass (n 0: the first crawl), read without changing anything. */
export async function loadPass(client: Redis, name: string, signal?: AbortSignal): Promise<RecrawlPass> {
  const [n, started, after, changed] = await withRedisRetry(
    () => client.hmget(crawlKeys(name).pass, 'n', 'started', 'after', 'changed'),
    signal,
  );
  return passOf(n, started, after, changed);
}

function passOf(n: unknown, started: unknown, after: unknown, changed: unknown): RecrawlPass {
  const a = String(after ?? '');
  return {
    n: Number(n ?? 0),
    started: Number(started || 0),
    after: a === 'auto' ? 'auto' : Number(a || 0),
    changedOnly: changed === '1',
  };
}

/**
 * Compact JSON of a queued item: its identity is `k` when it has a key, else `u` (the scripts
 * read `k or u`); `h` routes it to its host's queue; `q` is the scraper's request, if any.
 */
interface ItemJson {
  u: string;
  h: string;
  d: number;
  r: string | null;
  a: number;
  l?: string | null;
  k?: string;
  q?: RequestSpec;
}

function toJson(item: FrontierItem): string {
  const j: ItemJson = { u: item.url, h: item.host, d: item.depth, r: item.referrer, a: item.attempts };
  if (item.lastmod) j.l = item.lastmod;
  if (item.key !== undefined) j.k = item.key;
  if (item.request !== undefined) j.q = item.request;
  return JSON.stringify(j);
}

function fromJson(s: string): FrontierItem {
  const j = JSON.parse(s) as ItemJson;
  const item: FrontierItem = { url: j.u, host: j.h, depth: j.d, referrer: j.r, attempts: j.a };
  if (j.l) item.lastmod = j.l;
  if (j.k !== undefined) item.key = j.k;
  if (j.q !== undefined) item.request = j.q;
  return item;
}

/**
 * The frontier of a crawl shared by many processes through Redis (see keys.ts for the data
 * layout and scripts.ts for the atomic steps). Per-host queues and a schedule of hosts by the
 * time they may go next (a per-host GCRA at `hostRate`/`hostBurst`, stretched by Crawl-delay and
 * paused by Retry-After/backoff, all crawl-wide), a crawl-wide seen set, leases with an expiry
 * that this frontier renews while its work runs, and records stored in Redis by `complete`.
 *
 * Semantics beyond the {@link Frontier} contract:
 * - `lease` uses its `now` only to read `readyAt`'s answers (Redis' clock decides which hosts
 *   are due, so workers on skewed machines agree): it calls `readyAt` once per host that Redis
 *   says may go now, and leases from those that answer ≤ `now`. A host that answers later is
 *   asked again in the next lease (no host is set aside: `wake` is a no-op).
 * - A lease not renewed for `leaseTtlMs` (its process died or hung) expires: the next lease,
 *   poll or drained check by any process returns the URL to the head of its host's queue. If the
 *   original holder completes it anyway, its record is stored once (the first completion wins)
 *   and the re-queued copy is discarded when leased.
 * - `complete` stores records, and scraped items with them, in Redis (the marks are ignored:
 *   there is no local output); `trawl export --redis` writes them out (exportRedis,
 *   exportRedisItems). It returns a promise of the links enqueued.
 * - Identity is `itemKey(item)` (a POST's or scraper's key, else the URL) everywhere: seen,
 *   done and leases; `key` and `request` ride in the queued item's JSON.
 * - `stats()` answers from the counters returned by the last script run (crawl-wide values);
 *   `queued` includes delayed (retry) items, `leased` counts every process's leases.
 * - Connection loss: every method waits and retries until Redis is back (bounded only by
 *   `signal`), so the engine sees a slow frontier, never a failed one.
 */
export class RedisFrontier implements Frontier, SchedulesHosts, KeepsSessions {
  readonly keys: CrawlKeys;
  /** This process's lease owner id (host:pid:random). */
  readonly owner: string;
  readonly #client: Redis;
  readonly #fkeys: string[];
  readonly #ttl: number;
  readonly #hostT: number;
  readonly #hostTau: number;
  readonly #signal: AbortSignal | undefined;
  readonly #owns: boolean;
  readonly #candidates: number;
  readonly #pollMs: number;
  readonly #held = new Map<string, FrontierItem>();
  #renewTimer: NodeJS.Timeout | null = null;
  #stats: FrontierStats = { queued: 0, leased: 0, done: 0, failed: 0, seen: 0, items: 0 };
  /** Local time of the next scheduled host/delayed item, or -1. */
  #nextDue = -1;
  /** Local minus Redis clock (ms), from the last script reply. */
  #skew = 0;
  /** The last lease attempt found due work it could not take (raced, or not ready locally). */
  #missed = false;
  /** Items leased ahead (hosts without a rate only), handed out by later lease calls. */
  #buffer: FrontierItem[] = [];
  readonly #prefetch: number;
  /** Hosts that could go at the last lease (candidates for the next one). */
  #due: string[] = [];
  #closed = false;
  readonly #presence: Presence | null;
  readonly #rewriteWarc: RedisFrontierOptions['rewriteWarc'];
  readonly #warcFixed: WarcFixed;
  readonly #changedOnly: boolean;

  constructor(client: Redis, opts: RedisFrontierOptions) {
    this.#client = client;
    this.keys = crawlKeys(opts.name);
    this.#fkeys = S.frontierKeys(this.keys);
    this.#ttl = opts.leaseTtlMs ?? 30_000;
    const rate = opts.hostRate;
    this.#hostT = Number.isFinite(rate) && rate > 0 ? 1000 / rate : 0;
    this.#hostTau = (Math.max(1, opts.hostBurst) - 1) * this.#hostT;
    this.#signal = opts.signal;
    this.#owns = opts.ownsClient ?? false;
    this.#candidates = opts.candidates ?? 64;
    this.#pollMs = opts.pollMs ?? 50;
    this.#prefetch = Math.max(1, opts.prefetch ?? 1);
    this.owner = opts.owner ?? processId();
    this.#presence = opts.presence ?? null;
    this.#rewriteWarc = opts.rewriteWarc;
    this.#changedOnly = opts.changedOnly ?? false;
    this.#warcFixed = warcFixed(client, this.keys);
  }

  /** Runs a frontier script with the shared ARGV header, retrying through connection loss. */
  #run(script: LuaScript, args: readonly (string | number)[]): Promise<unknown> {
    const argv = [this.keys.prefix, this.#hostT, this.#hostTau, this.owner, this.#ttl, ...args];
    return withRedisRetry(() => script.run(this.#client, this.#fkeys, argv), this.#signal);
  }

  /** Takes the stats header off a script reply, updating the cache; returns the rest. */
  #header(reply: unknown): unknown[] {
    const r = reply as unknown[];
    const now = Number(r[0]);
    this.#skew = Date.now() - now;
    this.#stats = {
      queued: Number(r[1]),
      leased: Number(r[2]),
      done: Number(r[3]),
      failed: Number(r[4]),
      seen: Number(r[5]),
      items: Number(r[7]),
    };
    const due = Number(r[6]);
    this.#nextDue = due < 0 ? -1 : due + this.#skew;
    return r.slice(S.STATS_LEN);
  }

  /**
   * Enqueues the items whose identity ({@link itemKey}) was not seen crawl-wide; resolves with
   * how many were new. An empty list refreshes stats.
   */
  async add(items: readonly FrontierItem[]): Promise<number> {
    const args: string[] = [];
    for (const it of items) args.push(itemKey(it), it.host, toJson(it));
    const rest = this.#header(await this.#run(scripts.add, args));
    return Number(rest[0]);
  }

  /**
   * Leases up to `max` items from hosts that may go now crawl-wide and locally (`readyAt(host)` ≤
   * `now`; called once per such host, at most `candidates` hosts per call, in schedule order: the
   * host waiting longest first). Resolves [] when nothing can go; `nextDueAt` then says when to
   * look again.
   */
  async lease(max: number, now: number, readyAt: (host: string) => number): Promise<FrontierItem[]> {
    if (max <= 0 || this.#closed) return [];
    const memo = new Map<string, boolean>();
    const isReady = (h: string) => {
      let r = memo.get(h);
      if (r === undefined) memo.set(h, (r = readyAt(h) <= now));
      return r;
    };
    const buffered = this.#takeBuffered(max, isReady);
    if (buffered.length > 0 || this.#buffer.length >= this.#prefetch) {
      this.#missed = buffered.length === 0;
      return buffered;
    }
    // The hosts due after the previous lease are the candidates; poll only when none of them
    // passes (one round trip per lease while busy).
    let hosts = this.#due.filter(isReady);
    if (hosts.length === 0) {
      const due = this.#header(await this.#run(scripts.poll, [this.#candidates])) as string[];
      hosts = due.filter(isReady);
      if (hosts.length === 0) {
        this.#due = [];
        this.#missed = due.length > 0;
        return [];
      }
    }
    const want = Math.max(max, this.#prefetch - this.#buffer.length);
    const rest = this.#header(await this.#run(scripts.lease, [want, this.#candidates, ...hosts])) as string[];
    const k = Number(rest[0]);
    const items = rest.slice(1, 1 + k).map(fromJson);
    for (let i = 0; i < k; i++) {
      const ver = rest[1 + k + 2 * i]!;
      if (ver !== '') items[i]!.prior = priorOf(ver, rest[2 + k + 2 * i]!);
    }
    this.#due = rest.slice(1 + 3 * k);
    for (const it of items) this.#held.set(itemKey(it), it);
    if (items.length > 0) this.#startRenewing();
    this.#buffer.push(...items);
    const out = this.#takeBuffered(max, isReady);
    this.#missed = out.length === 0;
    return out;
  }

  /** Removes and returns up to `max` prefetched items whose host is ready, oldest first. */
  #takeBuffered(max: number, ready: (host: string) => boolean): FrontierItem[] {
    if (this.#buffer.length === 0) return [];
    const out: FrontierItem[] = [];
    const keep: FrontierItem[] = [];
    for (const it of this.#buffer) {
      if (out.length < max && ready(it.host)) out.push(it);
      else keep.push(it);
    }
    this.#buffer = keep;
    return out;
  }

  /**
   * When to look again (local ms): in 10 ms while prefetched items wait for their host to be
   * ready; the next host or delayed item due; soon (2 ms) after a lease found due work it could
   * not take (another process won it); every `pollMs` while the only work is leased by others
   * (their links may arrive any moment); undefined when the crawl has nothing at all.
   */
  nextDueAt(): number | undefined {
    const now = Date.now();
    if (this.#buffer.length > 0) return now + 10;
    if (this.#stats.queued > 0) {
      if (this.#nextDue > now) return this.#nextDue;
      return now + (this.#missed ? 2 : 1);
    }
    return this.#stats.leased > 0 ? now + this.#pollMs : undefined;
  }

  /**
   * Returns an item this process leased to its host's queue (head), or — with `notBefore`
   * (local ms) in the future — to the delayed set until then. No-op if the lease was lost.
   */
  async release(item: FrontierItem, notBefore?: number): Promise<void> {
    const key = itemKey(item);
    this.#held.delete(key);
    const delay = notBefore === undefined ? 0 : Math.max(0, notBefore - Date.now());
    this.#header(await this.#run(scripts.release, [key, item.host, toJson(item), Math.ceil(delay)]));
  }

  /**
   * Atomically (one script) drops this process's leases on the batch, stores each record whose
   * item ({@link itemKey}) is not done yet together with its scraped items (so a record and its
   * items are stored once crawl-wide however often the item was fetched: the first completion
   * wins) and enqueues the unseen links; resolves with the number of links enqueued. Scraped
   * items go to the `items` list as `{url, label, item}` JSON (url: the page's record URL;
   * label: its request's label or null), read back by exportRedisItems.
   *
   * `warcMark` (with `start`: this batch's records were appended to this process's WARC file from
   * `start` to `offset`) is stored as the file's committed mark in the same script. When some
   * completion of the batch lost (its page was stored by another process meanwhile: this process
   * held it past its lease), its records leave the file before this resolves: `rewriteWarc` cuts
   * them out, the entry takes the new mark and the rewrite's spool is removed (see warc-marks.ts;
   * a crash in between is finished by a repair). The sink and items marks are ignored: there is
   * no local output of records.
   */
  async complete(
    batch: readonly Completion[],
    _sinkMark?: SinkMark,
    _itemsMark?: SinkMark,
    warcMark?: WarcCommit,
  ): Promise<number> {
    if (batch.length === 0) return 0;
    const warc = warcMark?.start === undefined ? null : { ...warcMark, path: resolve(warcMark.path) };
    const args: (string | number)[] = [batch.length, warc?.path ?? '', warc?.start ?? 0, warc?.offset ?? 0];
    for (const c of batch) {
      const items = c.items;
      const ni = items === undefined ? 0 : items.length;
      args.push(
        itemKey(c.item),
        recordJson(c.record),
        OUTCOME_CODE[outcomeOf(c.record.error)],
        c.links.length,
        ni,
        c.warcIds?.join(' ') ?? '',
        c.version === undefined ? '' : versionEntry(c),
        this.#changedOnly && c.record.change === 'unchanged' ? '0' : '1',
      );
      for (const l of c.links) args.push(l.key ?? l.url, l.host, toJson(l));
      if (ni > 0) {
        const url = c.record.url;
        const label = c.item.request?.label ?? null;
        for (const item of items!) args.push(JSON.stringify({ url, label, item }));
      }
    }
    const rest = this.#header(await this.#run(scripts.complete, args));
    for (const c of batch) this.#held.delete(itemKey(c.item));
    if (this.#held.size === 0) this.#stopRenewing();
    const drop = String(rest[1] ?? '');
    if (warc !== null && drop !== '') {
      if (this.#rewriteWarc === undefined)
        throw new Error('a WARC batch lost pages but no rewriteWarc was given');
      const mark = this.#rewriteWarc(warc.path, warc.start!, warc.offset, new Set(drop.split(' ')));
      await withRedisRetry(() => this.#warcFixed(warc.path, warc.start!, mark), this.#signal);
      removeSpools(warc.path);
    }
    return Number(rest[0]);
  }

  /**
   * Starts a recrawl pass if the crawl is finished crawl-wide (nothing queued or leased; see the
   * PASS script: the last pass's records and items lists are kept as `records@<n>`/`items@<n>`),
   * else leaves the current pass (or the first crawl) going; then queues again every done page
   * that is due in it — fetched before the pass started (or `after` ms before it), or with `auto`
   * whose own interval has passed by the pass start — scanning `ver` in steps of 1,000 (Redis is
   * never blocked for long; pages revisited in the pass were stored after its start and are not
   * queued again, so a pass interrupted mid-scan is completed by the next call). Resolves with the
   * pass in force and how many pages this call queued.
   */
  async startRecrawl(
    after: number | 'auto',
    changedOnly: boolean,
  ): Promise<{ pass: RecrawlPass; fresh: boolean; queued: number }> {
    const r = this.#header(
      await this.#run(scripts.pass, [after === 'auto' ? 'auto' : after, changedOnly ? '1' : '0', Date.now()]),
    );
    const pass = passOf(r[0], r[2], r[3], r[4]);
    const fresh = Number(r[1]) === 1;
    let queued = 0;
    if (pass.n > 0) {
      const auto = pass.after === 'auto';
      const before = auto ? pass.started : pass.started - (pass.after as number);
      let cursor = '0';
      do {
        const step = this.#header(
          await this.#run(scripts.requeueDue, [
            cursor,
            1000,
            before,
            auto ? '1' : '0',
            pass.started,
            INITIAL_INTERVAL_MS,
          ]),
        );
        cursor = String(step[0]);
        queued += Number(step[1]);
      } while (cursor !== '0');
    }
    return { pass, fresh, queued };
  }

  /**
   * Queues again each done page whose sitemap `lastmod` is later than its last fetch (for
   * --recrawl-after auto); resolves with how many. Entries with an unparsable lastmod are ignored.
   */
  async requeueModified(entries: readonly { key: string; lastmod: string }[]): Promise<number> {
    const args: (string | number)[] = [];
    for (const e of entries) {
      const t = Date.parse(e.lastmod);
      if (Number.isFinite(t)) args.push(e.key, t);
    }
    if (args.length === 0) return 0;
    return Number(this.#header(await this.#run(scripts.requeueModified, args))[0]);
  }

  /**
   * Always false: the seen set lives in Redis and this answer must be synchronous, so a redirect
   * hop into a known URL is followed and its target deduplicated by `add` as usual.
   */
  has(_url: string): boolean {
    return false;
  }

  /** Crawl-wide counters as of the last script reply (no round trip). */
  stats(): FrontierStats {
    return { ...this.#stats };
  }

  /**
   * True when the crawl is finished everywhere: nothing queued (or delayed) and no live lease in
   * any process. Expired leases are reaped first, so a dead worker's URLs count as queued.
   */
  async drained(): Promise<boolean> {
    this.#header(await this.#run(scripts.drained, []));
    return this.#stats.queued === 0 && this.#stats.leased === 0;
  }

  /** A no-op (false): every lease asks `readyAt` afresh about the hosts Redis says are due. */
  wake(_host: string): boolean {
    return false;
  }

  /** [] : no host is set aside until an event (see {@link wake}). */
  blockedHosts(): string[] {
    return [];
  }

  /** Pauses `host` crawl-wide until `until` (local ms); an existing longer pause is kept. */
  async pauseHost(host: string, until: number): Promise<void> {
    const delay = Math.ceil(until - Date.now());
    if (delay > 0) await this.#run(scripts.pause, [host, delay]);
  }

  /** Sets `host`'s minimum spacing crawl-wide (Crawl-delay); it overrides a faster per-host rate. */
  async setHostInterval(host: string, intervalMs: number): Promise<void> {
    await this.#run(scripts.interval, [host, Math.max(0, Math.round(intervalMs))]);
  }

  /**
   * The crawl's sessions, shared by every process of the crawl, as the last save (of any process)
   * left them (see loadRedisSessions); [] when none.
   */
  loadSessions(): Promise<StoredSession[]> {
    return loadRedisSessions(this.#client, this.keys.sessions, this.#signal);
  }

  /**
   * Replaces the crawl's sessions — for every process of the crawl — with `list`, atomically
   * (see saveRedisSessions). Rejects after close.
   */
  saveSessions(list: readonly StoredSession[]): Promise<void> {
    // After close the client may be gone for good: a save would wait for it forever.
    if (this.#closed) return Promise.reject(new Error('the Redis frontier is closed'));
    return saveRedisSessions(this.#client, this.keys.sessions, list, this.#signal);
  }

  /** Items this process holds leases on. */
  get held(): number {
    return this.#held.size;
  }

  /**
   * Releases prefetched items not handed out (one attempt each), stops renewing (leases the
   * engine still holds expire and return to the queue), stops the presence it was given and, if
   * it owns the client, quits it. With Redis unreachable it sends nothing (the leases and the
   * presence expire on their own) and drops the connection, so close never waits for a server
   * that may not come back. Idempotent.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#stopRenewing();
    // Prefetched items never handed out go back now rather than after their lease expires.
    const left = this.#client.status === 'ready' ? this.#buffer : [];
    this.#buffer = [];
    for (const it of left) {
      const argv = [
        this.keys.prefix,
        this.#hostT,
        this.#hostTau,
        this.owner,
        this.#ttl,
        itemKey(it),
        it.host,
        toJson(it),
        0,
      ];
      await scripts.release.run(this.#client, this.#fkeys, argv).catch(() => undefined);
    }
    await this.#presence?.stop();
    if (!this.#owns) return;
    // QUIT on a lost connection would sit in the offline queue until Redis is back.
    if (this.#client.status === 'ready') await this.#client.quit().catch(() => this.#client.disconnect());
    else this.#client.disconnect();
  }

  #startRenewing(): void {
    if (this.#renewTimer) return;
    this.#renewTimer = setInterval(() => void this.#renew(), Math.max(50, Math.floor(this.#ttl / 3)));
    this.#renewTimer.unref();
  }

  #stopRenewing(): void {
    if (this.#renewTimer) clearInterval(this.#renewTimer);
    this.#renewTimer = null;
  }

  async #renew(): Promise<void> {
    const urls = [...this.#held.keys()]; // identities (itemKey)
    if (urls.length === 0) return;
    try {
      // One attempt per tick (no retry loop): the next tick tries again.
      const lost = (await scripts.renew.run(this.#client, this.#fkeys, [
        this.keys.prefix,
        this.#hostT,
        this.#hostTau,
        this.owner,
        this.#ttl,
        ...urls,
      ])) as string[];
      // A lost lease was reaped: the work goes on, and completing it stores nothing twice.
      for (const u of lost) this.#held.delete(u);
    } catch {
      // Redis away: the leases may expire meanwhile, which loses nothing.
    }
  }
}
