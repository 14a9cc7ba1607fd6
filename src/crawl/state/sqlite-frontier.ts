import type Database from 'better-sqlite3';
import { RecentSet } from '../dedup/recent-set.js';
import { SeenSet } from '../dedup/seen-set.js';
import {
  type Completion,
  type Frontier,
  type FrontierItem,
  type FrontierStats,
  itemKey,
  type KeepsSessions,
  type PausesHosts,
  type Recrawls,
  type RequestSpec,
  type RequeuesFailed,
  type StoredSession,
  type WarcCommit,
} from '../frontier/frontier.js';
import { HostRing, OUT, type RingPlace } from '../frontier/host-ring.js';
import { INITIAL_INTERVAL_MS } from '../frontier/recrawl-interval.js';
import { checkSessionIds, parseStoredSession, storedSessionJson } from '../frontier/stored-session.js';
import { recordJson } from '../record.js';
import type { SinkMark } from '../store/sink.js';
import { DONE, LEASED, QUEUED } from './schema.js';
import { type StateDb, StateError } from './state-db.js';

/** Options of {@link SqliteFrontier}. */
export interface SqliteFrontierOptions {
  /**
   * Put a Bloom filter in front of the exact seen set (the frontier table) — default false, see
   * bench/crawl/frontier.bench.ts: with the seen set in SQLite every link costs one B-tree probe
   * either way (INSERT OR IGNORE vs. a confirming SELECT), so the filter only adds its rebuild
   * time at open and its memory.
   */
  bloom?: boolean;
  /** Expected number of URLs, to size the Bloom filter (default 1e6). */
  expected?: number;
  /** Bloom false-positive rate (default 1e-6). */
  fpRate?: number;
  /** Output format stored with each sink mark (meta out_format); default: from the mark's path. */
  outFormat?: string;
  /** Items output format stored with each items mark (meta items_format); default: from its path. */
  itemsFormat?: string;
  /**
   * Told (once per occasion) when saveSessions had to make an existing state file private before
   * storing cookies in it (see StateDb.makePrivate); the message names the file and its old mode,
   * never a cookie. Default: no warning.
   */
  onWarning?: (message: string) => void;
  /**
   * A recrawl: every leased item that has a result carries it as `prior` (its validators, hash,
   * fetch time and record), read with the row by the same query. Default false.
   */
  recrawl?: boolean;
}

/** Rows lease reads ahead per host and query (see lease). */
const LEASE_PREFETCH = 32;

/** In-memory bookkeeping of one host with queued rows. */
interface HostQueue {
  host: string;
  /** Rows with state=0 (including delayed ones). */
  queued: number;
  /** The ring's (see RingHost). */
  place: RingPlace;
  wakeAt: number;
  /** Rows allotted in the current lease call (valid when wantRound is that call's round). */
  want: number;
  /** The lease call `want` belongs to (see SqliteFrontier.round). */
  wantRound: number;
}

function newHostQueue(host: string): HostQueue {
  return { host, queued: 0, place: OUT, wakeAt: 0, want: 0, wantRound: 0 };
}

/**
 * Leases are not marked in the file one by one (see lease): they are written in one transaction of
 * their own once this many are unmarked (or by complete() while delayed rows exist, or on close).
 */
const MAX_UNMARKED = 256;

interface FrontierRow {
  rowid: number;
  /** The item's identity (itemKey). */
  url: string;
  host: string;
  depth: number;
  referrer: string | null;
  attempts: number;
  not_before: number;
  lastmod: string | null;
  seq: number;
  /** JSON of the request beyond a plain GET (see requestJson), NULL for a plain link. */
  request: string | null;
  /** Recrawl leases only (see SqliteFrontierOptions.recrawl): the row's result, NULLs when none. */
  r_record?: string | null;
  r_error?: number | null;
  r_done_at?: number | null;
  r_etag?: string | null;
  r_last_modified?: string | null;
  r_body_hash?: string | null;
  r_interval_ms?: number | null;
  r_capture_id?: string | null;
  r_captured_at?: number | null;
}

/** The request column's JSON: a RequestSpec, plus the real URL when the item has a key. */
type RequestJson = RequestSpec & { url?: string };

/**
 * The `request` column of an item: null for a plain link (no key, no request: nothing to
 * serialize on the common path), else the JSON of its RequestSpec with, when the item has a key
 * (the identity column then holds the key), its real URL as `url`.
 */
function requestJson(it: FrontierItem): string | null {
  if (it.key === undefined) return it.request === undefined ? null : JSON.stringify(it.request);
  return JSON.stringify({ url: it.url, ...it.request });
}

/** `<kind>` of an error string of the form `<kind>: <detail>`. */
function errorKind(error: string): string {
  const i = error.indexOf(':');
  return (i < 0 ? error : error.slice(0, i)).trim();
}

