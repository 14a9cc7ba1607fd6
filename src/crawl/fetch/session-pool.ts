// trawl's identities: N live sessions, each with its own cookie jar and a proxy slot, retired
// and replaced when a site blocks them (Crawlee's SessionPool, Scrapy's `meta['cookiejar']`),
// and snapshotted so that a resumed or distributed crawl keeps its logins (issue 12).

import type { NetscapeCookie } from './cookies-txt.js';
import { SessionCookies } from './session-cookies.js';

/**
 * One session as stored in the crawl state (SQLite `sessions` table, Redis). `cookies` is the
 * jar's `SessionCookies.toJSON()` (null without cookies, and for retired sessions, whose jars are
 * of no further use and would only keep secrets on disk); `proxy` is the session's proxy slot, null
 * when the crawl has no proxies; `requests` counts the requests the session was picked for.
 */
export interface SessionSnapshot {
  id: string;
  cookies: string | null;
  proxy: number | null;
  retired: boolean;
  loggedIn: boolean;
  requests: number;
}

/**
 * One identity of the crawl. Everything but `loggedIn` is read-only for the engine; the pool
 * changes it through `pick`, `observe` and `retire`.
 */
export interface Session {
  /** Unique within the pool (also across the retired sessions it still remembers). */
  readonly id: string;
  /** The session's cookie jar; null when the pool was made with `cookies: false`. */
  readonly cookies: SessionCookies | null;
  /**
   * The proxy slot, for sticky proxy rotation (`ProxyPool.pick(slot)`): in `[0, proxies)` when the
   * pool has proxies, else the session's position in `[0, size)`. A replacement keeps the slot of
   * the session it replaces.
   */
  readonly slot: number;
  /** True once retired; a retired session is never handed out again. */
  readonly retired: boolean;
  /** Why it was retired (the `reason` given to `retire`), null while live or when restored. */
  readonly retiredReason: string | null;
  /**
   * The session that replaced this one, null while live and for retired sessions restored from a
   * snapshot (their replacement is not recorded).
   */
  readonly replacement: Session | null;
  /**
   * Set by the engine after a successful login (and cleared if the login is lost); setting it to
   * a new value marks the pool changed, so the next save records it.
   */
  loggedIn: boolean;
  /** Requests the session was picked for (restored from the snapshot on resume). */
  readonly requests: number;
  /** Block responses seen on this session (see `observe`); not kept in snapshots. */
  readonly blocked: number;
}

/** Options of a {@link SessionPool}. */
export interface SessionPoolOptions {
  /** Live sessions kept at all times (an integer ≥ 1; RangeError otherwise). */
  size: number;
  /** Give every session a cookie jar; false leaves `cookies` null on every session. */
  cookies: boolean;
  /**
   * Cookies (from `--cookies FILE`) imported into every new jar: the first sessions' and every
   * replacement's. Jars restored from a snapshot are not re-imported (they got the import when
   * first created, and the site may since have updated those cookies). Ignored with
   * `cookies: false`.
   */
  importCookies?: readonly NetscapeCookie[];
  /** HTTP statuses that mean "this identity is blocked". Default {@link DEFAULT_BLOCK_CODES}. */
  blockCodes?: ReadonlySet<number>;
  /** How many proxies the crawl rotates over (an integer ≥ 0); 0 = direct. Default 0. */
  proxies?: number;
  /**
   * Makes a session id; default `s-` + 8 random hex digits. An id equal to one the pool knows
   * is drawn again (up to 100 times, then an Error).
   */
  newId?: () => string;
  /**
   * Sessions to resume from (the last saved snapshot). Live ones come back with their jars,
   * `loggedIn` and request counts, in order, up to `size` (live ones beyond `size` are retired
   * with the reason `pool shrunk`); missing ones are created. Retired ones stay retired and are
   * never handed out. A snapshot proxy slot is kept modulo `proxies` (the proxy list may have
   * changed between runs); without proxies, or when the snapshot had none, a slot is assigned. A
   * jar whose JSON no longer parses is replaced by a fresh one (with the imported cookies) and the
   * session's `loggedIn` cleared, rather than failing the resume. Duplicate ids: the first wins.
   */
  restore?: readonly SessionSnapshot[];
  /** Retired sessions remembered (by `get` and in snapshots), newest kept. Default 100. */
  keepRetired?: number;
  /** The jars' clock (cookie expiry, creation and access times). Default: the system clock. */
  now?: () => Date;
}

