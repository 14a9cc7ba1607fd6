// Whole crawls with sessions, cookies, headers and proxies (issue 12), against real parts: a
// loopback site that checks every connection came from the proxy process, Debian's tinyproxy
// (HTTP CONNECT) and microsocks (SOCKS5), a real SQLite state file.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SqliteFrontier } from '../../src/crawl/state/sqlite-frontier.js';
import { openState } from '../../src/crawl/state/state-db.js';
import { startCrawl } from '../helpers/crawl.js';
import { startMicrosocks, startTinyproxy, type TestProxy } from '../helpers/proxies.js';
import { useScratch } from '../helpers/scratch.js';

/** One request as the site saw it. */
interface Seen {
  path: string;
  /** Which proxy's process held the connection's other end; 'direct' for none of them. */
  via: string;
  cookie: string | undefined;
  headers: Record<string, string | string[] | undefined>;
}

/**
 * A 20-page site: `/` links to /p/1..19, each page links to its neighbours. Every response sets
 * the cookie `seen=<n>` (n = the path's number); `/members/*` answers 403 unless the request
 * carries `member=yes`. `proxies` are asked, per request, which one owns the connection.
 */
async function startSite(proxies: () => TestProxy[]): Promise<{ url: string; seen: Seen[]; server: Server }> {
  const seen: Seen[] = [];
  const server = createServer((req, res) => {
    const path = req.url ?? '/';
    const port = req.socket.remotePort ?? 0;
    const owner = proxies().find((p) => p.ownsSocket(port));
    seen.push({ path, via: owner?.display ?? 'direct', cookie: req.headers.cookie, headers: req.headers });
    if (path === '/robots.txt') {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('User-agent: *\nAllow: /\n');
      return;
    }
    if (path.startsWith('/members/') && !/(^|; )member=yes(;|$)/.test(req.headers.cookie ?? '')) {
      res.writeHead(403, { 'content-type': 'text/html' }).end('<title>no</title>');
      return;
    }
    const n = path === '/' ? 0 : Number(path.split('/').pop());
    const links = [n - 1, n + 1].filter((k) => k >= 1 && k < 20).map((k) => `<a href="/p/${k}">${k}</a>`);
    const cookies = [`seen=${n}; Path=/`, ...((res.getHeader('set-cookie') as string[] | undefined) ?? [])];
    res
      .writeHead(200, { 'content-type': 'text/html', 'set-cookie': cookies })
      .end(
        `<title>page ${n}</title>${n === 0 ? '<a href="/p/1">1</a><a href="/members/1">m</a>' : links.join('')}`,
      );
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/`, seen, server };
}

const servers: Server[] = [];
const proxies: TestProxy[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
  await Promise.all(proxies.splice(0).map((p) => p.stop()));
});

async function site() {
  const s = await startSite(() => proxies);
  servers.push(s.server);
  return s;
}

async function proxy(kind: 'tinyproxy' | 'microsocks', auth?: { user: string; pass: string }) {
  const p =
    kind === 'tinyproxy'
      ? await startTinyproxy(auth ? { auth } : {})
      : await startMicrosocks(auth ? { auth } : {});
  proxies.push(p);
  return p;
}

const scratch = useScratch('identity-crawl');

describe('crawling through proxies', () => {
  it('sends every request, robots.txt included, through an authenticated tinyproxy', async () => {
    const p = await proxy('tinyproxy', { user: 'u', pass: 'pw-secret' });
    const s = await site();
    const { crawl, records } = startCrawl({ seeds: [s.url], proxies: [p.url], allowPrivate: true });
    const summary = await crawl.done;
    expect(records.filter((r) => r.status === 200)).toHaveLength(20);
    expect(s.seen.map((r) => r.path)).toContain('/robots.txt');
    expect(s.seen.filter((r) => r.via !== p.display)).toEqual([]);
    expect((await p.waitRequests(1)).length).toBeGreaterThan(0);
    expect(JSON.stringify({ records, summary })).not.toContain('pw-secret');
  });

  it('tunnels through microsocks (SOCKS5 with a password)', async () => {
    const p = await proxy('microsocks', { user: 'u', pass: 'pw-secret' });
    const s = await site();
    const { crawl, records } = startCrawl({ seeds: [s.url], proxies: [p.url], allowPrivate: true });
    await crawl.done;
    expect(records.filter((r) => r.status === 200)).toHaveLength(20);
    expect(s.seen.filter((r) => r.via !== p.display)).toEqual([]);
  });

  it('spreads requests over two proxies, and moves a dead one’s share to the other', async () => {
    const a = await proxy('tinyproxy');
    const b = await proxy('tinyproxy');
    const s = await site();
    const first = startCrawl({
      seeds: [s.url],
      proxies: [a.url, b.url],
      allowPrivate: true,
      maxConnections: 4,
    });
    await first.crawl.done;
    expect(first.records.filter((r) => r.status === 200)).toHaveLength(20);
    expect(new Set(s.seen.map((r) => r.via))).toEqual(new Set([a.display, b.display]));

    await a.kill(); // its port now refuses: every request must go through b, none direct
    s.seen.length = 0;
    const second = startCrawl({ seeds: [s.url], proxies: [a.url, b.url], allowPrivate: true });
    await second.crawl.done;
    expect(second.records.filter((r) => r.status === 200)).toHaveLength(20);
    // A dead proxy costs no attempt (the 403 members page is retried on fresh sessions: not counted here).
    expect(second.records.filter((r) => r.status === 200).every((r) => r.attempts === 1)).toBe(true);
    expect(s.seen.filter((r) => r.via !== b.display)).toEqual([]);
  });
});

describe('a proxy killed during the crawl', () => {
  it('has its share moved to the other proxy, and every page is still stored once', async () => {
    const a = await proxy('tinyproxy');
    const b = await proxy('tinyproxy');
    const s = await site();
    let killed = false;
    let killedAt = -1;
    s.server.prependListener('request', () => {
      // After 8 requests (robots.txt included), SIGKILL proxy a: its tunnels die, its port refuses.
      if (!killed && s.seen.length >= 8) {
        killed = true;
        killedAt = s.seen.length;
        void a.kill();
      }
    });
    const { crawl, records } = startCrawl({
      seeds: [s.url],
      proxies: [a.url, b.url],
      allowPrivate: true,
      maxConnections: 2,
      retries: 3,
    });
    await crawl.done;
    const ok = records.filter((r) => r.status === 200);
    expect(ok).toHaveLength(20);
    expect(new Set(ok.map((r) => r.url)).size).toBe(20);
    expect(killed).toBe(true);
    const before = s.seen.slice(0, killedAt);
    const after = s.seen.slice(killedAt + 2); // the kill lands while up to 2 requests are in flight
    expect(before.some((r) => r.via === a.display)).toBe(true);
    expect(after.length).toBeGreaterThan(0);
    expect(after.filter((r) => r.via !== b.display)).toEqual([]);
  });
});

describe('sticky proxy rotation', () => {
  it('--proxy-rotation session keeps each session on one proxy', async () => {
    const a = await proxy('tinyproxy');
    const b = await proxy('tinyproxy');
    const s = await site();
    // The site names each client by a cookie it sets on the first response without one.
    let next = 0;
    const pairs: [string, string][] = [];
    s.server.prependListener('request', (req, res) => {
      const m = /(?:^|; )who=(\w+)/.exec(req.headers.cookie ?? '');
      const who = m?.[1] ?? `c${next++}`;
      if (!m) res.setHeader('set-cookie', [`who=${who}; Path=/`]);
      const port = req.socket.remotePort ?? 0;
      const via = [a, b].find((p) => p.ownsSocket(port))?.display ?? 'direct';
      if (m) pairs.push([who, via]);
    });
    const { crawl, records } = startCrawl({
      seeds: [s.url],
      proxies: [a.url, b.url],
      proxyRotation: 'session',
      sessions: 2,
      allowPrivate: true,
      maxConnections: 1,
      workers: 1,
    });
    await crawl.done;
    expect(records.filter((r) => r.status === 200)).toHaveLength(20);
    const byWho = new Map<string, Set<string>>();
    for (const [who, via] of pairs) byWho.set(who, (byWho.get(who) ?? new Set()).add(via));
    // Two sessions, plus the replacements of those retired by the 403 of /members/1 (a
    // replacement keeps its slot, so its proxy).
    expect(byWho.size).toBeGreaterThanOrEqual(2);
    expect([...byWho.values()].every((v) => v.size === 1)).toBe(true); // each on one proxy
    expect(new Set([...byWho.values()].map((v) => [...v][0]))).toEqual(new Set([a.display, b.display]));
  });
});

describe('the proxy environment', () => {
  it('uses HTTP_PROXY for http targets, and NO_PROXY exempts a host', async () => {
    const p = await proxy('tinyproxy');
    const s = await site();
    const keys = ['HTTP_PROXY', 'http_proxy', 'NO_PROXY', 'no_proxy'];
    const saved = Object.fromEntries(keys.map((k) => [k, process.env[k]]));
    try {
      for (const k of keys) delete process.env[k];
      process.env.HTTP_PROXY = p.url;
      const through = startCrawl({ seeds: [s.url], allowPrivate: true });
      await through.crawl.done;
      expect(through.records.filter((r) => r.status === 200)).toHaveLength(20);
      expect(s.seen.filter((r) => r.via !== p.display)).toEqual([]);

      s.seen.length = 0;
      process.env.NO_PROXY = '127.0.0.1';
      const direct = startCrawl({ seeds: [s.url], allowPrivate: true });
      await direct.crawl.done;
      expect(direct.records.filter((r) => r.status === 200)).toHaveLength(20);
      expect(s.seen.filter((r) => r.via !== 'direct')).toEqual([]);
    } finally {
      for (const [k, v] of Object.entries(saved)) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    }
  });
});

describe('a target that is down behind a working proxy', () => {
  it('is that page’s failure after its retries, and does not put the proxy on backoff', async () => {
    const p = await proxy('tinyproxy');
    const s = await site();
    // A port nothing listens on: tinyproxy answers the CONNECT with 500 (the target's fault).
    const dead = createServer();
    await new Promise<void>((r) => dead.listen(0, '127.0.0.1', r));
    const { port } = dead.address() as AddressInfo;
    await new Promise((r) => dead.close(r));
    const { crawl, records } = startCrawl({
      seeds: [`http://127.0.0.1:${port}/x`, s.url],
      proxies: [p.url],
      allowPrivate: true,
      retries: 1,
    });
    await crawl.done;
    const failed = records.find((r) => r.url.includes(`:${port}/`));
    expect(failed?.error).toMatch(/^proxy: http:\/\/127\.0\.0\.1:\d+: /);
    expect(failed?.attempts).toBe(2);
    expect(records.filter((r) => r.status === 200)).toHaveLength(20); // the proxy stayed in use
  });
});

