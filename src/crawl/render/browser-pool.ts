// The Chromium pool of `--render`: B browser processes × T tabs each. The engine leases a tab per
// page (acquire → renderPage → release); everything about processes — launching them lazily,
// recycling them so memory stays bounded, noticing one died and replacing it — happens here.
//
// Capacity is one Weighted semaphore of B×T units (FIFO, abortable; a caller aborted while
// waiting leaves it unchanged) plus a per-slot tab count: a slot is one of the B browser
// positions, and its count includes the tabs still open on a browser it is recycling, so a
// slot never has more than T pages open across its old and new process. A recycled or dead
// browser leaves its slot at once (the next acquire there launches a fresh one) and is closed
// when its last tab is released.

import type { Browser, BrowserContext, Page } from 'playwright-core';
import { Weighted } from '../../conc/semaphore.js';
import { CHROMIUM_ARGS } from './chromium.js';
import { pageCdp } from './page-cdp.js';
import { playwrightChromium } from './playwright.js';
import { BrowserLaunchError, RenderCrashError } from './render-error.js';

/** The upstream proxy of one session's browser context (Playwright's proxy settings). */
export interface ContextProxy {
  /** `http://host:port` (the guard proxy). */
  server: string;
  username: string;
  password: string;
  /** Chromium bypass rules; Playwright adds `<-loopback>` unless they name a loopback host. */
  bypass?: string;
}

/** Options of a {@link BrowserPool}. */
export interface BrowserPoolOptions {
  /** The Chromium to launch (findChromium's answer). */
  executablePath: string;
  /** Browser processes at most (launched lazily, as tabs are needed). At least 1. */
  browsers: number;
  /** Pages open at once per browser. At least 1. */
  tabs: number;
  /** Pages a browser serves before it is replaced by a fresh process; 0 = never recycle. */
  recycleAfter: number;
  /** The User-Agent of every context. */
  userAgent: string;
  /** The proxy for a session's contexts; without it, contexts connect directly. */
  proxy?: (sessionKey: string) => ContextProxy;
  /** Extra Chromium flags after CHROMIUM_ARGS. */
  args?: readonly string[];
  /** How long a launch may take before it fails, in ms. Default 30 000. */
  launchTimeoutMs?: number;
}

/** One leased page. Release it exactly once when done (later calls are no-ops). */
export interface Tab {
  readonly page: Page;
  readonly context: BrowserContext;
  /** Which browser process (1, 2, … in launch order; a relaunch gets a new id). */
  readonly browserId: number;
  /**
   * Aborted, with a RenderCrashError as reason, when the tab's browser disconnects
   * unexpectedly; renderPage races every step against it so a render fails at once rather than
   * at its timeout.
   */
  readonly crashed: AbortSignal;
  /**
   * Frees the tab's slot. The page stays open, idle, for the next acquire of the same session on
   * this browser (a new page costs Chromium several times the CPU of a navigation; see
   * BrowserPool), unless `discard` is true (do that when the page may hold state a later render
   * must not see: routes, listeners or exposed functions a handler added) or the page crashed,
   * closed, or its browser is being recycled, died or the pool closed — then the page is closed.
   * If its browser is being recycled (or died) and this was its last tab, the browser is closed
   * too, before this resolves. Never rejects; later calls return the first call's promise.
   */
  release(discard?: boolean): Promise<void>;
}

/** Counters since the pool was made. */
export interface BrowserPoolStats {
  /** Browsers launched successfully. */
  launches: number;
  /** Browsers that disconnected without the pool closing them (killed, crashed). */
  crashes: number;
  /** Browsers retired after `recycleAfter` pages. */
  recycles: number;
  /** Tabs handed out by acquire. */
  pagesRendered: number;
  /** Tabs currently leased. */
  openTabs: number;
  /** Browser processes currently running or launching (recycling ones included). */
  browsers: number;
}

/** How long releasing a tab or closing a browser may take before the pool gives up on it, in ms. */
const CLOSE_TIMEOUT_MS = 10_000;

interface Slot {
  /** The browser new tabs of this slot go to, or null (the next acquire here launches one). */
  current: Entry | null;
  /** Tabs held in this slot, on `current` and on browsers it is still recycling. */
  tabs: number;
}