/** The statuses that retire a session by default (issue 12: `--session-block-codes`). */
export const DEFAULT_BLOCK_CODES: ReadonlySet<number> = new Set([401, 403, 429]);

/** Default bound of the retired sessions a pool remembers. */
export const DEFAULT_KEEP_RETIRED = 100;

/** The default id maker: `s-` followed by 8 random hex digits. */
export function randomSessionId(): string {
  return `s-${randomHex8()}`;
}

function randomHex8(): string {
  const b = new Uint8Array(4);
  crypto.getRandomValues(b);
  let s = '';
  for (const x of b) s += x.toString(16).padStart(2, '0');
  return s;
}

// The concrete session. Its constructor is private to this module: sessions are made by the pool.
class PoolSession implements Session {
  readonly id: string;
  readonly cookies: SessionCookies | null;
  readonly slot: number;
  retired = false;
  retiredReason: string | null = null;
  replacement: PoolSession | null = null;
  requests = 0;
  blocked = 0;
  // Position in the pool's rotation while live (a replacement inherits it).
  pos = -1;
  // A response stored Set-Cookie values into the jar since the last snapshot (see `changed`).
  jarDirty = false;
  #loggedIn = false;
  // The pool that made it: another pool's session is refused by `retire`/`observe`.
  readonly owner: object;
  readonly #onChange: () => void;

  constructor(owner: object, id: string, cookies: SessionCookies | null, slot: number, onChange: () => void) {
    this.owner = owner;
    this.id = id;
    this.cookies = cookies;
    this.slot = slot;
    this.#onChange = onChange;
  }

  get loggedIn(): boolean {
    return this.#loggedIn;
  }

  set loggedIn(v: boolean) {
    if (v === this.#loggedIn) return;
    this.#loggedIn = v;
    this.#onChange();
  }

  // Restores loggedIn without marking the pool changed (the snapshot already says so).
  initLoggedIn(v: boolean): void {
    this.#loggedIn = v;
  }
}

/**
 * A fixed-size pool of live sessions. `pick()` hands them out round-robin, so N sessions share
 * the load evenly; `retire()` replaces a blocked session in place (same position in the
 * rotation, same proxy slot, new id, fresh jar with the imported cookies), and is idempotent so
 * that several pages blocked at once on one session retire it once. `snapshot()` gives the state
 * to save, `snapshotIfChanged()` gives it only when a save is worth doing.
 *
 * Change tracking (when to save): the pool keeps a version that moves when a session is
 * created, retired or its `loggedIn` changes. SessionCookies offers no change counter, and its
 * JSON changes on every read (each cookie's `lastAccessed`), so cookies are tracked in two steps:
 * the pool wraps each jar's `store` to flag the session when a response carried Set-Cookie (one
 * boolean per response), and only when the engine asks (`changed` / `snapshotIfChanged()`) are
 * the flagged jars compared with their last saved JSON, `lastAccessed` ignored. A site that sends
 * the same cookie with every response thus costs one comparison per flagged jar per check, at
 * the engine's save cadence, never per request. Not tracked: cookies dropped because they
 * expired (they would not be sent after a resume either) and request counts (they ride along with
 * the next save).
 *
 * Everything is synchronous and single-threaded; no method awaits, so no interleaving can split
 * a retire from its replacement.
 */
export class SessionPool {
  #created = 0;
  #retiredCount = 0;

  readonly #size: number;
  readonly #cookies: boolean;
  readonly #import: readonly NetscapeCookie[];
  readonly #blockCodes: ReadonlySet<number>;
  readonly #proxies: number;
  readonly #newId: () => string;
  readonly #keepRetired: number;
  // Live sessions by rotation position; a replacement takes the position of the one it replaces.
  readonly #live: PoolSession[] = [];
  // Retired sessions remembered, oldest first (Map keeps insertion order), at most #keepRetired.
  readonly #history = new Map<string, PoolSession>();
  readonly #byId = new Map<string, PoolSession>();
  // Live sessions per proxy slot (empty without proxies), to spread new sessions evenly.
  readonly #slotLoad: number[];
  #cursor = 0;
  #version = 0;
  readonly #now: (() => Date) | undefined;
  // What the last snapshot handed out saw: the version and each live jar's JSON by session id.
  #savedVersion = -1;
  #savedJars = new Map<string, string>();

