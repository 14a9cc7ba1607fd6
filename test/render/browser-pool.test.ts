import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { BrowserPool, type Tab } from '../../src/crawl/render/browser-pool.js';
import { findChromium, NO_CHROMIUM } from '../../src/crawl/render/chromium.js';
import { BrowserLaunchError, RenderCrashError } from '../../src/crawl/render/render-error.js';
import { renderPage } from '../../src/crawl/render/render-page.js';
import { UsageError } from '../../src/crawl/usage-error.js';
import { CHROMIUM_PATH, hasChromium, NO_CHROMIUM_MESSAGE } from '../helpers/chromium.js';

const LONG = 120_000; // render timeouts far beyond the test timeout: a pass never comes from one

/** A loopback server: `/` a small page, `/hang` never answers (until close), `/hit` counts. */
async function startServer(): Promise<{
  url: string;
  hits: () => number;
  hanging: () => number;
  close(): Promise<void>;
}> {
  let hits = 0;
  let hanging = 0;
  const server: Server = createServer((req, res) => {
    if (req.url === '/hang') {
      hanging++;
      return; // never answered
    }
    if (req.url === '/lifecycle') {
      // Records the page lifecycle events it sees (the pool freezes idle pages).
      res.writeHead(200, { 'content-type': 'text/html' });
      // A poller: counts every millisecond while its scripts run.
      res.end('<!doctype html><title>lc</title><script>window.n = 0; setInterval(() => n++, 1);</script>');
      return;
    }
    hits++;
    res.writeHead(200, { 'content-type': 'text/html' });
    res.end('<!doctype html><title>ok</title><p>hello</p>');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    hits: () => hits,
    hanging: () => hanging,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function until(cond: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 600; i++) {
    if (cond()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

const never = new AbortController().signal;

describe('findChromium', () => {
  const dir = mkdtempSync(join(tmpdir(), 'trawl-chromium-'));

  it('refuses an explicit path that does not exist, is a directory, or is not executable', () => {
    expect(() => findChromium(join(dir, 'nope'))).toThrow(UsageError);
    expect(() => findChromium(join(dir, 'nope'))).toThrow(`--chromium ${join(dir, 'nope')}: no such file`);
    expect(() => findChromium(dir)).toThrow(`--chromium ${dir}: not a file`);
    const plain = join(dir, 'plain');
    writeFileSync(plain, 'x');
    chmodSync(plain, 0o644);
    expect(() => findChromium(plain)).toThrow(`--chromium ${plain}: not executable`);
  });

  it('takes an explicit executable file as it is (whether it is Chromium shows at launch)', () => {
    expect(findChromium(process.execPath)).toBe(process.execPath);
  });

  it('the no-Chromium message is one line naming the apt package, playwright install and --chromium', () => {
    expect(NO_CHROMIUM).not.toContain('\n');
    expect(NO_CHROMIUM).toContain('apt-get install -y chromium');
    expect(NO_CHROMIUM).toContain('npx playwright install chromium');
    expect(NO_CHROMIUM).toContain('--chromium PATH');
  });

  it.skipIf(!hasChromium)('finds the system Chromium without a path', () => {
    expect(findChromium()).toBe(CHROMIUM_PATH);
  });
});

describe('BrowserPool: launch failures are clear errors, not hangs', () => {
  it('a path that is not Chromium rejects acquire with BrowserLaunchError naming it, and every acquire tries again', async () => {
    const pool = new BrowserPool({
      executablePath: '/bin/false',
      browsers: 1,
      tabs: 2,
      recycleAfter: 0,
      userAgent: 'test',
    });
    try {
      const first = pool.acquire('s', never);
      const second = pool.acquire('s', never); // waits on the same launch
      await expect(first).rejects.toBeInstanceOf(BrowserLaunchError);
      await expect(second).rejects.toThrow('cannot launch Chromium (/bin/false)');
      await expect(pool.acquire('s', never)).rejects.toBeInstanceOf(BrowserLaunchError);
      expect(pool.stats()).toMatchObject({ launches: 0, openTabs: 0, browsers: 0 });
    } finally {
      await pool.close();
    }
  });

  it('rejects bad counts at construction', () => {
    const base = { executablePath: '/bin/false', recycleAfter: 0, userAgent: 'x' };
    expect(() => new BrowserPool({ ...base, browsers: 0, tabs: 1 })).toThrow(RangeError);
    expect(() => new BrowserPool({ ...base, browsers: 1, tabs: 0 })).toThrow(RangeError);
    expect(() => new BrowserPool({ ...base, browsers: 1.5, tabs: 1 })).toThrow(RangeError);
  });
});

describe.skipIf(!hasChromium)(hasChromium ? 'BrowserPool (real Chromium)' : NO_CHROMIUM_MESSAGE, () => {
  let server: Awaited<ReturnType<typeof startServer>>;
  const pools: BrowserPool[] = [];
  const newPool = (o: { browsers: number; tabs: number; recycleAfter?: number }): BrowserPool => {
    const pool = new BrowserPool({
      executablePath: CHROMIUM_PATH,
      browsers: o.browsers,
      tabs: o.tabs,
      recycleAfter: o.recycleAfter ?? 0,
      userAgent: 'trawl-test',
    });
    pools.push(pool);
    return pool;
  };
  const render = (tab: Tab, url: string, signal = never) =>
    renderPage(tab, { url, timeoutMs: LONG, wait: { kind: 'load' }, allow: new Set(), signal });

  beforeAll(async () => {
    server = await startServer();
  });
  afterEach(async () => {
    await Promise.all(pools.splice(0).map((p) => p.close()));
  });
  afterAll(async () => {
    await server.close();
  });

  it('never has more than browsers × tabs pages open, spread over at most `browsers` processes', async () => {
    const pool = newPool({ browsers: 2, tabs: 2 });
    const tabs = await Promise.all([1, 2, 3, 4].map(() => pool.acquire('s', never)));
    const perBrowser = new Map<number, number>();
    for (const t of tabs) perBrowser.set(t.browserId, (perBrowser.get(t.browserId) ?? 0) + 1);
    expect([...perBrowser.values()].every((n) => n <= 2)).toBe(true);
    expect(pool.stats()).toMatchObject({ openTabs: 4, browsers: 2, launches: 2 });

    let releasedFirst = false;
    const fifth = pool.acquire('s', never);
    const release = tabs[0]!.release().then(() => {
      releasedFirst = true;
    });
    const t5 = await fifth;
    expect(releasedFirst).toBe(true); // the fifth page only after one of the four was closed
    await release;
    const open = new Set([...tabs.slice(1), t5].map((t) => t.context));
    let pages = 0;
    for (const c of open) pages += c.pages().length;
    expect(pages).toBe(4);
    await Promise.all([...tabs.slice(1), t5].map((t) => t.release()));
    expect(pool.stats().openTabs).toBe(0);
  });

  it('launches lazily: one browser while one has room', async () => {
    const pool = newPool({ browsers: 3, tabs: 2 });
    expect(pool.stats().browsers).toBe(0);
    const a = await pool.acquire('s', never);
    const b = await pool.acquire('s', never);
    expect(a.browserId).toBe(b.browserId);
    expect(pool.stats()).toMatchObject({ launches: 1, browsers: 1 });
    await Promise.all([a.release(), b.release()]);
  });

  it('one context per session on a browser: same key shares it, another key gets its own, dropContext closes it', async () => {
    const pool = newPool({ browsers: 1, tabs: 3 });
    const a1 = await pool.acquire('a', never);
    const a2 = await pool.acquire('a', never);
    const b1 = await pool.acquire('b', never);
    expect(a1.context).toBe(a2.context);
    expect(b1.context).not.toBe(a1.context);
    await a1.context.addCookies([{ name: 'k', value: 'v', domain: '127.0.0.1', path: '/' }]);
    expect(await b1.context.cookies()).toEqual([]);
    const userAgent = await a1.page.evaluate('navigator.userAgent');
    expect(userAgent).toBe('trawl-test');
    await Promise.all([a1.release(), a2.release(), b1.release()]);
    await pool.dropContext('a');
    const a3 = await pool.acquire('a', never);
    expect(a3.context).not.toBe(a1.context);
    expect(await a3.context.cookies()).toEqual([]);
    await a3.release();
  });

  it('reuses a released page for the next tab of the same session; release(true) closes it instead', async () => {
    const pool = newPool({ browsers: 1, tabs: 2 });
    const t1 = await pool.acquire('a', never);
    await render(t1, server.url);
    await t1.release();
    expect(t1.page.isClosed()).toBe(false);
    const t2 = await pool.acquire('a', never);
    expect(t2.page).toBe(t1.page);
    expect((await render(t2, server.url)).status).toBe(200);
    await t2.release(true);
    expect(t2.page.isClosed()).toBe(true);
    const t3 = await pool.acquire('a', never);
    expect(t3.page).not.toBe(t2.page);
    await t3.release();
  });

  it("an idle page's scripts are off (a poller stops) until its next acquire", async () => {
    const pool = newPool({ browsers: 1, tabs: 1 });
    const t1 = await pool.acquire('a', never);
    await render(t1, `${server.url}lifecycle`);
    await t1.release();
    // DevTools evaluation still works on an idle page; the page's own timers do not run. A
    // running 1 ms poller would move on in 100 ms by dozens.
    const n1 = (await t1.page.evaluate('n')) as number;
    await new Promise((r) => setTimeout(r, 100));
    expect(await t1.page.evaluate('n')).toBe(n1);
    const t2 = await pool.acquire('a', never);
    expect(t2.page).toBe(t1.page);
    let n2 = n1;
    while (n2 === n1) n2 = (await t2.page.evaluate('n')) as number; // scripts on again: it counts
    expect(n2).toBeGreaterThan(n1);
    await t2.release();
  });

  it('another session’s idle pages make room: a browser never holds more than `tabs` pages', async () => {
    const pool = newPool({ browsers: 1, tabs: 2 });
    const a1 = await pool.acquire('a', never);
    const a2 = await pool.acquire('a', never);
    await Promise.all([a1.release(), a2.release()]); // two idle pages of session a
    const b1 = await pool.acquire('b', never);
    const b2 = await pool.acquire('b', never);
    const pages = a1.context.pages().length + b1.context.pages().length;
    expect(pages).toBe(2);
    expect(a1.page.isClosed() && a2.page.isClosed()).toBe(true);
    await Promise.all([b1.release(), b2.release()]);
  });

  it('recycles a browser after recycleAfter pages: a new process serves the next page and the old one exits', async () => {
    const pool = newPool({ browsers: 1, tabs: 1, recycleAfter: 2 });
    const t1 = await pool.acquire('s', never);
    await render(t1, server.url);
    const firstPid = pool.pids().get(t1.browserId)!;
    expect(firstPid).toBeGreaterThan(0);
    await t1.release();
    const t2 = await pool.acquire('s', never);
    expect(t2.browserId).toBe(t1.browserId);
    await render(t2, server.url);
    await t2.release(); // its browser's last page: closed before release resolves
    expect(isAlive(firstPid)).toBe(false);
    const t3 = await pool.acquire('s', never);
    expect(t3.browserId).not.toBe(t1.browserId);
    const secondPid = pool.pids().get(t3.browserId)!;
    expect(secondPid).not.toBe(firstPid);
    expect((await render(t3, server.url)).status).toBe(200);
    await t3.release();
    expect(pool.stats()).toMatchObject({ launches: 2, recycles: 1, crashes: 0 });
  });

  it('a recycled browser finishes its open pages before it is closed', async () => {
    const pool = newPool({ browsers: 1, tabs: 2, recycleAfter: 2 });
    const t1 = await pool.acquire('s', never);
    const t2 = await pool.acquire('s', never); // the second page retires browser 1
    const oldPid = pool.pids().get(t1.browserId)!;
    await t1.release();
    expect(isAlive(oldPid)).toBe(true); // t2 still open on it
    const t3 = await pool.acquire('s', never); // goes to a fresh browser
    expect(t3.browserId).not.toBe(t1.browserId);
    expect((await render(t2, server.url)).status).toBe(200);
    await t2.release();
    expect(isAlive(oldPid)).toBe(false);
    await t3.release();
  });

  it('SIGKILL of the browser mid-render fails the render with RenderCrashError, and the next acquire launches a new one', async () => {
    const pool = newPool({ browsers: 1, tabs: 2 });
    const tab = await pool.acquire('s', never);
    const other = await pool.acquire('s', never);
    const hangsBefore = server.hanging();
    const pending = render(tab, `${server.url}hang`);
    const idle = render(other, `${server.url}hang`);
    pending.catch(() => {});
    idle.catch(() => {});
    await until(() => server.hanging() >= hangsBefore + 2, 'both navigations to reach the server');
    const pid = pool.pids().get(tab.browserId)!;
    process.kill(pid, 'SIGKILL');
    const err = await pending.then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(RenderCrashError);
    expect((err as RenderCrashError).retryable).toBe(true);
    await expect(idle).rejects.toBeInstanceOf(RenderCrashError);
    expect(tab.crashed.aborted).toBe(true);
    await Promise.all([tab.release(), other.release()]);
    expect(pool.stats()).toMatchObject({ crashes: 1, openTabs: 0 });

    const next = await pool.acquire('s', never);
    expect(next.browserId).not.toBe(tab.browserId);
    expect(pool.pids().get(next.browserId)).not.toBe(pid);
    expect((await render(next, server.url)).status).toBe(200);
    await next.release();
    expect(pool.stats()).toMatchObject({ launches: 2, crashes: 1 });
  });

  it('acquire honours its signal while waiting, and the slot is not lost', async () => {
    const pool = newPool({ browsers: 1, tabs: 1 });
    const held = await pool.acquire('s', never);
    const ctl = new AbortController();
    const waiting = pool.acquire('s', ctl.signal);
    const reason = new Error('stop waiting');
    ctl.abort(reason);
    await expect(waiting).rejects.toBe(reason);
    await held.release();
    const again = await pool.acquire('s', never);
    expect(pool.stats().openTabs).toBe(1);
    await again.release();
  });

  it('close() fails waiting acquires, closes the browsers, is idempotent, and later acquires reject', async () => {
    const pool = newPool({ browsers: 1, tabs: 1 });
    const held = await pool.acquire('s', never);
    const pid = pool.pids().get(held.browserId)!;
    const waiting = pool.acquire('s', never);
    const c1 = pool.close();
    const c2 = pool.close();
    expect(c2).toBe(c1);
    await expect(waiting).rejects.toThrow('browser pool closed');
    await c1;
    expect(isAlive(pid)).toBe(false);
    await held.release(); // after close: a no-op that does not throw
    await expect(pool.acquire('s', never)).rejects.toThrow('browser pool closed');
    expect(pool.stats().crashes).toBe(0);
  });
});