/**
 * The durable Frontier: queue and seen set live in the state file's `frontier` table, so memory
 * stays bounded (page cache + one small entry per host with queued work) whatever the crawl's
 * size, and a crawl resumes after any crash.
 *
 * - On construction every leased row (state=1, a crash left it unfinished) goes back to queued at
 *   its old queue position: at-least-once fetching; the exactly-once *record* comes from
 *   complete() marking done and storing the record in one transaction.
 * - Dedup: the frontier table's primary key is the exact seen set (INSERT OR IGNORE); an optional
 *   Bloom filter sits in front (see SqliteFrontierOptions.bloom).
 * - lease: round robin over hosts with queued rows (a HostRing: hosts that may not go yet are
 *   set aside until their time or an event, see wake), each host's queue in FIFO order (`seq`),
 *   without a transaction per lease (see lease).
 * - The connection is the StateDb's; close() closes the StateDb too.
 *
 * Not safe for two processes at once (openState refuses a file in use by another live process).
 */
export class SqliteFrontier implements Frontier, PausesHosts, RequeuesFailed, KeepsSessions, Recrawls {
  readonly state: StateDb;
  private readonly db: Database.Database;
  private readonly opts: SqliteFrontierOptions;
  private seenSet: SeenSet | null = null;
  /** Recently added URLs (every one of them is in the table): 2 × 50k strings at most. */
  private readonly recent = new RecentSet(50_000);

  private readonly ring = new HostRing<HostQueue>((q) => q.queued === 0);
  /** Counts lease calls: a host's `want` counts only in the call that set it. */
  private round = 0;

  private queuedN = 0;
  private leasedN = 0;
  private doneN = 0;
  private failedN = 0;
  private itemsN = 0;
  private seenN = 0;
  private delayedN = 0;
  private seq = 0;
  /**
   * Handed-out leases whose row is still state=0 in the file (see lease): key → rowid; and per
   * host the highest seq handed out since the last flush, so the next lease of that host reads
   * only rows after it (a row skipped as not yet due is found again after the next flush).
   */
  private readonly unmarked = new Map<string, number>();
  private readonly floorByHost = new Map<string, number>();
  /** Per host: queued rows read ahead by lease, not yet handed out (see lease). */
  private readonly buffers = new Map<string, FrontierRow[]>();

  private readonly sInsert: Database.Statement;
  private readonly sExists: Database.Statement;
  private readonly sSelectQueued: Database.Statement;
  private readonly sLeaseRow: Database.Statement;
  private readonly sRelease: Database.Statement;
  private readonly sReleaseUnmarked: Database.Statement;
  private readonly sStateOf: Database.Statement;
  private readonly sMarkDone: Database.Statement;
  private readonly sMarkDoneRow: Database.Statement;
  private readonly sInsertDone: Database.Statement;
  private readonly sResult: Database.Statement;
  private readonly sMinDelayed: Database.Statement;
  private readonly sPutPause: Database.Statement;
  private readonly sItem: Database.Statement;
  private readonly sDeleteItems: Database.Statement;
  private readonly sResultError: Database.Statement;
  private readonly sResultUpdate: Database.Statement;
  private readonly sSessions: Database.Statement;
  private readonly txSaveSessions: (list: readonly StoredSession[], now: number) => void;
  private readonly txAdd: (items: readonly FrontierItem[]) => number;
  private readonly txMark: () => void;
  private readonly txComplete: (
    batch: readonly Completion[],
    mark: SinkMark | undefined,
    itemsMark: SinkMark | undefined,
    warcMark: WarcCommit | undefined,
  ) => number;

