/**
 * Issue 10 §6: the dashboard answered `GET //` with `500 TypeError: Invalid URL`, before the
 * token check and even on a dashboard that requires a token. Every malformed request target must
 * get a 4xx, and only after the same host and token checks as any other request: a peer without
 * the token learns nothing but 401. Requests are written by hand over a socket, since an HTTP
 * client would normalize or refuse these targets.
 */
import { connect } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { CrawlMetrics } from '../../src/crawl/metrics/metrics.js';
import { type Dashboard, startDashboard } from '../../src/dashboard/server.js';

const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

async function start(opts: Omit<Parameters<typeof startDashboard>[0], 'metrics'> = {}): Promise<Dashboard> {
  const metrics = new CrawlMetrics();
  cleanup.push(() => metrics.close());
  const d = await startDashboard({ port: 0, host: '127.0.0.1', metrics, ...opts });
  cleanup.push(() => d.close());
  return d;
}

/**
 * Sends one raw HTTP/1.1 request (`GET <target>`, `Host: 127.0.0.1:<port>` and `Connection: close`
 * unless `headers` replaces them, plus `headers`) to
 * 127.0.0.1:`port` and resolves with the response's status code and body.
 */
function raw(
  port: number,
  target: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let data = '';
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => {
      data += chunk;
    });
    socket.on('error', reject);
    socket.on('end', () => {
      const m = /^HTTP\/1\.1 (\d{3}) /.exec(data);
      if (!m) return reject(new Error(`no status line in ${JSON.stringify(data.slice(0, 200))}`));
      resolve({ status: Number(m[1]), body: data.slice(data.indexOf('\r\n\r\n') + 4) });
    });
    const all = { Host: `127.0.0.1:${port}`, Connection: 'close', ...headers };
    const lines = [`GET ${target} HTTP/1.1`, ...Object.entries(all).map(([k, v]) => `${k}: ${v}`)];
    socket.end(`${lines.join('\r\n')}\r\n\r\n`);
  });
}

/** Targets Node's HTTP parser passes on that are not a path on the dashboard: 400 past the checks. */
const MALFORMED = ['//', '//evil.example/metrics', '/\\evil.example/metrics', '*', 'http://'];

/**
 * Targets Node's HTTP parser itself refuses (neither `/`, `*` nor a scheme first; a space): a bare
 * 400 before any handler runs, so before any check, and with nothing in it to learn.
 */
const UNPARSABLE = ['%zz', 'index.html', '/a b'];

async function expectParserRefusals(d: Dashboard): Promise<void> {
  for (const target of UNPARSABLE) {
    const r = await raw(d.port, target);
    expect(r.status, `GET ${target}`).toBe(400);
    expect(r.body).toBe('');
  }
}

describe('malformed request targets get a 4xx after the host and token checks', () => {
  it('a tokenless loopback dashboard answers 400, never 500', async () => {
    const d = await start();
    for (const target of MALFORMED) {
      const r = await raw(d.port, target);
      expect(r.status, `GET ${target}: ${r.body}`).toBe(400);
    }
    // The target "/%zz" is a well-formed path that does not exist.
    expect((await raw(d.port, '/%zz')).status).toBe(404);
    await expectParserRefusals(d);
  });

  it('the DNS-rebinding guard comes first: a foreign Host gets 403 whatever the target', async () => {
    const d = await start();
    for (const target of MALFORMED) {
      const r = await raw(d.port, target, { Host: 'evil.example' });
      expect(r.status, `GET ${target} with a foreign Host: ${r.body}`).toBe(403);
    }
  });

  it('an absolute-form target is served as its path, its authority standing for the Host header', async () => {
    const d = await start();
    expect((await raw(d.port, `http://127.0.0.1:${d.port}/api/snapshot`)).status).toBe(200);
    // RFC 9112 §3.2.2: the target's authority replaces the Host header, so the guard applies to it.
    expect((await raw(d.port, 'http://x')).status).toBe(403);
    expect((await raw(d.port, 'http://evil.example/metrics')).status).toBe(403);
  });

  it('with a token required, every malformed target without the token gets 401, with it 400', async () => {
    // Like a 0.0.0.0 dashboard (a token is always required off loopback), but bound to loopback.
    const d = await start({ requireToken: true, token: 'sesame' });
    for (const target of [...MALFORMED, 'http://x', '/?token=%zz']) {
      const r = await raw(d.port, target);
      expect(r.status, `GET ${target} without the token: ${r.body}`).toBe(401);
      expect(r.body).not.toMatch(/TypeError|Invalid URL/);
    }
    for (const target of MALFORMED) {
      const r = await raw(d.port, target, { Authorization: 'Bearer sesame' });
      expect(r.status, `GET ${target} with the token: ${r.body}`).toBe(400);
    }
    expect((await raw(d.port, '/?token=sesame')).status).toBe(200);
    await expectParserRefusals(d);
  });

  it('a token cookie with a malformed %-escape is no token (401), not a server error', async () => {
    const d = await start({ requireToken: true, token: 'sesame' });
    const r = await raw(d.port, '/', { Cookie: `trawl_token_${d.port}=%zz` });
    expect(r.status, r.body).toBe(401);
  });
});