interface Entry {
  readonly id: number;
  readonly slot: Slot;
  /** Resolves to the launched browser; rejects with a BrowserLaunchError. */
  readonly ready: Promise<Browser>;
  browser: Browser | null;
  pid: number | null;
  /** Tabs leased on it (including ones still being created). */
  holders: number;
  /** Tabs handed out over its life, for recycling. */
  served: number;
  /** Pages of released tabs, by session, kept open for the next tab of that session. */
  readonly idle: Map<string, Page[]>;
  /** Pages in `idle`. */
  idleCount: number;
  /** No new tabs: recycled, dead or closing. */
  retired: boolean;
  /** The pool closes it (a disconnect is then no crash). */
  closing: boolean;
  /** Set by the first #closeEntry: resolves when the process is gone. */
  closed: Promise<void> | null;
  readonly lost: AbortController;
  readonly contexts: Map<string, Promise<BrowserContext>>;
}

/**
 * A pool of headless Chromium processes, each serving up to `tabs` pages at once, with one
 * BrowserContext per (browser, session) so sessions never share cookies or storage. See the
 * file comment for capacity. Not safe to use after close().
 */
export class BrowserPool {
  readonly #opts: BrowserPoolOptions;
  readonly #sem: Weighted;
  readonly #slots: Slot[];
  readonly #entries = new Set<Entry>();
  readonly #waiting = new Set<AbortController>();
  #nextId = 1;
  #closed: Promise<void> | null = null;
  #stats = { launches: 0, crashes: 0, recycles: 0, pagesRendered: 0, openTabs: 0 };

  /** A pool that launches nothing until the first acquire. Throws a RangeError on bad counts. */
  constructor(opts: BrowserPoolOptions) {
    for (const k of ['browsers', 'tabs'] as const) {
      if (!Number.isInteger(opts[k]) || opts[k] < 1)
        throw new RangeError(`${k} must be an integer ≥ 1, got ${opts[k]}`);
    }
    if (!(opts.recycleAfter >= 0)) throw new RangeError(`recycleAfter must be ≥ 0, got ${opts.recycleAfter}`);
    this.#opts = opts;
    this.#sem = new Weighted(opts.browsers * opts.tabs);
    this.#slots = Array.from({ length: opts.browsers }, () => ({ current: null, tabs: 0 }));
  }