  /** Opens the frontier on an open (writable) state file and recovers leased rows. */
  constructor(state: StateDb, opts: SqliteFrontierOptions = {}) {
    this.state = state;
    this.db = state.db;
    this.opts = opts;
    const db = this.db;
    this.sInsert = db.prepare(
      'INSERT OR IGNORE INTO frontier (url, host, depth, referrer, attempts, not_before, state, seq, lastmod, request) VALUES (?, ?, ?, ?, ?, ?, 0, ?, ?, ?)',
    );
    this.sExists = db.prepare('SELECT 1 FROM frontier WHERE url = ?').pluck();
    this.sSelectQueued = db.prepare(
      opts.recrawl === true
        ? 'SELECT f.rowid AS rowid, f.url AS url, f.host AS host, depth, referrer, attempts, not_before, lastmod, seq, request, r.record AS r_record, r.error AS r_error, r.done_at AS r_done_at, r.etag AS r_etag, r.last_modified AS r_last_modified, r.body_hash AS r_body_hash, r.interval_ms AS r_interval_ms, r.capture_id AS r_capture_id, r.captured_at AS r_captured_at FROM frontier f LEFT JOIN results r ON r.url = f.url WHERE f.host = ? AND state = 0 AND seq > ? AND not_before <= ? ORDER BY seq LIMIT ?'
        : 'SELECT rowid, url, host, depth, referrer, attempts, not_before, lastmod, seq, request FROM frontier WHERE host = ? AND state = 0 AND seq > ? AND not_before <= ? ORDER BY seq LIMIT ?',
    );
    // `AND state = 0`: a row completed in the same transaction stays done.
    this.sLeaseRow = db.prepare(
      `UPDATE frontier SET state = ${LEASED} WHERE rowid = ? AND state = ${QUEUED}`,
    );
    this.sRelease = db.prepare(
      `UPDATE frontier SET state = ${QUEUED}, not_before = ?, seq = ?, attempts = ? WHERE url = ? AND state = ${LEASED}`,
    );
    this.sReleaseUnmarked = db.prepare(
      `UPDATE frontier SET not_before = ?, seq = ?, attempts = ? WHERE url = ? AND state = ${QUEUED}`,
    );
    this.sStateOf = db.prepare('SELECT state, host, not_before FROM frontier WHERE url = ?');
    this.sMarkDone = db.prepare(`UPDATE frontier SET state = ${DONE}, attempts = ? WHERE url = ?`);
    this.sMarkDoneRow = db.prepare(`UPDATE frontier SET state = ${DONE}, attempts = ? WHERE rowid = ?`);
    this.sInsertDone = db.prepare(
      `INSERT INTO frontier (url, host, depth, referrer, attempts, not_before, state, seq, lastmod, request) VALUES (?, ?, ?, ?, ?, 0, ${DONE}, ?, ?, ?)`,
    );
    this.sResult = db.prepare(
      'INSERT OR REPLACE INTO results (url, host, error, error_kind, record, done_at, etag, last_modified, body_hash, interval_ms, capture_id, captured_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
    );
    this.sMinDelayed = db
      .prepare('SELECT min(not_before) FROM frontier WHERE state = 0 AND not_before > 0')
      .pluck();
    this.sPutPause = db.prepare('INSERT OR REPLACE INTO hosts (host, paused_until) VALUES (?, ?)');
    this.sItem = db.prepare('INSERT INTO items (key, url, label, item) VALUES (?, ?, ?, ?)');
    this.sDeleteItems = db.prepare('DELETE FROM items WHERE key = ?');
    this.sResultError = db.prepare('SELECT error FROM results WHERE url = ?').pluck();
    this.sResultUpdate = db.prepare(
      'UPDATE results SET error = ?, error_kind = ?, record = ?, done_at = ?, etag = ?, last_modified = ?, body_hash = ?, interval_ms = ?, capture_id = ?, captured_at = ? WHERE url = ?',
    );
    this.txAdd = db.transaction((items: readonly FrontierItem[]) => {
      const fresh = this.insertNew(items);
      this.applyFresh(fresh);
      return fresh.length;
    });
    this.txMark = db.transaction(() => this.markLeases());
    this.txComplete = db.transaction(this.completeTx.bind(this));
    this.sSessions = db.prepare('SELECT id, data FROM sessions');
    const sDeleteSessions = db.prepare('DELETE FROM sessions');
    const sPutSession = db.prepare('INSERT INTO sessions (id, data, updated) VALUES (?, ?, ?)');
    this.txSaveSessions = db.transaction((list: readonly StoredSession[], now: number) => {
      sDeleteSessions.run();
      for (const [pos, s] of list.entries()) sPutSession.run(s.id, storedSessionJson(s, pos), now);
    });

    try {
      db.prepare(`UPDATE frontier SET state = ${QUEUED} WHERE state = ${LEASED}`).run();
      this.load();
      if (opts.bloom) this.rebuildBloom();
    } catch (err) {
      if (err instanceof StateError) throw err;
      throw new StateError(`state file ${state.path} is unreadable or corrupt: ${(err as Error).message}`);
    }
  }

  /** Rebuilds every in-memory counter and the host ring from the table. */
  private load(): void {
    this.floorByHost.clear();
    this.buffers.clear();
    this.ring.clear();
    this.queuedN = 0;
    this.leasedN = 0;
    this.seq = 0;
    const rows = this.db
      .prepare('SELECT host, count(*) AS n, max(seq) AS s FROM frontier WHERE state = 0 GROUP BY host')
      .iterate() as Iterable<{ host: string; n: number; s: number }>;
    for (const r of rows) {
      this.queuedN += r.n;
      if (r.s >= this.seq) this.seq = r.s + 1;
      this.enqueueHost(r.host, r.n);
    }
    this.leasedN =
      (this.db.prepare('SELECT count(*) FROM frontier WHERE state = 1').pluck().get() as number) ?? 0;
    const res = this.db.prepare('SELECT count(*) AS n, coalesce(sum(error), 0) AS f FROM results').get() as {
      n: number;
      f: number;
    };
    this.doneN = res.n;
    this.failedN = res.f;
    this.itemsN = this.db.prepare('SELECT count(*) FROM items').pluck().get() as number;
    this.seenN = this.db.prepare('SELECT count(*) FROM frontier').pluck().get() as number;
    this.delayedN = this.db
      .prepare('SELECT count(*) FROM frontier WHERE state = 0 AND not_before > 0')
      .pluck()
      .get() as number;
    const now = Date.now();
    for (const r of this.db
      .prepare('SELECT host, paused_until FROM hosts WHERE paused_until > ?')
      .iterate(now) as Iterable<{
      host: string;
      paused_until: number;
    }>) {
      this.ring.pause(r.host, r.paused_until);
    }
  }

