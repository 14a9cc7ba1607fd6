import { Parser } from 'htmlparser2';
import { Agent, request } from 'undici';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { parseRobots } from '../../src/crawl/robots/robots.js';
import { type MultiHostSite, startMultiHostSite } from '../../src/testsite/multi-host.js';
import { buildMultiHostGraph, hostAddress } from '../../src/testsite/multi-host-graph.js';
import { SITES } from '../../src/testsite/sites.js';
import { cleanup, spawnCli } from '../helpers/cli.js';
import { refused } from '../helpers/net.js';

const agent = new Agent({ connections: 8, keepAliveTimeout: 1000 });
afterAll(() => agent.close());

async function get(url: string, signal?: AbortSignal) {
  const r = await request(url, { dispatcher: agent, signal });
  return { status: r.statusCode, body: await r.body.text() };
}

function hrefsIn(html: string): string[] {
  const hrefs: string[] = [];
  const p = new Parser({
    onopentag(name, attrs) {
      if (name === 'a' && attrs.href !== undefined) hrefs.push(attrs.href);
    },
  });
  p.write(html);
  p.end();
  return hrefs;
}

describe('multi-host site: addresses', () => {
  it('numbers hosts 127.0.0.2 upward, skipping .0 and .255 in the last octet', () => {
    expect(hostAddress(0)).toBe('127.0.0.2');
    expect(hostAddress(252)).toBe('127.0.0.254');
    expect(hostAddress(253)).toBe('127.0.1.1');
    expect(hostAddress(999)).toBe('127.0.3.239');
    const all = new Set(Array.from({ length: 5000 }, (_, h) => hostAddress(h)));
    expect(all.size).toBe(5000);
    for (const a of all) expect(a).toMatch(/^127\.\d+\.\d+\.(?:[1-9]|[1-9]\d|1\d\d|2[0-4]\d|25[0-4])$/);
    expect(all.has('127.0.0.1')).toBe(false);
    expect(() => hostAddress(-1)).toThrow(RangeError);
  });
});

describe('multi-host site: each host is its own server', () => {
  let s: MultiHostSite;
  afterAll(() => s?.close());

  it('answers on each address, one shared port, with that host’s own robots.txt and sitemap', async () => {
    s = await startMultiHostSite({
      hosts: 5,
      pagesPerHost: 7,
      robots: (h) => (h === 3 ? { body: 'User-agent: *\nDisallow: /p/\n' } : {}),
    });
    expect(s.url).toBe(`http://127.0.0.2:${s.port}/`);
    for (let h = 0; h < 5; h++) {
      const origin = s.originOf(h);
      expect(origin).toBe(`http://${hostAddress(h)}:${s.port}`);
      const robots = await get(`${origin}/robots.txt`);
      expect(robots.status).toBe(200);
      const parsed = parseRobots(`${origin}/robots.txt`, robots.body);
      expect(parsed.sitemaps()).toEqual(h === 3 ? [] : [`${origin}/sitemap.xml`]);
      expect(parsed.isAllowed('/p/1', 'trawl')).toBe(h !== 3);
      if (h !== 3) expect(robots.body).toContain(`host ${h}\n`);
      const sitemap = await get(`${origin}/sitemap.xml`);
      const locs = [...sitemap.body.matchAll(/<loc>([^<]+)<\/loc>/g)].map((m) => m[1]);
      expect(locs).toEqual(Array.from({ length: 7 }, (_, id) => s.pageUrl(h, id)));
      const home = await get(`${origin}/`);
      expect(home.body).toContain(`<title>Host ${h} page 0</title>`);
      expect((await get(`${origin}/p/7`)).status).toBe(404);
      expect(s.hosts[h]!.counts).toEqual(
        new Map([
          ['/robots.txt', 1],
          ['/sitemap.xml', 1],
          ['/', 1],
          ['/p/7', 1],
        ]),
      );
    }
    // Each address is bound explicitly (no wildcard): the next address, unused, refuses.
    expect(await refused(hostAddress(5), s.port)).toBe(true);
  });
});