  /**
   * Leases a new page in `sessionKey`'s context. Waits (FIFO) while all browsers × tabs pages are
   * leased; launches a browser when the tab goes to a slot without one (the first acquires, and
   * after a recycle or crash); creates the session's context on that browser on first use (with
   * `proxy(sessionKey)` and the user agent; service workers blocked, so every request of the page
   * is the page's own; downloads refused). Tabs go to the launched browser with the fewest tabs,
   * a new browser being launched only when every launched one is full.
   *
   * Rejects with `signal.reason` when `signal` aborts first (nothing stays leased), with
   * BrowserLaunchError when Chromium cannot be started (the next acquire tries again), with
   * RenderCrashError when the browser dies while the tab is being set up, and with an Error
   * `browser pool closed` once close() was called.
   */
  async acquire(sessionKey: string, signal: AbortSignal): Promise<Tab> {
    if (this.#closed !== null) throw new Error('browser pool closed');
    signal.throwIfAborted();
    const ctl = new AbortController();
    const onAbort = (): void => ctl.abort(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    this.#waiting.add(ctl);
    try {
      await this.#sem.acquire(1, ctl.signal);
      if (this.#closed !== null) {
        this.#sem.release(1);
        throw new Error('browser pool closed');
      }
      const slot = this.#pickSlot(sessionKey);
      slot.tabs++;
      const entry = slot.current ?? this.#launch(slot);
      entry.holders++;
      entry.served++;
      if (this.#opts.recycleAfter > 0 && entry.served >= this.#opts.recycleAfter && !entry.retired) {
        this.#retire(entry);
        this.#stats.recycles++;
      }
      let page: Page | null = null;
      try {
        await abortable(entry.ready, ctl.signal, entry.lost.signal);
        const context = await abortable(this.#context(entry, sessionKey), ctl.signal, entry.lost.signal);
        page = this.#takeIdle(entry, sessionKey);
        if (page !== null && !(await setScripts(page, true))) {
          page.close().catch(noop); // cannot be woken: a fresh page instead
          page = null;
        }
        if (page === null) {
          // A new page; if the browser's page count (leased + idle) would pass `tabs`, another
          // session's idle page makes room.
          if (entry.holders + entry.idleCount > this.#opts.tabs) await this.#evictIdle(entry);
          const created = context.newPage();
          page = await abortable(created, ctl.signal, entry.lost.signal).catch((err: unknown) => {
            created.then((p) => p.close(), noop).catch(noop); // made after all: close it
            throw err;
          });
          const made = page;
          made.once('crash', () => crashedPages.add(made));
        }
        this.#stats.pagesRendered++;
        this.#stats.openTabs++;
        const leased = page;
        return new PoolTab(leased, context, entry, (discard) => {
          this.#stats.openTabs--;
          return this.#release(entry, { page: leased, sessionKey, discard });
        });
      } catch (err) {
        if (page !== null) page.close().catch(noop);
        void this.#release(entry, null);
        throw err;
      }
    } finally {
      signal.removeEventListener('abort', onAbort);
      this.#waiting.delete(ctl);
    }
  }

  /**
   * Closes `sessionKey`'s context on every browser (a retired session: its cookies and storage go
   * with it). Pages still open in it are closed too, so their renders fail. Resolves when done;
   * never rejects.
   */
  async dropContext(sessionKey: string): Promise<void> {
    const closing: Promise<unknown>[] = [];
    for (const entry of this.#entries) {
      entry.idleCount -= entry.idle.get(sessionKey)?.length ?? 0;
      entry.idle.delete(sessionKey);
      const ctx = entry.contexts.get(sessionKey);
      if (ctx === undefined) continue;
      entry.contexts.delete(sessionKey);
      closing.push(ctx.then((c) => c.close()).catch(noop));
    }
    await Promise.all(closing);
  }

  /** The counters (see BrowserPoolStats). */
  stats(): BrowserPoolStats {
    return { ...this.#stats, browsers: this.#entries.size };
  }

  /**
   * The process ids of the running browsers, by browser id (launching ones are absent): for
   * diagnostics and tests.
   */
  pids(): Map<number, number> {
    const out = new Map<number, number>();
    for (const e of this.#entries) if (e.pid !== null) out.set(e.id, e.pid);
    return out;
  }

  /**
   * Closes every browser (open tabs included: their renders fail) and fails waiting acquires
   * with `browser pool closed`. Idempotent: every call returns the same promise. A browser that
   * does not close within 10 s is killed.
   */
  close(): Promise<void> {
    if (this.#closed !== null) return this.#closed;
    for (const ctl of this.#waiting) ctl.abort(new Error('browser pool closed'));
    this.#closed = Promise.all([...this.#entries].map((e) => this.#closeEntry(e))).then(noop);
    return this.#closed;
  }

  // The slot for a new tab: one whose browser has an idle page of this session (no new page to
  // make), else the launched (or launching) one with the fewest tabs that has room, else an
  // empty slot. The semaphore guarantees some slot has room.
  #pickSlot(sessionKey: string): Slot {
    let best: Slot | null = null;
    let empty: Slot | null = null;
    for (const slot of this.#slots) {
      if (slot.tabs >= this.#opts.tabs) continue;
      if (slot.current === null) empty ??= slot;
      else if ((slot.current.idle.get(sessionKey)?.length ?? 0) > 0) return slot;
      else if (best === null || slot.tabs < best.tabs) best = slot;
    }
    const slot = best ?? empty;
    if (slot === null) throw new Error('browser pool: no slot with room (accounting bug)');
    return slot;
  }

  #launch(slot: Slot): Entry {
    const path = this.#opts.executablePath;
    const entry: Entry = {
      id: this.#nextId++,
      slot,
      ready: null as unknown as Promise<Browser>,
      browser: null,
      pid: null,
      holders: 0,
      served: 0,
      idle: new Map(),
      idleCount: 0,
      retired: false,
      closing: false,
      closed: null,
      lost: new AbortController(),
      contexts: new Map(),
    };
    (entry as { ready: Promise<Browser> }).ready = playwrightChromium()
      .launch({
        executablePath: path,
        headless: true,
        args: [...CHROMIUM_ARGS, ...(this.#opts.args ?? [])],
        timeout: this.#opts.launchTimeoutMs ?? 30_000,
        // The crawl owns shutdown (first signal drains, the second aborts) and closes the pool;
        // Playwright still kills its browsers when the process exits.
        handleSIGINT: false,
        handleSIGTERM: false,
        handleSIGHUP: false,
      })
      .then(
        async (browser) => {
          entry.browser = browser;
          browser.on('disconnected', () => this.#disconnected(entry));
          this.#stats.launches++;
          entry.pid = await browserPid(browser);
          if (entry.closing || this.#closed !== null) {
            // Closed while launching: #closeEntry is waiting for this promise.
            await withTimeout(browser.close(), CLOSE_TIMEOUT_MS);
            throw new Error('browser pool closed');
          }
          return browser;
        },
        (err: unknown) => {
          this.#retire(entry);
          this.#entries.delete(entry);
          throw new BrowserLaunchError(`cannot launch Chromium (${path}): ${firstLine(err)}`, { cause: err });
        },
      );
    entry.ready.catch(noop); // the acquires waiting on it see the error
    slot.current = entry;
    this.#entries.add(entry);
    return entry;
  }

  // No new tabs for this browser; it leaves its slot so the next acquire there launches anew.
  #retire(entry: Entry): void {
    entry.retired = true;
    if (entry.slot.current === entry) entry.slot.current = null;
    if (entry.holders === 0 && entry.browser !== null) void this.#closeEntry(entry);
  }

  #disconnected(entry: Entry): void {
    entry.browser = null;
    entry.contexts.clear();
    entry.idle.clear();
    entry.idleCount = 0;
    if (!entry.closing) {
      this.#stats.crashes++;
      entry.lost.abort(new RenderCrashError(`browser ${entry.id} (pid ${entry.pid ?? '?'}) disconnected`));
    }
    entry.closing = true;
    this.#retire(entry);
    this.#entries.delete(entry);
  }

  // Frees one tab of `entry`: its page becomes idle for the next tab of the same session, or is
  // closed (asked to, crashed, its browser retired or dead, pool closed). Resolves when done,
  // which includes closing a retired browser whose last tab this was.
  async #release(
    entry: Entry,
    tab: { page: Page; sessionKey: string; discard: boolean } | null,
  ): Promise<void> {
    if (tab !== null && !entry.lost.signal.aborted) {
      const { page, sessionKey } = tab;
      const keep =
        !tab.discard &&
        !entry.retired &&
        this.#closed === null &&
        !page.isClosed() &&
        !crashedPages.has(page);
      // An idle page must not go on running its document's scripts (a poller would keep
      // requesting the site outside the crawl's rate limit): its script execution is switched
      // off (no timer or event callback runs) until its next render. Measured on the spa site:
      // navigating it to about:blank instead cost a third more Chromium CPU per page; CDP's
      // lifecycle freeze does nothing to a visible (headless) page.
      const blank = keep && entry.contexts.has(sessionKey) && (await setScripts(page, false));
      if (blank) {
        const list = entry.idle.get(sessionKey);
        if (list === undefined) entry.idle.set(sessionKey, [page]);
        else list.push(page);
        entry.idleCount++;
      } else {
        await withTimeout(page.close(), CLOSE_TIMEOUT_MS);
      }
    }
    entry.holders--;
    entry.slot.tabs--;
    this.#sem.release(1);
    if (entry.retired && entry.holders === 0) await this.#closeEntry(entry);
  }

  #takeIdle(entry: Entry, sessionKey: string): Page | null {
    const list = entry.idle.get(sessionKey);
    for (let page = list?.pop(); page !== undefined; page = list?.pop()) {
      entry.idleCount--;
      if (!page.isClosed() && !crashedPages.has(page)) return page;
    }
    return null;
  }

  // Closes one idle page of `entry` (the session with the most idle pages gives it up).
  async #evictIdle(entry: Entry): Promise<void> {
    let victim: Page[] | undefined;
    for (const list of entry.idle.values())
      if (victim === undefined || list.length > victim.length) victim = list;
    const page = victim?.pop();
    if (page === undefined) return;
    entry.idleCount--;
    await withTimeout(page.close(), CLOSE_TIMEOUT_MS);
  }

  #closeEntry(entry: Entry): Promise<void> {
    entry.closed ??= this.#doClose(entry);
    return entry.closed;
  }

  async #doClose(entry: Entry): Promise<void> {
    entry.closing = true;
    entry.retired = true;
    if (entry.slot.current === entry) entry.slot.current = null;
    const browser = entry.lost.signal.aborted
      ? null
      : (entry.browser ?? (await entry.ready.catch(() => null)));
    if (browser === null) {
      this.#entries.delete(entry);
      return;
    }
    const closed = await withTimeout(browser.close(), CLOSE_TIMEOUT_MS);
    if (!closed && entry.pid !== null) {
      try {
        process.kill(entry.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    this.#entries.delete(entry);
  }

  #context(entry: Entry, sessionKey: string): Promise<BrowserContext> {
    let ctx = entry.contexts.get(sessionKey);
    if (ctx === undefined) {
      const browser = entry.browser;
      if (browser === null) return Promise.reject(new RenderCrashError(`browser ${entry.id} is gone`));
      const proxy = this.#opts.proxy?.(sessionKey);
      ctx = browser.newContext({
        userAgent: this.#opts.userAgent,
        ...(proxy !== undefined ? { proxy } : {}),
        serviceWorkers: 'block',
        acceptDownloads: false,
      });
      entry.contexts.set(sessionKey, ctx);
      const made = ctx;
      made.catch(() => {
        if (entry.contexts.get(sessionKey) === made) entry.contexts.delete(sessionKey);
      });
    }
    return ctx;
  }
}

class PoolTab implements Tab {
  readonly page: Page;
  readonly context: BrowserContext;
  readonly browserId: number;
  readonly crashed: AbortSignal;
  readonly #free: (discard: boolean) => Promise<void>;
  #released: Promise<void> | null = null;

  constructor(page: Page, context: BrowserContext, entry: Entry, free: (discard: boolean) => Promise<void>) {
    this.page = page;
    this.context = context;
    this.browserId = entry.id;
    this.crashed = entry.lost.signal;
    this.#free = free;
  }

  release(discard = false): Promise<void> {
    this.#released ??= this.#free(discard);
    return this.#released;
  }
}

const noop = (): void => {};

// Pages whose renderer crashed: never reused.
const crashedPages = new WeakSet<Page>();

/**
 * `promise`, or a rejection with the reason of whichever signal aborts first (listeners removed
 * either way).
 */
function abortable<T>(promise: Promise<T>, ...signals: AbortSignal[]): Promise<T> {
  for (const s of signals) if (s.aborted) return Promise.reject(s.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = function (this: AbortSignal): void {
      cleanup();
      reject(this.reason);
    };
    const cleanup = (): void => {
      for (const s of signals) s.removeEventListener('abort', onAbort);
    };
    for (const s of signals) s.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (v) => {
        cleanup();
        resolve(v);
      },
      (e: unknown) => {
        cleanup();
        reject(e);
      },
    );
  });
}

// Switches `page`'s script execution on or off (CDP Emulation.setScriptExecutionDisabled); false
// when Chromium refused or the page is gone (the caller then closes it).
async function setScripts(page: Page, on: boolean): Promise<boolean> {
  try {
    await (await pageCdp(page)).send('Emulation.setScriptExecutionDisabled', { value: !on });
    return true;
  } catch {
    return false;
  }
}

// Resolves true when `p` settles within `ms`, false otherwise.
function withTimeout(p: Promise<unknown>, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const t = setTimeout(() => resolve(false), ms);
    p.then(
      () => {
        clearTimeout(t);
        resolve(true);
      },
      () => {
        clearTimeout(t);
        resolve(true);
      },
    );
  });
}

// The browser process id, from Chromium itself (Playwright's Browser does not expose its
// ChildProcess): one CDP round trip at launch. Null if Chromium does not say.
async function browserPid(browser: Browser): Promise<number | null> {
  try {
    const cdp = await browser.newBrowserCDPSession();
    const info = (await cdp.send('SystemInfo.getProcessInfo')) as {
      processInfo: { type: string; id: number }[];
    };
    await cdp.detach().catch(noop);
    return info.processInfo.find((p) => p.type === 'browser')?.id ?? null;
  } catch {
    return null;
  }
}

function firstLine(err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  // Playwright's launch errors carry a long call log after the first line.
  return (msg.split('\n').find((l) => l.trim() !== '') ?? 'unknown error').replace(/^\S+: /, '').trim();
}