  private rebuildBloom(): void {
    const expected = Math.max(this.opts.expected ?? 1e6, this.seenN * 2);
    const exists = this.sExists;
    const seen = new SeenSet({
      expected,
      fpRate: this.opts.fpRate ?? 1e-6,
      confirm: (url) => exists.get(url) !== undefined,
    });
    for (const url of this.db.prepare('SELECT url FROM frontier').pluck().iterate() as Iterable<string>)
      seen.preload(url);
    this.seenSet = seen;
  }

  private enqueueHost(host: string, n: number): void {
    const q = this.ring.entry(host, newHostQueue);
    q.queued += n;
    if (q.queued > 0) this.ring.join(q);
  }

  /**
   * Inserts the items not seen before (must run inside a transaction); returns the new ones.
   * Counters are applied by the caller after the transaction commits (applyFresh).
   */
  private insertNew(items: readonly FrontierItem[]): FrontierItem[] {
    const fresh: FrontierItem[] = [];
    const seen = this.seenSet;
    const recent = this.recent;
    for (const it of items) {
      const key = it.key ?? it.url; // itemKey, inlined on the hot path
      // Links most pages repeat were inserted moments ago: skip their B-tree probe (exact, bounded).
      if (recent.has(key)) continue;
      recent.add(key);
      // With the Bloom filter: a Bloom-positive URL is confirmed by one probe before being dropped.
      if (seen !== null && !seen.add(key)) continue;
      const nb = it.notBefore ?? 0;
      const r = this.sInsert.run(
        key,
        it.host,
        it.depth,
        it.referrer,
        it.attempts,
        nb,
        this.seq,
        it.lastmod ?? null,
        it.key === undefined && it.request === undefined ? null : requestJson(it),
      );
      if (r.changes === 1) {
        this.seq++;
        fresh.push(it);
      }
    }
    return fresh;
  }

  private applyFresh(fresh: readonly FrontierItem[]): void {
    for (const it of fresh) {
      this.enqueueHost(it.host, 1);
      if ((it.notBefore ?? 0) > 0) this.delayedN++;
    }
    this.queuedN += fresh.length;
    this.seenN += fresh.length;
  }

  /**
   * Enqueues the items whose identity ({@link itemKey}: key, else URL) was never accepted before
   * (by add, complete's links, or a completion's own item), in one transaction; returns how many
   * were new. Duplicates within `items` count once. `notBefore` is stored as given (absent = 0 =
   * now); `key` and `request` are stored with the item and come back from lease as they were.
   */
  add(items: readonly FrontierItem[]): number {
    if (items.length === 0) return 0;
    try {
      return this.txAdd(items);
    } catch (err) {
      this.recent.clear(); // the rolled-back URLs are not in the table: forget them
      throw err;
    }
  }

  /**
   * Leases up to `max` queued items whose not_before ≤ `now`, rotating across hosts: it walks the
   * rotation of hosts with queued rows from where the previous call stopped (HostRing.pick: hosts
   * asleep until a time ≤ `now` rejoin it first): a host paused by pauseHost past `now` sleeps
   * until its pause ends; `readyAt(host)` (called at most once per host per call; must not have
   * side effects) chooses it (≤ `now`), puts it to sleep until that time (finite, > `now`) or
   * blocks it until {@link wake} (Infinity); then it deals the `max` slots one per chosen host
   * per round, and takes each chosen host's oldest due rows (seq order). Returned items are
   * interleaved host by host. [] when `max` ≤ 0 or nothing can go. A host whose queued rows are
   * all delayed yields nothing this call. Hosts asleep or blocked are not looked at, so the cost
   * does not grow with their number.
   *
   * No transaction per lease: exclusivity is kept in memory (per host a floor: the highest seq read,
   * and a buffer of rows read ahead), and a leased row usually goes from queued to done in the file
   * by the complete() transaction that records it, without ever being written as leased (one
   * write per page instead of two). Leases are marked in the file in one transaction once
   * MAX_UNMARKED are unmarked, on close, before nextDueAt reads the delayed rows, and by every
   * complete() while delayed rows exist (a row skipped as not yet due may lie below a floor, so
   * floors and buffers are then dropped and the rows read again). Until then the file shows them
   * as queued, which is what a crash would make of them anyway (at-least-once fetching; the
   * record is still stored exactly once).
   */
  lease(max: number, now: number, readyAt: (host: string) => number): FrontierItem[] {
    if (max <= 0 || this.queuedN === 0) return [];
    // Deal the slots round robin, never more than a host has queued.
    const round = ++this.round;
    const chosen = this.ring.pick(max, now, readyAt, (q) => {
      if (q.wantRound !== round) {
        q.wantRound = round;
        q.want = 0;
      }
      if (q.want >= q.queued) return false;
      q.want++;
      return true;
    });
    if (chosen.length === 0) return [];
    const perHost: FrontierRow[][] = [];
    let handed = 0;
    for (const q of chosen) {
      if (q.wantRound !== round) continue; // dealt no slot
      // Rows leased but not yet marked are still state=0: read after them. One query fetches
      // up to LEASE_PREFETCH rows into a per-host buffer, so lease(1) per page costs one query per
      // few dozen pages. Buffered rows stay state=0 until handed out (a crash loses nothing), and
      // the buffers are dropped whenever the floors are (the rows are then read again).
      let buf = this.buffers.get(q.host);
      if (buf === undefined || buf.length < q.want) {
        const floor = this.floorByHost.get(q.host) ?? -1;
        const have = buf?.length ?? 0;
        const more = this.sSelectQueued.all(
          q.host,
          floor,
          now,
          Math.max(q.want, LEASE_PREFETCH) - have,
        ) as FrontierRow[];
        if (more.length > 0) this.floorByHost.set(q.host, more[more.length - 1]!.seq);
        buf = buf === undefined ? more : buf.concat(more);
        this.buffers.set(q.host, buf);
      }
      const got = buf.splice(0, q.want);
      if (got.length > 0) {
        for (const r of got) {
          this.unmarked.set(r.url, r.rowid);
          if (r.not_before > 0) this.delayedN--;
        }
        perHost.push(got);
        handed += got.length;
        q.queued -= got.length;
      }
    }
    const out: FrontierItem[] = [];
    for (let round = 0; out.length < handed; round++) {
      for (const got of perHost) {
        const r = got[round];
        if (r !== undefined) out.push(toItem(r));
      }
    }
    this.queuedN -= handed;
    this.leasedN += handed;
    if (this.unmarked.size >= MAX_UNMARKED) this.flushLeases();
    return out;
  }

