/**
 * The crawl's agent opens at most `--host-concurrency` sockets to one origin (context.ts), also
 * while a sitemap is fetched beside the host's pages: the sitemap request waits in the origin's
 * pool instead of opening another socket. Counted at the server, with slow responses so that
 * the sitemap fetches and the page fetches overlap.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { Crawl } from '../../src/crawl/crawler.js';
import type { PageRecord } from '../../src/crawl/record.js';

const PAGES = 12;
const SITEMAPS = 4;

let server: Server | null = null;
afterEach(async () => {
  await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
  server = null;
});

/** A site of PAGES pages listed by SITEMAPS slow sitemaps; counts the sockets open at once. */
async function startSite(): Promise<{ url: string; maxOpen: () => number }> {
  let open = 0;
  let max = 0;
  server = createServer((req, res) => {
    const path = req.url ?? '/';
    const origin = `http://${req.headers.host}`;
    const later = (f: () => void) => setTimeout(f, 30);
    if (path === '/robots.txt') return void res.writeHead(404).end();
    if (path === '/sitemap.xml') {
      const list = Array.from(
        { length: SITEMAPS },
        (_, i) => `<sitemap><loc>${origin}/s${i}.xml</loc></sitemap>`,
      );
      return void res
        .writeHead(200, { 'content-type': 'application/xml' })
        .end(`<sitemapindex>${list.join('')}</sitemapindex>`);
    }
    const s = /^\/s(\d+)\.xml$/.exec(path);
    if (s) {
      const urls: string[] = [];
      for (let p = Number(s[1]); p < PAGES; p += SITEMAPS)
        urls.push(`<url><loc>${origin}/p/${p}</loc></url>`);
      return later(() =>
        res.writeHead(200, { 'content-type': 'application/xml' }).end(`<urlset>${urls.join('')}</urlset>`),
      );
    }
    later(() => res.writeHead(200, { 'content-type': 'text/html' }).end(`<title>${path}</title>`));
  });
  server.on('connection', (socket) => {
    max = Math.max(max, ++open);
    socket.on('close', () => open--);
  });
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, maxOpen: () => max };
}

describe('sockets per origin', () => {
  it('stay within --host-concurrency while sitemaps and pages are fetched together', async () => {
    const site = await startSite();
    const records: PageRecord[] = [];
    const crawl = new Crawl({
      seeds: [`${site.url}/`],
      sitemaps: [`${site.url}/sitemap.xml`],
      allowPrivate: true,
      rate: Number.POSITIVE_INFINITY,
      hostConcurrency: 1,
      maxConnections: 20,
      parsers: 0,
      onRecord: (r) => records.push(r),
    });
    const summary = await crawl.done;
    expect(summary.stopReason).toBe('done');
    expect(records.map((r) => r.url).sort()).toEqual(
      [`${site.url}/`, ...Array.from({ length: PAGES }, (_, p) => `${site.url}/p/${p}`)].sort(),
    );
    expect(site.maxOpen()).toBe(1);
  });
});