describe('multi-host site: links', () => {
  it('a crawl from host 0 reaches every page of every host once, and links are what the graph says', async () => {
    const s = await startMultiHostSite({
      hosts: 6,
      pagesPerHost: 15,
      linksPerPage: 6,
      crossHostLinks: 0.3,
      seed: 3,
    });
    try {
      const seen = new Set<string>([s.url]);
      let frontier = [s.url];
      let crossHost = 0;
      while (frontier.length > 0) {
        const next: string[] = [];
        for (const u of frontier) {
          const r = await get(u);
          expect(r.status).toBe(200);
          const from = new URL(u);
          const host = s.hosts.findIndex((h) => h.origin === from.origin);
          const id = s.graph.idOfPath(from.pathname)!;
          const links = hrefsIn(r.body).map((h) => new URL(h, u).href);
          expect([...new Set(links)]).toEqual(s.graph.linksOf(host, id).map((t) => s.pageUrl(t.host, t.id)));
          for (const l of links) {
            if (new URL(l).origin !== from.origin) crossHost++;
            if (!seen.has(l)) {
              seen.add(l);
              next.push(l);
            }
          }
        }
        frontier = next;
      }
      expect(crossHost).toBeGreaterThan(0);
      expect([...seen].sort()).toEqual(s.pageUrls().sort());
      expect(s.total()).toBe(6 * 15);
      for (const h of s.hosts) {
        expect(h.total).toBe(15);
        expect([...h.counts.values()].every((n) => n === 1)).toBe(true);
        expect(h.requestTimes).toHaveLength(15);
      }
      // The pure graph agrees: BFS from host 0's home reaches every page.
      for (let h = 0; h < 6; h++)
        for (let id = 0; id < 15; id++) expect(s.graph.depthOf(h, id)).toBeGreaterThanOrEqual(0);
    } finally {
      await s.close();
    }
  });

  it('random links cross hosts at the requested fraction, always to another existing host', () => {
    const g = buildMultiHostGraph({
      hosts: 8,
      pagesPerHost: 30,
      linksPerPage: 10,
      crossHostLinks: 0.3,
      seed: 5,
    });
    let randomSlots = 0;
    let cross = 0;
    for (let h = 0; h < 8; h++) {
      for (let id = 1; id < 30; id++) {
        const hrefs = g.hrefsOf(h, id, 1234);
        const first = g.branching * id + 1;
        const treeLinks = Math.max(0, Math.min(30, first + g.branching) - first);
        randomSlots += hrefs.length - treeLinks;
        for (const href of hrefs) {
          if (!href.startsWith('http://')) continue;
          const u = new URL(href);
          if (u.hostname === g.addressOf(h)) continue;
          cross++;
          expect(u.port).toBe('1234');
          const other = Array.from({ length: 8 }, (_, k) => g.addressOf(k)).indexOf(u.hostname);
          expect(other).toBeGreaterThanOrEqual(0);
          expect(g.idOfPath(u.pathname)).toBeDefined();
        }
      }
    }
    expect(cross / randomSlots).toBeGreaterThan(0.25);
    expect(cross / randomSlots).toBeLessThan(0.35);

    // With no random cross links only the home pages' host tree crosses: host h → b·h+1 … b·h+b.
    const t = buildMultiHostGraph({ hosts: 8, pagesPerHost: 30, linksPerPage: 10, crossHostLinks: 0 });
    for (let h = 0; h < 8; h++) {
      for (let id = 0; id < 30; id++) {
        const others = t.linksOf(h, id).filter((l) => l.host !== h);
        const want =
          id === 0
            ? Array.from({ length: 8 }, (_, k) => k).filter(
                (k) => k > t.branching * h && k <= t.branching * (h + 1),
              )
            : [];
        expect(others.map((l) => l.host)).toEqual(want);
        expect(others.every((l) => l.id === 0)).toBe(true);
      }
    }
  });

  it('the same options give byte-identical pages', () => {
    const a = buildMultiHostGraph({ hosts: 3, pagesPerHost: 10, pageBytes: 5000, seed: 9 });
    const b = buildMultiHostGraph({ hosts: 3, pagesPerHost: 10, pageBytes: 5000, seed: 9 });
    expect(a.render(2, 7, 80).equals(b.render(2, 7, 80))).toBe(true);
    expect(Math.abs(a.render(2, 7, 80).length - 5000)).toBeLessThan(50);
  });
});