  /** Marks the unmarked leases as state=1 (inside the caller's transaction). */
  private markLeases(): void {
    for (const rowid of this.unmarked.values()) this.sLeaseRow.run(rowid);
  }

  /** Writes the unmarked leases in a transaction of their own. */
  private flushLeases(): void {
    if (this.unmarked.size === 0) return;
    this.txMark();
    this.unmarked.clear();
    this.floorByHost.clear();
    this.buffers.clear();
  }

  /**
   * When queued rows may next be leased by time alone: with rows that have no delay, when their
   * hosts may go (HostRing.dueAt: 0 for a host in the rotation — also one whose rows are all
   * delayed, as before —, else the earliest sleeper's time; hosts blocked until a wake do not
   * count), and the earliest not_before among delayed rows; undefined when nothing is queued or
   * all of it waits for a wake.
   */
  nextDueAt(): number | undefined {
    if (this.queuedN === 0) return undefined;
    let hosts: number | undefined;
    if (this.delayedN < this.queuedN) {
      hosts = this.ring.dueAt();
      if (hosts === 0 || this.delayedN === 0) return hosts;
    }
    this.flushLeases(); // leased rows must not count as delayed queued rows
    const delayed = (this.sMinDelayed.get() as number | null) ?? 0;
    return hosts === undefined ? delayed : Math.min(hosts, delayed);
  }

  readonly hostTimes = true as const;

  /**
   * Puts a leased item back at the back of its host's queue with `notBefore` (default 0 = now),
   * storing its current `attempts`. A no-op for an item that is not leased.
   */
  release(item: FrontierItem, notBefore = 0): void {
    const key = itemKey(item);
    const rowid = this.unmarked.get(key);
    if (rowid !== undefined) {
      this.sReleaseUnmarked.run(notBefore, this.seq, item.attempts, key);
      this.unmarked.delete(key);
    } else if (this.sRelease.run(notBefore, this.seq, item.attempts, key).changes === 0) return;
    this.seq++;
    this.leasedN--;
    this.queuedN++;
    if (notBefore > 0) this.delayedN++;
    this.enqueueHost(item.host, 1);
  }

