// Issue 12's rule, end to end: cookie values, Authorization headers and proxy credentials never
// appear in records, logs, the progress line, the dashboard, /metrics, status, export or error
// messages. The real CLI crawls a loopback site through an authenticated tinyproxy, with a dead
// proxy and one given the wrong password beside it, a bearer token, an imported cookies.txt and
// a site that sets its own cookie; every secret is random per run, and the site checks that each
// one was really sent (so their absence elsewhere is not an accident of not being used).
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runShell } from '../../src/cli/commands/shell.js';
import { parseProxyUrl } from '../../src/crawl/fetch/proxy-url.js';
import { UsageError } from '../../src/crawl/usage-error.js';
import { stateDashboardSource } from '../../src/dashboard/state-source.js';
import { cleanup, readJsonl, runCli, spawnCli, tempDir, until } from '../helpers/cli.js';
import { startTinyproxy, type TestProxy } from '../helpers/proxies.js';

const secret = (tag: string) => `${tag}${randomBytes(12).toString('hex')}`;

/** One request as the site saw it. */
interface Seen {
  path: string;
  authorization: string | undefined;
  cookie: string | undefined;
  /** Every header line as sent, for proving no proxy credential reached the site. */
  raw: string;
}

/**
 * The crawled site. `/` links to /p/1..4, /redirect (a 302 setting a cookie), /blocked (403 the
 * first time: the session is retired), /fail (a 500 setting a cookie) and /hold, which is
 * answered only when `release()` is called, so the crawl is still running while the test reads
 * the dashboard. Every page sets the cookie `sid=<cookie>`.
 */