describe('multi-host site: per-host accounting', () => {
  it('counts concurrency, connections and receive times per host, and reset() clears them', async () => {
    const s = await startMultiHostSite({ hosts: 3, pagesPerHost: 5, latencyMs: 60_000 });
    const ac = new AbortController();
    try {
      const held = [
        get(s.pageUrl(1, 1), ac.signal),
        get(s.pageUrl(1, 2), ac.signal),
        get(s.pageUrl(1, 2), ac.signal),
        get(s.pageUrl(2, 0), ac.signal),
      ].map((p) => p.catch(() => undefined));
      await s.until((x) => x.hosts[1]!.inFlight === 3 && x.hosts[2]!.inFlight === 1);
      expect(s.hosts.map((h) => h.maxConcurrent)).toEqual([0, 3, 1]);
      expect(s.hosts.map((h) => h.maxConnections)).toEqual([0, 3, 1]);
      expect(s.maxConcurrent).toBe(4);
      expect(s.hosts[1]!.counts).toEqual(
        new Map([
          ['/p/1', 1],
          ['/p/2', 2],
        ]),
      );
      expect(s.hosts.map((h) => h.requestTimes.length)).toEqual([0, 3, 1]);
      ac.abort();
      await Promise.all(held);
      await s.until((x) => x.hosts.every((h) => h.inFlight === 0));
      s.reset();
      expect(s.total()).toBe(0);
      expect(s.hosts.map((h) => [h.total, h.counts.size, h.requestTimes.length, h.maxConcurrent])).toEqual([
        [0, 0, 0, 0],
        [0, 0, 0, 0],
        [0, 0, 0, 0],
      ]);
    } finally {
      await s.close();
    }
  });
});

describe('multi-host site: scale', () => {
  it('starts 1,000 hosts × 20 pages in one process, serves the first and last, and closes cleanly', async () => {
    // A bounded guard against hanging, not a speed assertion. Needs ~1,000 file descriptors.
    const s = await startMultiHostSite({ hosts: 1000, pagesPerHost: 20 });
    try {
      expect(s.hosts).toHaveLength(1000);
      expect(s.graph.totalPages).toBe(20_000);
      expect((await get(s.pageUrl(0, 0))).status).toBe(200);
      const last = await get(s.pageUrl(999, 19));
      expect(last.body).toContain('<title>Host 999 page 19</title>');
      expect(s.hosts[999]!.address).toBe('127.0.3.239');
      expect(s.hosts[999]!.counts.get('/p/19')).toBe(1);
      expect(s.graph.maxDepth()).toBeLessThan(20);
    } finally {
      await s.close();
    }
    expect(await refused(hostAddress(999), s.port)).toBe(true);
  }, 120_000);
});

describe('multi-host site: serve-demo --hosts', () => {
  afterEach(cleanup);

  it('the demo registry entry spreads the site over the hosts, --pages per host', async () => {
    const s = await SITES.demo!({ host: '127.0.0.1', port: 0, pages: 4, latencyMs: 0, hosts: 3 });
    try {
      expect(s.url).toMatch(/^http:\/\/127\.0\.0\.2:\d+\/$/);
      expect(s.describe()).toContain('3 hosts');
      const port = new URL(s.url).port;
      expect((await get(`http://127.0.0.4:${port}/p/3`)).body).toContain('<title>Host 2 page 3</title>');
      expect((await get(`http://127.0.0.4:${port}/p/4`)).status).toBe(404);
    } finally {
      await s.close();
    }
  });

  it('serves N hosts from the CLI until SIGINT', async () => {
    const cli = spawnCli(['serve-demo', '--hosts', '3', '--pages', '5', '--port', '0']);
    const url = await new Promise<string>((resolve, reject) => {
      let out = '';
      cli.child.stdout!.on('data', (b: Buffer) => {
        out += b.toString();
        const m = /serving the demo site at (http:\/\/127\.0\.0\.2:\d+\/)/.exec(out);
        if (m !== null) resolve(m[1]!);
      });
      void cli.exited.then((r) => reject(new Error(`exited early: ${r.stderr}`)));
    });
    const port = new URL(url).port;
    const robots = await get(`http://127.0.0.4:${port}/robots.txt`);
    expect(robots.body).toContain(`Sitemap: http://127.0.0.4:${port}/sitemap.xml`);
    cli.kill('SIGINT');
    expect((await cli.exited).code).toBe(0);
  });
});