describe('sessions and cookies', () => {
  it('carries the cookies each response set, sends --header, and none without cookies', async () => {
    const s = await site();
    const { crawl } = startCrawl({
      seeds: [s.url],
      headers: { 'X-Team': 'trawl' },
      maxConnections: 1,
      workers: 1,
    });
    await crawl.done;
    const pages = s.seen.filter((r) => r.path.startsWith('/p/'));
    expect(pages.length).toBe(19);
    // With one connection, requests go in order: each after a response that set `seen`.
    expect(pages.every((r) => /^seen=\d+$/.test(r.cookie ?? ''))).toBe(true);
    // --header goes with every page request (robots.txt is the crawler's own, with its own headers).
    const all = s.seen.filter((r) => r.path !== '/robots.txt');
    expect(all.every((r) => r.headers['x-team'] === 'trawl')).toBe(true);
    expect(all.every((r) => r.headers['accept-language'] !== undefined)).toBe(true);

    s.seen.length = 0;
    const off = startCrawl({ seeds: [s.url], cookies: false });
    await off.crawl.done;
    expect(s.seen.every((r) => r.cookie === undefined)).toBe(true);
  });

  it('imports --cookies into every session, and keeps the jar in the state file for the resume', async () => {
    const s = await site();
    const cookieFile = join(scratch.dir(), 'cookies.txt');
    const { writeFileSync } = await import('node:fs');
    writeFileSync(cookieFile, '# Netscape HTTP Cookie File\n127.0.0.1\tFALSE\t/\tFALSE\t0\tmember\tyes\n');
    const state = join(scratch.dir(), 'state.db');
    const { crawl, records } = startCrawl({ seeds: [s.url], cookieFile, state, sessions: 2 });
    await crawl.done;
    const member = records.find((r) => r.url.endsWith('/members/1'));
    expect(member?.status).toBe(200);
    const frontier = new SqliteFrontier(openState(state));
    try {
      const saved = await frontier.loadSessions();
      expect(saved.filter((x) => !x.retired)).toHaveLength(2);
      expect(saved.every((x) => x.retired || (x.cookies ?? '').includes('member'))).toBe(true);
    } finally {
      frontier.close();
    }
  });

  it('retires a blocked session and fetches the page again on a fresh one', async () => {
    const s = await site();
    const { crawl, records } = startCrawl({ seeds: [`${s.url}members/1`], sessions: 2, retries: 0 });
    await crawl.done;
    // No session can get in (no member cookie): the page is retried on fresh sessions, a bounded
    // number of times, and its 403 stands.
    expect(records).toHaveLength(1);
    expect(records[0]!.status).toBe(403);
    const tries = s.seen.filter((r) => r.path === '/members/1').length;
    expect(tries).toBe(4); // the first request, then one retry per live session plus one
  });
});