async function startSite(cookie: string) {
  const seen: Seen[] = [];
  let release!: () => void;
  const held = new Promise<void>((r) => {
    release = r;
  });
  let blocked = 0;
  const page = (title: string, links: string[]) =>
    `<html><head><title>${title}</title></head><body>${links.map((l) => `<a href="${l}">${l}</a>`).join(' ')}</body></html>`;
  const server: Server = createServer((req, res) => {
    const path = req.url ?? '/';
    seen.push({
      path,
      authorization: req.headers.authorization,
      cookie: req.headers.cookie,
      raw: req.rawHeaders.join('\n'),
    });
    const setCookie = `sid=${cookie}; Path=/; HttpOnly`;
    if (path === '/robots.txt') {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('User-agent: *\nAllow: /\n');
    } else if (path === '/') {
      const links = ['/p/1', '/p/2', '/p/3', '/p/4', '/redirect', '/blocked', '/fail', '/hold'];
      res.writeHead(200, { 'content-type': 'text/html', 'set-cookie': setCookie }).end(page('home', links));
    } else if (path === '/redirect') {
      res.writeHead(302, { location: '/p/4', 'set-cookie': `moved=${cookie}; Path=/` }).end();
    } else if (path === '/blocked') {
      blocked++;
      res
        .writeHead(blocked === 1 ? 403 : 200, { 'content-type': 'text/html', 'set-cookie': setCookie })
        .end(page('blocked', []));
    } else if (path === '/fail') {
      res.writeHead(500, { 'content-type': 'text/html', 'set-cookie': setCookie }).end(page('fail', []));
    } else if (path === '/hold') {
      void held.then(() =>
        res.writeHead(200, { 'content-type': 'text/html', 'set-cookie': setCookie }).end(page('held', [])),
      );
    } else {
      res.writeHead(200, { 'content-type': 'text/html', 'set-cookie': setCookie }).end(page(path, ['/']));
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/`, seen, server, release };
}

const servers: Server[] = [];
const proxies: TestProxy[] = [];
afterEach(async () => {
  await cleanup();
  await Promise.all(
    servers.splice(0).map(
      (s) =>
        new Promise((r) => {
          s.close(r);
          s.closeAllConnections(); // a /hold left unanswered by a failed test
        }),
    ),
  );
  await Promise.all(proxies.splice(0).map((p) => p.stop()));
});

/** The secrets of a run that occur in `text`, by name (an empty object: none). */
function leaks(secrets: Record<string, string>, text: string): Record<string, string> {
  return Object.fromEntries(Object.entries(secrets).filter(([, s]) => text.includes(s)));
}

describe('secrets stay secret (issue 12)', () => {
  it('a crawl with a bearer token, imported and site cookies and authenticated proxies shows none of them anywhere', async () => {
    const dir = tempDir('trawl-secrets-');
    const token = secret('tok');
    const imported = secret('imp');
    const siteCookie = secret('site');
    const good = { user: secret('ua'), pass: secret('pa') };
    const dead = { user: secret('ub'), pass: secret('pb') };
    const wrong = { user: secret('uc'), pass: secret('pc') };
    const wrongGiven = secret('pcwrong');
    const a = await startTinyproxy({ auth: good });
    const b = await startTinyproxy({ auth: dead });
    const c = await startTinyproxy({ auth: wrong });
    proxies.push(a, b, c);
    await b.kill(); // refused from now on: its share moves to the others, and it shows errors
    const cUrl = `http://${wrong.user}:${wrongGiven}@127.0.0.1:${c.port}`;
    const secrets: Record<string, string> = {
      token,
      imported,
      siteCookie,
      goodUser: good.user,
      goodPass: good.pass,
      goodUserPass: `${good.user}:${good.pass}`,
      goodBasic: Buffer.from(`${good.user}:${good.pass}`).toString('base64'),
      deadUser: dead.user,
      deadPass: dead.pass,
      wrongUser: wrong.user,
      wrongGiven,
      wrongBasic: Buffer.from(`${wrong.user}:${wrongGiven}`).toString('base64'),
    };

    const site = await startSite(siteCookie);
    servers.push(site.server);
    const cookies = join(dir, 'cookies.txt');
    writeFileSync(
      cookies,
      `# Netscape HTTP Cookie File\n127.0.0.1\tFALSE\t/\tFALSE\t0\timported\t${imported}\n`,
    );
    const state = join(dir, 'crawl.db');
    const out = join(dir, 'out.jsonl');
    const common = ['--header', `Authorization: Bearer ${token}`, '--cookies', cookies, '--allow-private'];
    const proxyFlags = ['--proxy', a.url, '--proxy', b.url, '--proxy', cUrl];

    const cli = spawnCli(
      [
        'crawl',
        site.url,
        ...proxyFlags,
        ...common,
        '--sessions',
        '2',
        '--rate',
        'inf',
        '--retries',
        '0',
        '--timeout',
        '60s',
        '--state',
        state,
        '--out',
        out,
        '--dashboard',
        '127.0.0.1:0',
        '--json',
      ],
      { timeoutMs: 90_000 },
    );
    await cli.waitForStderr(/dashboard at http:\/\/\S+/);
    const dash = /dashboard at (http:\/\/\S+)/.exec(cli.stderr())![1]!;
    await until(() => site.seen.some((s) => s.path === '/hold'), 'the crawl to ask for /hold', 30_000);
    // A progress line comes every 5 s: wait for one while /hold keeps the crawl running.
    await cli.waitForStderr(/"event":"progress"/, 30_000);
    const served: Record<string, string> = {};
    for (const path of ['/metrics', '/api/snapshot', '/']) {
      const res = await fetch(new URL(path, dash));
      expect(res.status, path).toBe(200);
      served[path] = await res.text();
    }
    site.release();
    const run = await cli.exited;
    expect(run.timedOut).toBe(false);
    expect(run.code, run.stderr).toBe(0);

    // The secrets were really used: the site got the token and both cookies through the proxy.
    expect(site.seen.some((s) => s.authorization === `Bearer ${token}`)).toBe(true);
    expect(site.seen.some((s) => s.cookie?.includes(`imported=${imported}`))).toBe(true);
    expect(site.seen.some((s) => s.cookie?.includes(`sid=${siteCookie}`))).toBe(true);
    expect(a.requests().length).toBeGreaterThan(0);
    // The proxies' credentials went to the proxies alone (CONNECT), never on to the site.
    const proxySecrets = Object.fromEntries(
      Object.entries(secrets).filter(([k]) => !['token', 'imported', 'siteCookie'].includes(k)),
    );
    for (const s of site.seen) expect(leaks(proxySecrets, s.raw), s.path).toEqual({});
    expect(site.seen.some((s) => /proxy-authorization/i.test(s.raw))).toBe(false);
    // And the broken proxies were tried, so their failures are on show.
    expect(served['/metrics']).toContain(b.display);
    expect(served['/metrics']).toContain(c.display);
    expect((await c.waitRequests(1)).length).toBeGreaterThan(0);

    const status = await runCli(['status', '--json', state]);
    expect(status.code, status.stderr).toBe(0);
    const exported = join(dir, 'export.jsonl');
    const exp = await runCli(['export', state, '--out', exported]);
    expect(exp.code, exp.stderr).toBe(0);
    const { source, metrics } = stateDashboardSource(state);
    const stateDashboard = JSON.stringify(source());
    metrics.close();

    // A crawl where every proxy fails (human progress and summary this time): the page's record
    // and the error lines name the proxy.
    const out2 = join(dir, 'out2.jsonl');
    const failing = await runCli(
      [
        'crawl',
        new URL('/p/1', site.url).href,
        '--proxy',
        b.url,
        '--proxy',
        cUrl,
        ...common,
        '--retries',
        '0',
        '--ignore-robots',
        '--no-state',
        '--out',
        out2,
      ],
      { timeoutMs: 60_000 },
    );
    expect(failing.code, failing.stderr).not.toBeNull();
    const failed = readJsonl(out2).records;
    expect(failed).toHaveLength(1);
    // The error names the proxy by its address alone (classifyError keeps the socket's message).
    expect(String(failed[0]!.error)).toMatch(new RegExp(`127\\.0\\.0\\.1:(${b.port}|${c.port})\\b`));

    const shown: Record<string, string> = {
      stdout: run.stdout,
      stderr: run.stderr,
      out: readFileSync(out, 'utf8'),
      metrics: served['/metrics']!,
      snapshot: served['/api/snapshot']!,
      page: served['/']!,
      status: status.stdout + status.stderr,
      export: readFileSync(exported, 'utf8') + exp.stdout + exp.stderr,
      stateDashboard,
      failingStdout: failing.stdout,
      failingStderr: failing.stderr,
      failingOut: readFileSync(out2, 'utf8'),
    };
    for (const [where, text] of Object.entries(shown)) expect(leaks(secrets, text), where).toEqual({});
    expect(readJsonl(out).records.length).toBeGreaterThanOrEqual(8);

    // The state file holds the session cookies: only its owner may read it (and SQLite's
    // companion files take the database file's mode). The token and the proxies' credentials,
    // which a resume does not need, are not in it at all.
    const stateBytes = [state, `${state}-wal`]
      .filter((f) => existsSync(f))
      .map((f) => readFileSync(f).toString('latin1'))
      .join('');
    expect(leaks(proxySecrets, stateBytes)).toEqual({});
    expect(stateBytes).not.toContain(token);
    for (const f of [state, `${state}-wal`, `${state}-shm`]) {
      if (existsSync(f)) expect((statSync(f).mode & 0o777).toString(8), f).toBe('600');
    }
  }, 120_000);
});

