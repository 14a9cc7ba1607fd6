/**
 * The SSRF guard (src/crawl/fetch/ssrf.ts). No test here ever sends a packet to a non-loopback
 * address: names are resolved by an injected resolver, and non-loopback addresses (169.254.169.254
 * included) are only ever classified and refused before connect. The first describe block proves
 * the classifier on those addresses, which is the guard's only decision.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Crawl } from '../../src/crawl/crawler.js';
import { createAgent } from '../../src/crawl/fetch/agent.js';
import { FetchError } from '../../src/crawl/fetch/errors.js';
import { fetchPage } from '../../src/crawl/fetch/fetch-page.js';
import {
  type AddressClass,
  classifyAddress,
  SsrfError,
  SsrfPolicy,
  seedAddressClasses,
} from '../../src/crawl/fetch/ssrf.js';
import type { PageRecord } from '../../src/crawl/record.js';
import { tableResolver } from '../helpers/table-resolver.js';

describe('classifyAddress', () => {
  const cases: [string, AddressClass | null][] = [
    ['8.8.8.8', 'public'],
    ['93.184.216.34', 'public'],
    ['127.0.0.1', 'loopback'],
    ['127.255.255.254', 'loopback'],
    ['10.0.0.1', 'private'],
    ['10.255.255.255', 'private'],
    ['172.16.0.1', 'private'],
    ['172.31.255.255', 'private'],
    ['172.15.255.255', 'public'],
    ['172.32.0.0', 'public'],
    ['192.168.1.1', 'private'],
    ['192.169.0.1', 'public'],
    ['169.254.169.254', 'link-local'],
    ['169.254.0.1', 'link-local'],
    ['100.64.0.1', 'cgnat'],
    ['100.127.255.255', 'cgnat'],
    ['100.63.255.255', 'public'],
    ['100.128.0.0', 'public'],
    ['0.0.0.0', 'unspecified'],
    ['0.1.2.3', 'unspecified'],
    ['224.0.0.1', 'multicast'],
    ['239.255.255.250', 'multicast'],
    ['255.255.255.255', 'reserved'],
    ['::', 'unspecified'],
    ['::1', 'loopback'],
    ['0:0:0:0:0:0:0:1', 'loopback'],
    ['[::1]', 'loopback'],
    ['fe80::1', 'link-local'],
    ['fe80::1%eth0', 'link-local'],
    ['FEBF:ffff::1', 'link-local'],
    ['fc00::1', 'unique-local'],
    ['fd12:3456:789a::1', 'unique-local'],
    ['ff02::1', 'multicast'],
    ['::ffff:127.0.0.1', 'loopback'],
    ['::ffff:7f00:1', 'loopback'],
    ['::ffff:169.254.169.254', 'link-local'],
    ['::ffff:a9fe:a9fe', 'link-local'],
    ['::ffff:10.1.2.3', 'private'],
    ['::ffff:8.8.8.8', 'public'],
    ['0:0:0:0:0:ffff:c0a8:0101', 'private'],
    ['::10.0.0.1', 'private'],
    ['64:ff9b::169.254.169.254', 'link-local'],
    ['2002:a9fe:a9fe::1', 'link-local'],
    ['2002:0808:0808::1', 'public'],
    ['2606:4700:4700::1111', 'public'],
    ['2001:4860:4860::8888', 'public'],
    ['example.com', null],
    ['evil.test', null],
    ['1.2.3', null],
    ['256.1.1.1', null],
    ['::ffff:1.2.3.4.5', null],
    ['', null],
  ];
  it.each(cases)('%s is %s', (addr, want) => {
    expect(classifyAddress(addr)).toBe(want);
  });
});

describe('SsrfPolicy', () => {
  it('refuses a name if any of its addresses is non-public', async () => {
    const p = new SsrfPolicy({ resolve: tableResolver({ 'mixed.test': ['8.8.8.8', '10.0.0.5'] }) });
    const err = await p.check('mixed.test').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SsrfError);
    expect((err as SsrfError).message).toBe('mixed.test resolves to 10.0.0.5 (private)');
  });

  it('checks IP literals without resolving them', async () => {
    const calls: string[] = [];
    const p = new SsrfPolicy({ resolve: tableResolver({}, calls) });
    await expect(p.check('169.254.169.254')).rejects.toThrow('169.254.169.254 is link-local');
    await expect(p.check('[::ffff:169.254.169.254]')).rejects.toThrow(/link-local/);
    await expect(p.check('8.8.8.8')).resolves.toEqual([{ address: '8.8.8.8', family: 4 }]);
    expect(calls).toEqual([]);
  });

  it('allows exactly the classes the seeds are on, or all with allowPrivate', async () => {
    const r = tableResolver({ 'intranet.test': ['10.1.1.1'], 'pub.test': ['8.8.4.4'] });
    expect([...(await seedAddressClasses(['http://127.0.0.1:8080/'], r))]).toEqual(['loopback']);
    expect([...(await seedAddressClasses(['http://intranet.test/', 'http://pub.test/'], r))]).toEqual([
      'private',
    ]);
    expect((await seedAddressClasses(['http://pub.test/', 'http://nowhere.test/'], r)).size).toBe(0);
    expect([...(await seedAddressClasses(['http://[::1]/'], r))]).toEqual(['loopback']);

    const loopSeed = new SsrfPolicy({ seeds: ['http://127.0.0.1/'], resolve: r });
    await expect(loopSeed.check('127.0.0.1')).resolves.toHaveLength(1);
    await expect(loopSeed.check('169.254.169.254')).rejects.toThrow(/link-local/);
    await expect(loopSeed.check('intranet.test')).rejects.toThrow(/private/);
    const all = new SsrfPolicy({ allowPrivate: true, resolve: r });
    await expect(all.check('intranet.test')).resolves.toHaveLength(1);
    await expect(all.check('fd00::1')).resolves.toHaveLength(1);
  });
});

describe('the guarded agent', () => {
  let server: Server;
  let port = 0;
  let requests = 0;
  beforeAll(async () => {
    server = createServer((req, res) => {
      requests++;
      if (req.url === '/to-metadata') {
        res.writeHead(302, { location: 'http://metadata.test/latest/meta-data/' }).end();
      } else if (req.url === '/to-loopback-name') {
        res.writeHead(302, { location: `http://evil.test:${port}/landed` }).end();
      } else {
        res.writeHead(200, { 'content-type': 'text/html' }).end(`<title>${req.url}</title>`);
      }
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });

  // evil.test is a "public" name that resolves to loopback (DNS rebinding / a hostile record);
  // metadata.test resolves to the cloud metadata address, which must never be connected to.
  const table = { 'evil.test': ['127.0.0.1'], 'metadata.test': ['169.254.169.254'], 'pub.test': ['8.8.8.8'] };

  async function get(url: string, opts: { allowPrivate?: boolean; seeds?: string[] }) {
    const agent = createAgent({
      maxConnections: 2,
      connectTimeoutMs: 2000,
      ssrf: { ...opts, resolve: tableResolver(table) },
    });
    try {
      return await fetchPage(url, { dispatcher: agent, timeoutMs: 3000, maxBytes: 1e6, userAgent: 'test' });
    } finally {
      await agent.close();
    }
  }

  it('refuses a name resolving to loopback, before any byte is sent', async () => {
    const before = requests;
    const err = await get(`http://evil.test:${port}/x`, { seeds: ['http://pub.test/'] }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(FetchError);
    expect((err as FetchError).kind).toBe('ssrf');
    expect((err as FetchError).message).toBe('ssrf: evil.test resolves to 127.0.0.1 (loopback)');
    expect(requests).toBe(before);
  });

  it('connects when --allow-private is given, or when a seed is on loopback', async () => {
    const a = await get(`http://evil.test:${port}/ok`, { allowPrivate: true });
    expect(a.status).toBe(200);
    expect(a.text).toContain('/ok');
    const b = await get(`http://evil.test:${port}/ok2`, { seeds: [`http://127.0.0.1:${port}/`] });
    expect(b.status).toBe(200);
  });

  it('refuses a redirect hop into the metadata address even when loopback is allowed', async () => {
    const err = (await get(`http://127.0.0.1:${port}/to-metadata`, {
      seeds: [`http://127.0.0.1:${port}/`],
    }).catch((e: unknown) => e)) as FetchError;
    expect(err.kind).toBe('ssrf');
    expect(err.message).toBe('ssrf: metadata.test resolves to 169.254.169.254 (link-local)');
    expect(err.url).toBe('http://metadata.test/latest/meta-data/');
  });

  it('resolves once per connection: the address checked is the address connected to', async () => {
    // No separate "check" lookup before the connect one, so a DNS answer that changes between
    // two lookups (rebinding) has nothing to slip through.
    const calls: string[] = [];
    const agent = createAgent({
      maxConnections: 1,
      connectTimeoutMs: 2000,
      ssrf: { allowPrivate: true, resolve: tableResolver(table, calls) },
    });
    try {
      const res = await fetchPage(`http://evil.test:${port}/once`, {
        dispatcher: agent,
        timeoutMs: 3000,
        maxBytes: 1e6,
        userAgent: 'test',
      });
      expect(res.status).toBe(200);
    } finally {
      await agent.close();
    }
    expect(calls).toEqual(['evil.test']);
  });

  it('refuses IP-literal hosts of every non-public class without connecting', async () => {
    for (const url of [
      'http://169.254.169.254/latest/meta-data/',
      'http://10.0.0.1/',
      'http://192.168.0.1/',
      'http://100.64.0.1/',
      'http://0.0.0.0/',
      'http://[fe80::1]/',
      'http://[fd00::1]/',
      'http://[::ffff:169.254.169.254]/',
      `http://127.0.0.1:${port}/`,
    ]) {
      const err = (await get(url, { seeds: ['http://pub.test/'] }).catch((e: unknown) => e)) as FetchError;
      expect(err.kind, url).toBe('ssrf');
    }
  });

  it('lets a crawl record refused links and redirect hops as ssrf errors and go on', async () => {
    // Seeds on loopback allow loopback only: links to the metadata address, private and
    // link-local literals are refused at connect time; the crawl still stores the seed.
    const page = createServer((req, res) => {
      if (req.url === '/') {
        res.writeHead(200, { 'content-type': 'text/html' }).end(
          `<title>links</title>
           <a href="http://169.254.169.254/latest/meta-data/">m</a>
           <a href="http://10.0.0.1/admin">p</a>
           <a href="http://[fe80::1]/">l</a>
           <a href="http://[::ffff:192.168.0.1]/">mapped</a>
           <a href="/redirect">r</a>`,
        );
      } else if (req.url === '/redirect') {
        res.writeHead(302, { location: 'http://169.254.169.254/latest/' }).end();
      } else res.writeHead(404).end();
    });
    await new Promise<void>((r) => page.listen(0, '127.0.0.1', r));
    const p = (page.address() as AddressInfo).port;
    const records: PageRecord[] = [];
    try {
      await new Crawl({
        seeds: [`http://127.0.0.1:${p}/`],
        scope: 'any',
        ignoreRobots: true,
        rate: Number.POSITIVE_INFINITY,
        parsers: 0,
        onRecord: (r) => records.push(r),
      }).done;
    } finally {
      page.closeAllConnections();
      await new Promise((r) => page.close(r));
    }
    const byUrl = new Map(records.map((r) => [r.url, r.error]));
    expect(byUrl.get(`http://127.0.0.1:${p}/`)).toBeNull();
    expect(byUrl.get('http://169.254.169.254/latest/meta-data/')).toBe('ssrf: 169.254.169.254 is link-local');
    expect(byUrl.get('http://10.0.0.1/admin')).toBe('ssrf: 10.0.0.1 is private');
    expect(byUrl.get('http://[fe80::1]/')).toBe('ssrf: fe80::1 is link-local');
    expect(byUrl.get('http://[::ffff:c0a8:1]/')).toBe('ssrf: ::ffff:c0a8:1 is private');
    expect(byUrl.get(`http://127.0.0.1:${p}/redirect`)).toBe('ssrf: 169.254.169.254 is link-local');
    expect(records).toHaveLength(6);
  });
});