  private completeTx(
    batch: readonly Completion[],
    mark: SinkMark | undefined,
    itemsMark: SinkMark | undefined,
    warcMark: WarcCommit | undefined,
  ): number {
    const now = Date.now();
    // Rows skipped by lease as not yet due may sit below a host's floor: while any row is
    // delayed, every complete marks the leases and drops floors and buffers (see complete).
    let dropLeases = this.delayedN > 0;
    if (dropLeases) this.markLeases();
    const doneUnmarked = this.doneUnmarked;
    let leasedDone = 0;
    let queuedDone = 0;
    let delayedDone = 0;
    const queuedHosts: string[] = [];
    let inserted = 0;
    let failed = 0;
    let newResults = 0;
    // Scraped items in the table as this transaction goes (deciding whether a replaced result
    // can have items to take with it without a statement when there are none at all).
    let itemsNow = this.itemsN;
    const links: FrontierItem[] = [];
    for (const c of batch) {
      const { item, record } = c;
      const key = item.key ?? item.url; // itemKey, inlined on the hot path
      const json = recordJson(record);
      // A lease of this process not yet marked in the file: its row is known, and it is leased.
      const rowid = this.unmarked.get(key);
      const prev = (rowid !== undefined ? LEASED_ROW : this.sStateOf.get(key)) as
        | { state: number; host: string; not_before: number }
        | undefined;
      if (prev === undefined) {
        this.sInsertDone.run(
          key,
          item.host,
          item.depth,
          item.referrer,
          record.attempts,
          this.seq,
          item.lastmod ?? null,
          item.key === undefined && item.request === undefined ? null : requestJson(item),
        );
        inserted++;
      } else {
        if (rowid !== undefined) {
          this.sMarkDoneRow.run(record.attempts, rowid);
          this.unmarked.delete(key); // restored by complete() if the transaction fails
          doneUnmarked.push(key, rowid);
        } else this.sMarkDone.run(record.attempts, key);
        if (prev.state === LEASED) leasedDone++;
        else if (prev.state === QUEUED) {
          queuedDone++;
          queuedHosts.push(prev.host);
          if (prev.not_before > 0) delayedDone++;
        }
      }
      // A done row has its result (they are written together): this completion replaces it, and
      // the replaced result takes its items with it (the new completion's items are the page's)
      // — except an unchanged page's, whose earlier items still hold. A recrawled row was
      // queued again, so its result is found by the page's `prior` rather than its state.
      // (INSERT OR REPLACE reports 1 change either way, so the row state is what tells.)
      const replaces = (prev !== undefined && prev.state === DONE) || item.prior !== undefined;
      const v = c.version;
      const result = [
        record.error === null ? 0 : 1,
        record.error === null ? null : errorKind(record.error),
        json,
        now,
        v?.etag ?? null,
        v?.lastModified ?? null,
        v?.hash ?? null,
        v?.intervalMs ?? null,
        v?.captureId ?? null,
        v?.capturedAt ?? null,
      ];
      if (replaces) {
        // A recrawl lease read its result's error flag with it; a done row's needs a lookup.
        const wasFailed = item.prior?.failed ?? (this.sResultError.get(key) as number | undefined) === 1;
        if (wasFailed) failed--;
        if (itemsNow > 0 && c.unchanged !== true) itemsNow -= this.sDeleteItems.run(key).changes;
        // In place: an UPDATE keeps the row and its url index entry, where INSERT OR REPLACE
        // deletes both and inserts them again (a recrawl replaces every result).
        if (this.sResultUpdate.run(...result, key).changes === 0) this.sResult.run(key, item.host, ...result);
      } else {
        newResults++;
        this.sResult.run(key, item.host, ...result);
      }
      const items = c.unchanged === true ? undefined : c.items;
      if (items !== undefined && items.length > 0) {
        const label = item.request?.label ?? null;
        for (const it of items) this.sItem.run(key, record.url, label, JSON.stringify(it));
        itemsNow += items.length;
      }
      if (record.error !== null) failed++;
      for (const l of c.links) links.push(l);
    }
    // A row completed while queued may sit in a lease buffer: start the buffers afresh.
    if (queuedDone > 0 && !dropLeases) {
      this.markLeases();
      dropLeases = true;
    }
    const fresh = this.insertNew(links);
    if (warcMark !== undefined) this.state.setWarcMark(warcMark);
    if (itemsMark !== undefined) this.state.setItemsMark(itemsMark, this.opts.itemsFormat);
    if (mark !== undefined) this.state.setOutMark(mark, this.opts.outFormat);
    else if (itemsMark === undefined) this.state.setMeta('updated_at', new Date(now).toISOString());
    // Committed below by the transaction wrapper; counters follow only if it succeeds, so they
    // are applied in complete() from this pending record.
    this.pending = {
      leasedDone,
      queuedDone,
      delayedDone,
      queuedHosts,
      inserted,
      failed,
      newResults,
      items: itemsNow,
      fresh,
      dropLeases,
    };
    return fresh.length;
  }

  private pending: {
    leasedDone: number;
    queuedDone: number;
    delayedDone: number;
    queuedHosts: string[];
    inserted: number;
    failed: number;
    newResults: number;
    /** Scraped items in the table after the transaction. */
    items: number;
    fresh: FrontierItem[];
    dropLeases: boolean;
  } | null = null;
  /** Unmarked leases completed by the running completeTx, as key, rowid pairs (for a rollback). */
  private readonly doneUnmarked: (string | number)[] = [];