describe('error messages never quote a secret', () => {
  const usageError = (fn: () => unknown): UsageError => {
    try {
      fn();
    } catch (err) {
      if (err instanceof UsageError) return err;
      throw err;
    }
    throw new Error('no UsageError');
  };

  it('parseProxyUrl masks credentials even when there is no @ (host forgotten, scheme missing)', () => {
    const pw = secret('pw');
    for (const raw of [
      `http://user:${pw}`,
      `http://user:${pw}/`,
      `user:${pw}`,
      `http:user:${pw}`,
      `socks4://user:${pw}`,
      `http://user:${pw}?x`,
      `http://user:${pw} x`,
    ]) {
      const e = usageError(() => parseProxyUrl(raw));
      expect(e.message, raw).not.toContain(pw);
      expect(e.message, raw).not.toContain('user');
    }
    // Where nothing can be a credential the input is still shown, to say what is wrong.
    expect(usageError(() => parseProxyUrl('ftp://proxy.example')).message).toContain('ftp://proxy.example');
    expect(usageError(() => parseProxyUrl('http://[::1]:99999')).message).toContain('[::1]:99999');
  });

  it('trawl shell refuses a malformed --header without quoting it', async () => {
    const token = secret('tok');
    const flags = { userAgent: 'trawl-test', timeout: '5s', maxBytes: '1MB', allowPrivate: true };
    for (const header of [
      [`Authorization Bearer ${token}`],
      [`Authorization: Bearer ${token}\r\nX: y`],
      [`Bad Name: ${token}`],
      [`X-Key: 1`, `x-key: ${token}`],
    ]) {
      const err: unknown = await runShell('http://127.0.0.1:9/', { ...flags, header }).then(
        () => null,
        (e: unknown) => e,
      );
      expect(err, header.join(' | ')).toBeInstanceOf(UsageError);
      expect((err as Error).message, header.join(' | ')).not.toContain(token);
      expect((err as Error).message).toMatch(/^--header/);
    }
  });
});