  /** Builds the pool (restoring `restore` first); see {@link SessionPoolOptions}. */
  constructor(opts: SessionPoolOptions) {
    if (!Number.isInteger(opts.size) || opts.size < 1) {
      throw new RangeError(`sessions: size must be an integer ≥ 1, got ${opts.size}`);
    }
    const proxies = opts.proxies ?? 0;
    if (!Number.isInteger(proxies) || proxies < 0) {
      throw new RangeError(`sessions: proxies must be an integer ≥ 0, got ${proxies}`);
    }
    const keep = opts.keepRetired ?? DEFAULT_KEEP_RETIRED;
    if (!Number.isInteger(keep) || keep < 0) {
      throw new RangeError(`sessions: keepRetired must be an integer ≥ 0, got ${keep}`);
    }
    this.#size = opts.size;
    this.#cookies = opts.cookies;
    this.#import = opts.importCookies ?? [];
    this.#blockCodes = opts.blockCodes ?? DEFAULT_BLOCK_CODES;
    this.#proxies = proxies;
    this.#newId = opts.newId ?? randomSessionId;
    this.#keepRetired = keep;
    this.#now = opts.now;
    this.#slotLoad = new Array<number>(proxies).fill(0);
    if (opts.restore !== undefined) this.#restore(opts.restore);
    while (this.#live.length < this.#size) this.#addLive(this.#create(this.#freeSlot(this.#live.length)));
  }

  /**
   * Sessions this pool created (the initial ones, replacements, and live ones missing from a
   * restore); sessions restored from a snapshot are not counted. For metrics.
   */
  get created(): number {
    return this.#created;
  }

  /**
   * Retirements this pool made; idempotent repeats, retired sessions restored from a snapshot and
   * live ones retired because the restored pool shrank are not counted. For metrics.
   */
  get retired(): number {
    return this.#retiredCount;
  }

  /** The number of live sessions (the `size` option). */
  get size(): number {
    return this.#size;
  }

  /**
   * A counter that moves whenever a session is created, retired or its `loggedIn` changes. It
   * does not see cookie changes; use `changed` for the full answer.
   */
  get version(): number {
    return this.#version;
  }

  /**
   * Whether the state differs from the last snapshot handed out (by `snapshot()` or
   * `snapshotIfChanged()`): a session was created, retired or logged in/out, or a live jar that
   * stored Set-Cookie since then now holds other cookies (values, attributes or expiries;
   * `lastAccessed` ignored). True before the first snapshot. Costs a `toJSON()` of each jar that
   * stored something since the last check; a jar found unchanged is not compared again until it
   * stores again.
   */
  get changed(): boolean {
    if (this.#version !== this.#savedVersion) return true;
    for (const s of this.#live) {
      if (!s.jarDirty || s.cookies === null) continue;
      const saved = this.#savedJars.get(s.id);
      if (saved === undefined || jarContent(s.cookies.toJSON()) !== jarContent(saved)) return true;
      // The stores changed nothing that matters (the same cookie sent again): clean until the next.
      s.jarDirty = false;
    }
    return false;
  }

  /**
   * The next live session in round-robin order, counting one request on it. With `id`: that
   * session if it is live; if it was retired, the live end of its replacement chain (so a
   * request meant for a session follows it through retirements); if the id is unknown (never
   * seen, forgotten from the retired history, or retired in an earlier run), the round-robin
   * choice. The pool always has `size` live sessions, so pick never fails.
   */
  pick(id?: string): Session {
    let s: PoolSession | undefined;
    if (id !== undefined) {
      const known = this.#byId.get(id);
      if (known !== undefined) s = liveEnd(known);
    }
    if (s === undefined) s = this.#next();
    s.requests++;
    return s;
  }

  /**
   * The session with this id: live, or retired and still remembered (the last `keepRetired`
   * retirements); undefined otherwise. Counts nothing.
   */
  get(id: string): Session | undefined {
    return this.#byId.get(id);
  }

  /** The live sessions in rotation order (a copy; `size` long). */
  live(): readonly Session[] {
    return this.#live.slice();
  }

  /** Whether `status` is one of the pool's block codes (it says the identity is blocked). */
  isBlock(status: number): boolean {
    return this.#blockCodes.has(status);
  }

  /**
   * The engine's call after a response on `session`: null when `status` is not a block code;
   * otherwise counts a block on the session and retires it (reason `blocked: HTTP <status>`),
   * returning the session to retry on — its replacement, as `retire` answers (also when it had
   * already been retired by another page's block).
   */
  observe(session: Session | string, status: number): Session | null {
    if (!this.isBlock(status)) return null;
    const s = this.#resolve(session);
    s.blocked++;
    return this.#retire(s, `blocked: HTTP ${status}`);
  }

  /**
   * Retires a session (by object or id) and returns the live session that takes its place: a
   * new one with a new id, the same proxy slot and rotation position, and a fresh jar holding the
   * imported cookies (not logged in). Idempotent: retiring an already retired session retires
   * nothing and returns the live end of its replacement chain (two pages blocked at once on one
   * session get the same replacement, or that replacement's own replacement if it was retired
   * since); a retired session with no recorded replacement (restored retired) returns the next
   * round-robin session. The session object stays valid for in-flight requests (its jar too),
   * but is never handed out again. `reason` is kept on the session for logs; it must carry no
   * secret. An unknown id is a RangeError (a programming error: pass the Session object to be
   * safe past the retired history bound).
   */
  retire(session: Session | string, reason: string): Session {
    return this.#retire(this.#resolve(session), reason);
  }

  /**
   * The state to save: live sessions in rotation order, then the remembered retired ones
   * (oldest first, at most `keepRetired`), in the exact {@link SessionSnapshot} shape. Retired
   * sessions carry `cookies: null`. Marks the pool unchanged (see `changed`).
   */
  snapshot(): SessionSnapshot[] {
    const out: SessionSnapshot[] = [];
    const jars = new Map<string, string>();
    for (const s of this.#live) {
      s.jarDirty = false;
      const json = s.cookies === null ? null : s.cookies.toJSON();
      if (json !== null) jars.set(s.id, json);
      out.push(this.#snap(s, json));
    }
    for (const s of this.#history.values()) out.push(this.#snap(s, null));
    this.#savedVersion = this.#version;
    this.#savedJars = jars;
    return out;
  }

  /**
   * `snapshot()` when the pool `changed` since the last snapshot handed out, else null: the
   * engine calls it at its save cadence (say, with each stored batch) and saves what it returns.
   */
  snapshotIfChanged(): SessionSnapshot[] | null {
    return this.changed ? this.snapshot() : null;
  }

  #snap(s: PoolSession, cookies: string | null): SessionSnapshot {
    return {
      id: s.id,
      cookies,
      proxy: this.#proxies > 0 ? s.slot : null,
      retired: s.retired,
      loggedIn: s.loggedIn,
      requests: s.requests,
    };
  }

  #next(): PoolSession {
    const s = this.#live[this.#cursor]!;
    this.#cursor = (this.#cursor + 1) % this.#live.length;
    return s;
  }

  #resolve(session: Session | string): PoolSession {
    if (typeof session !== 'string') {
      // A session object works even after the retired history forgot its id; a session of
      // another pool (or a look-alike object) is a misuse.
      if (session instanceof PoolSession && session.owner === this) return session;
      throw new RangeError(`sessions: not a session of this pool: ${session.id}`);
    }
    const s = this.#byId.get(session);
    if (s === undefined) throw new RangeError(`sessions: unknown session ${session}`);
    return s;
  }

  #retire(s: PoolSession, reason: string): Session {
    if (s.retired) return liveEnd(s) ?? this.#next();
    s.retired = true;
    s.retiredReason = reason;
    const r = this.#create(s.slot);
    s.replacement = r;
    // Replaced in place: same rotation position, same slot (so #slotLoad is unchanged).
    r.pos = s.pos;
    this.#live[s.pos] = r;
    this.#remember(s);
    this.#retiredCount++;
    this.#version++;
    return r;
  }

