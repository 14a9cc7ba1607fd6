import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CrawlAgent, createAgent } from '../../src/crawl/fetch/agent.js';
import { fetchPage } from '../../src/crawl/fetch/fetch-page.js';
import { listen, stopServer, trackSockets } from '../../src/testsite/listen.js';

// A loopback server that records every request (method, path, body, content-type) and redirects
// as the path says: /r/<status>/<target> answers <status> with Location /<target>.
interface Seen {
  method: string;
  path: string;
  body: string;
  contentType: string | null;
}
const seen: Seen[] = [];
let base = '';
let agent: CrawlAgent;
let server: http.Server;
let sockets: ReturnType<typeof trackSockets>;

beforeAll(async () => {
  agent = createAgent({ maxConnections: 4, connectTimeoutMs: 2000 });
  server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const path = req.url ?? '/';
      seen.push({
        method: req.method ?? '',
        path,
        body: Buffer.concat(chunks).toString(),
        contentType: req.headers['content-type'] ?? null,
      });
      if (path === '/prg' && req.method === 'POST') {
        res.writeHead(303, { location: '/prg' }); // post/redirect/get to the same URL
        res.end();
        return;
      }
      const m = /^\/r\/(\d{3})\/(.*)$/.exec(path);
      if (m) {
        res.writeHead(Number(m[1]), { location: `/${m[2]}` });
        res.end();
        return;
      }
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end(`${req.method} ${path}`);
    });
  });
  sockets = trackSockets(server);
  base = (await listen(server)).origin;
});

afterAll(async () => {
  await agent.destroy();
  await stopServer(server, sockets);
});

const form = { 'content-type': 'application/x-www-form-urlencoded' };

async function post(path: string): Promise<{ text: string; seen: Seen[] }> {
  seen.length = 0;
  const r = await fetchPage(`${base}${path}`, {
    dispatcher: agent,
    timeoutMs: 5000,
    maxBytes: 100_000,
    userAgent: 'trawl-test/1',
    method: 'POST',
    headers: form,
    body: 'q=lamp',
  });
  return { text: r.text ?? '', seen: [...seen] };
}

describe('fetchPage: methods, bodies and redirects (Fetch standard)', () => {
  it('sends the method, headers and body it is given', async () => {
    const { text, seen: s } = await post('/search');
    expect(text).toBe('POST /search');
    expect(s).toEqual([
      { method: 'POST', path: '/search', body: 'q=lamp', contentType: form['content-type'] },
    ]);
  });

  it('303 after a POST continues as a GET without the body or its content headers', async () => {
    const { text, seen: s } = await post('/r/303/results?q=lamp');
    expect(text).toBe('GET /results?q=lamp');
    expect(s[1]).toEqual({ method: 'GET', path: '/results?q=lamp', body: '', contentType: null });
  });

  it('301 and 302 after a POST become a GET; 307 and 308 repeat the POST with its body', async () => {
    for (const status of [301, 302]) {
      const { seen: s } = await post(`/r/${status}/done`);
      expect(s[1]!.method, String(status)).toBe('GET');
      expect(s[1]!.body).toBe('');
    }
    for (const status of [307, 308]) {
      const { text, seen: s } = await post(`/r/${status}/again`);
      expect(text, String(status)).toBe('POST /again');
      expect(s[1]).toEqual({
        method: 'POST',
        path: '/again',
        body: 'q=lamp',
        contentType: form['content-type'],
      });
    }
  });

  it('POST then a 303 to the same URL is not a redirect loop (post/redirect/get)', async () => {
    const { text, seen: s } = await post('/prg');
    expect(text).toBe('GET /prg');
    expect(s.map((x) => x.method)).toEqual(['POST', 'GET']);
  });

  it('refuses a body on a GET or HEAD before any request', async () => {
    seen.length = 0;
    const o = { dispatcher: agent, timeoutMs: 5000, maxBytes: 1000, userAgent: 'u', body: 'x' };
    await expect(fetchPage(`${base}/x`, o)).rejects.toThrow(RangeError);
    await expect(fetchPage(`${base}/x`, { ...o, method: 'HEAD' })).rejects.toThrow(RangeError);
    expect(seen).toEqual([]);
  });
});