  /**
   * Records the batch in one transaction: each record into results (replacing an earlier record
   * of the same item), each item marked done (one that was never in the frontier — e.g.
   * completed without add — is inserted as done and counts as seen), each completion's scraped
   * items into the items table (a replaced record's items are deleted first, so a page's items
   * are stored exactly once), the links deduplicated and enqueued, and `sinkMark` / `itemsMark`
   * (if given) stored in meta with updated_at. Items are identified by {@link itemKey}. If
   * anything throws (e.g. a record that JSON.stringify rejects) nothing of the batch is stored
   * and the error propagates; the items stay leased. Returns how many links were new. A
   * completion of a lease of this process not yet marked in the file updates its row by rowid,
   * without reading it first. A completion without scraped items costs no statement for them.
   */
  complete(
    batch: readonly Completion[],
    sinkMark?: SinkMark,
    itemsMark?: SinkMark,
    warcMark?: WarcCommit,
  ): number {
    if (batch.length === 0 && sinkMark === undefined && itemsMark === undefined && warcMark === undefined)
      return 0;
    this.pending = null;
    const doneUnmarked = this.doneUnmarked;
    doneUnmarked.length = 0;
    let n: number;
    try {
      n = this.txComplete(batch, sinkMark, itemsMark, warcMark);
    } catch (err) {
      this.recent.clear(); // the rolled-back links are not in the table: forget them
      // The rolled-back completions are still leased and unmarked.
      for (let i = 0; i < doneUnmarked.length; i += 2)
        this.unmarked.set(doneUnmarked[i] as string, doneUnmarked[i + 1] as number);
      doneUnmarked.length = 0;
      throw err;
    }
    doneUnmarked.length = 0;
    const p = this.pending!;
    this.pending = null;
    this.leasedN -= p.leasedDone;
    this.queuedN -= p.queuedDone;
    this.delayedN -= p.delayedDone;
    for (const h of p.queuedHosts) {
      const q = this.ring.get(h);
      if (q !== undefined) q.queued--;
    }
    if (p.dropLeases) {
      this.unmarked.clear();
      this.floorByHost.clear();
      this.buffers.clear();
    }
    this.seenN += p.inserted;
    this.doneN += p.newResults;
    this.failedN += p.failed;
    this.itemsN = p.items;
    this.applyFresh(p.fresh);
    return n;
  }

  /**
   * Whether `url` was ever accepted (queued, leased or done) as a plain item (one without a key;
   * an item with a key answers to its key): one primary-key probe.
   */
  has(url: string): boolean {
    return this.sExists.get(url) !== undefined;
  }

  /** Current counters (kept in memory; exact for this process's view of the file). */
  stats(): FrontierStats {
    return {
      queued: this.queuedN,
      leased: this.leasedN,
      done: this.doneN,
      failed: this.failedN,
      seen: this.seenN,
      items: this.itemsN,
    };
  }

  /** Exact for this process: nothing queued and nothing leased (one process owns the file). */
  drained(): boolean {
    return this.queuedN === 0 && this.leasedN === 0;
  }

  /**
   * Pauses the host until `until` (durably); lease skips it while `now < until` (it sleeps until
   * then, unasked: HostRing.pause). 0 unpauses.
   */
  pauseHost(host: string, until: number): void {
    this.sPutPause.run(host, until);
    this.ring.pause(host, until);
  }

  /**
   * A host blocked by a lease's `readyAt` (Infinity) rejoins the back of the rotation and is
   * asked again by the next lease; returns whether it was blocked (HostRing.wake). A no-op for a
   * host without queued rows, one in the rotation and one asleep until a time. Not durable: a
   * reopened (or reloaded, see requeueFailed) frontier asks every host again.
   */
  wake(host: string): boolean {
    return this.ring.wake(host);
  }

  /** The hosts blocked until {@link wake} (including ones whose queued rows were completed meanwhile). */
  blockedHosts(): string[] {
    return this.ring.blockedHosts();
  }

  /**
   * Puts every item whose result failed back in the queue (attempts reset to 0, at the back of
   * its host's queue, no delay) and deletes those results and their scraped items, in one
   * transaction; returns how many. The failed records (and items) already written to an output
   * stay there: the caller rewrites the outputs (exportState, exportItems) and stores their new
   * marks (state.setOutMark, state.setItemsMark) before crawling on.
   */
  requeueFailed(): number {
    this.flushLeases();
    const n = this.db.transaction(() => {
      const urls = this.db.prepare('SELECT url FROM results WHERE error = 1').pluck().all() as string[];
      const upd = this.db.prepare(
        `UPDATE frontier SET state = ${QUEUED}, attempts = 0, not_before = 0, seq = ? WHERE url = ?`,
      );
      for (const u of urls) upd.run(this.seq++, u);
      this.db.prepare('DELETE FROM items WHERE key IN (SELECT url FROM results WHERE error = 1)').run();
      this.db.prepare('DELETE FROM results WHERE error = 1').run();
      return urls.length;
    })();
    this.load();
    return n;
  }

  /**
   * A recrawl pass (--recrawl): puts done items back in the queue (attempts reset, at the back of
   * their host's queue, no delay) in one transaction, and returns how many. Which ones: those whose
   * result was stored before `before` (ms since epoch; the pass's start, or earlier with
   * --recrawl-after), and with `auto` only those whose own interval (results.interval_ms, else
   * INITIAL_INTERVAL_MS) has passed by `now`. Results and items stay: a lease of a requeued item
   * carries its result as `prior` (with SqliteFrontierOptions.recrawl) and its completion replaces it.
   */
  requeueForRecrawl(before: number, auto: boolean, now: number): number {
    this.flushLeases();
    const n = this.db.transaction(() => {
      const urls = (
        auto
          ? this.db
              .prepare(
                `SELECT url FROM results WHERE done_at < ? AND done_at + coalesce(interval_ms, ${INITIAL_INTERVAL_MS}) <= ?`,
              )
              .pluck()
              .all(before, now)
          : this.db.prepare('SELECT url FROM results WHERE done_at < ?').pluck().all(before)
      ) as string[];
      const upd = this.db.prepare(
        `UPDATE frontier SET state = ${QUEUED}, attempts = 0, not_before = 0, seq = ? WHERE url = ? AND state = ${DONE}`,
      );
      let count = 0;
      for (const u of urls) count += upd.run(this.seq++, u).changes;
      return count;
    })();
    this.load();
    return n;
  }