  // Adds a retired session to the bounded history, forgetting the oldest beyond the bound.
  #remember(s: PoolSession): void {
    this.#history.set(s.id, s);
    while (this.#history.size > this.#keepRetired) {
      const oldest = this.#history.keys().next().value as string;
      this.#history.delete(oldest);
      this.#byId.delete(oldest);
    }
  }

  #create(slot: number): PoolSession {
    const jar = this.#cookies ? this.#freshJar() : null;
    const s = new PoolSession(this, this.#uniqueId(), jar, slot, this.#bump);
    if (jar !== null) trackStores(jar, s);
    this.#byId.set(s.id, s);
    this.#created++;
    this.#version++;
    return s;
  }

  #freshJar(): SessionCookies {
    const jar = new SessionCookies({ now: this.#now });
    if (this.#import.length > 0) jar.import(this.#import);
    return jar;
  }

  readonly #bump = (): void => {
    this.#version++;
  };

  #uniqueId(): string {
    for (let i = 0; i < 100; i++) {
      const id = this.#newId();
      if (!this.#byId.has(id)) return id;
    }
    throw new Error('sessions: newId returned only ids already in use (100 tries)');
  }

  #addLive(s: PoolSession): void {
    s.pos = this.#live.length;
    this.#live.push(s);
    if (this.#proxies > 0) this.#slotLoad[s.slot]!++;
  }

  // The slot for a new session at rotation position `pos`: with proxies, the proxy with the
  // fewest live sessions (lowest index on ties), so sessions spread evenly over the proxies
  // (0, 1, …, p-1, 0, 1, … for a fresh pool); without, the position itself.
  #freeSlot(pos: number): number {
    if (this.#proxies === 0) return pos;
    const load = this.#slotLoad;
    let best = 0;
    for (let i = 1; i < load.length; i++) if (load[i]! < load[best]!) best = i;
    return best;
  }

  #restore(list: readonly SessionSnapshot[]): void {
    const seen = new Set<string>();
    for (const snap of list) {
      if (seen.has(snap.id)) continue;
      seen.add(snap.id);
      if (snap.retired) {
        const s = new PoolSession(this, snap.id, null, this.#restoredSlot(snap, 0), this.#bump);
        s.retired = true;
        s.requests = snap.requests;
        s.initLoggedIn(snap.loggedIn);
        this.#byId.set(s.id, s);
        this.#remember(s);
        continue;
      }
      let jar: SessionCookies | null = null;
      let loggedIn = snap.loggedIn;
      if (this.#cookies) {
        if (snap.cookies === null) {
          jar = this.#freshJar();
        } else {
          try {
            jar = SessionCookies.fromJSON(snap.cookies, { now: this.#now });
          } catch {
            // The login lived in the lost jar: start the session over rather than fail the resume.
            jar = this.#freshJar();
            loggedIn = false;
          }
        }
      }
      const s = new PoolSession(this, snap.id, jar, this.#restoredSlot(snap, this.#live.length), this.#bump);
      if (jar !== null) trackStores(jar, s);
      s.requests = snap.requests;
      s.initLoggedIn(loggedIn);
      this.#byId.set(s.id, s);
      if (this.#live.length < this.#size) {
        this.#addLive(s);
      } else {
        s.retired = true;
        s.retiredReason = 'pool shrunk';
        this.#remember(s);
      }
    }
  }

  #restoredSlot(snap: SessionSnapshot, pos: number): number {
    if (this.#proxies === 0) return pos;
    if (snap.proxy === null || !Number.isInteger(snap.proxy) || snap.proxy < 0) return this.#freeSlot(pos);
    return snap.proxy % this.#proxies;
  }
}

// Marks the session's jar dirty whenever a response stores Set-Cookie values into it, whoever
// calls `store` (fetchPage gets the jar itself as its CookieAccess). An own-property wrapper on
// the instance, because SessionCookies.fromJSON builds plain SessionCookies (no subclass), and
// SessionCookies offers no change counter. It costs one call per response, nothing per request.
function trackStores(jar: SessionCookies, s: PoolSession): void {
  const store = jar.store.bind(jar);
  jar.store = (url: string, setCookie: readonly string[]): void => {
    store(url, setCookie);
    if (setCookie.length > 0) s.jarDirty = true;
  };
}

// A jar's JSON without the cookies' `lastAccessed` stamps, which every read (every request's
// Cookie header) refreshes: two jars with equal content hold the same cookies for a resume.
function jarContent(json: string): string {
  return json.replace(/,?"lastAccessed":(?:"[^"]*"|null)/g, '');
}

// The live session at the end of a replacement chain; undefined when the chain ends at a retired
// session with no recorded replacement (restored retired).
function liveEnd(s: PoolSession): PoolSession | undefined {
  let cur: PoolSession | null = s;
  while (cur?.retired) cur = cur.replacement;
  return cur ?? undefined;
}