  /**
   * --recrawl-after auto with sitemaps: puts each done item whose sitemap `<lastmod>` (an ISO 8601
   * date, as the sitemap gave it) is later than its result's fetch time back in the queue, as
   * requeueForRecrawl does; unknown keys, unparsable dates and items not done are left alone.
   * Returns how many were requeued.
   */
  requeueModified(entries: readonly { key: string; lastmod: string }[]): number {
    const doneAt = this.db.prepare(
      `SELECT r.done_at AS done_at, f.host AS host FROM results r JOIN frontier f ON f.url = r.url WHERE r.url = ? AND f.state = ${DONE}`,
    );
    const upd = this.db.prepare(
      `UPDATE frontier SET state = ${QUEUED}, attempts = 0, not_before = 0, seq = ? WHERE url = ? AND state = ${DONE}`,
    );
    const hosts: string[] = [];
    const seq0 = this.seq;
    try {
      this.db.transaction(() => {
        for (const { key, lastmod } of entries) {
          const modified = Date.parse(lastmod);
          const row = doneAt.get(key) as { done_at: number; host: string } | undefined;
          if (row === undefined || !Number.isFinite(modified) || modified <= row.done_at) continue;
          if (upd.run(this.seq++, key).changes > 0) hosts.push(row.host);
        }
      })();
    } catch (err) {
      this.seq = seq0;
      throw err;
    }
    // The rows go to the back of their hosts' queues (seq above every floor): counted here, as
    // release does, instead of reloading the whole frontier.
    for (const h of hosts) {
      this.queuedN++;
      this.enqueueHost(h, 1);
    }
    return hosts.length;
  }

  /**
   * The sessions of the last saveSessions (of this process or of the crawl before a crash), in the
   * order they were saved; [] when none were ever saved. Rejects with a StateError naming the
   * file and the session id (never its contents) when a stored session is malformed.
   */
  async loadSessions(): Promise<StoredSession[]> {
    const rows = this.sSessions.all() as { id: string; data: string }[];
    const out: { session: StoredSession; pos: number }[] = [];
    for (const r of rows) {
      const s = parseStoredSession(r.id, r.data);
      if (s === null)
        throw new StateError(`state file ${this.state.path}: session ${JSON.stringify(r.id)} is malformed`);
      out.push(s);
    }
    return out.sort((a, b) => a.pos - b.pos).map((s) => s.session);
  }

  /**
   * Replaces every stored session with `list` in one transaction (a crash leaves the previous set
   * or this one, never a mix); when the promise resolves the save survives the death of the
   * process (WAL, synchronous=NORMAL, as every write of the frontier). An empty list deletes them
   * all. Before the first cookie jar (`cookies` not null) is written the file is made private if
   * group or others could read it ({@link StateDb.makePrivate}; `onWarning` hears of it), and a
   * file that cannot be made private rejects with its StateError, storing nothing. Duplicate ids
   * reject with a TypeError, storing nothing.
   */
  async saveSessions(list: readonly StoredSession[]): Promise<void> {
    checkSessionIds(list);
    if (list.some((s) => s.cookies !== null)) {
      const changed = this.state.makePrivate();
      if (changed !== null) this.opts.onWarning?.(changed);
    }
    this.txSaveSessions(list, Date.now());
  }

  /**
   * Closes the state file (see StateDb.close). Leased items stay leased in the file and come back
   * as queued on reopen. Idempotent.
   */
  close(): void {
    if (!this.db.open) return;
    this.flushLeases();
    this.state.close();
  }
}

/** What completeTx knows of an unmarked lease's row without reading it. */
const LEASED_ROW = { state: LEASED, host: '', not_before: 0 };

function toItem(r: FrontierRow): FrontierItem {
  const item: FrontierItem = {
    url: r.url,
    host: r.host,
    depth: r.depth,
    referrer: r.referrer,
    attempts: r.attempts,
  };
  if (r.not_before > 0) item.notBefore = r.not_before;
  if (r.lastmod !== null) item.lastmod = r.lastmod;
  if (r.r_record != null) {
    item.prior = {
      record: r.r_record,
      failed: r.r_error === 1,
      fetchedAt: r.r_done_at ?? 0,
      etag: r.r_etag ?? null,
      lastModified: r.r_last_modified ?? null,
      hash: r.r_body_hash ?? null,
      intervalMs: r.r_interval_ms ?? null,
      captureId: r.r_capture_id ?? null,
      capturedAt: r.r_captured_at ?? null,
    };
  }
  if (r.request !== null) {
    const req = JSON.parse(r.request) as RequestJson;
    if (req.url !== undefined) {
      // The identity column holds the key; the real URL rides in the request JSON.
      item.key = r.url;
      item.url = req.url;
      delete req.url;
    }
    for (const _ in req) {
      item.request = req;
      break;
    }
  }
  return item;
}
