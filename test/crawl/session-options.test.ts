/**
 * The session options of issue 12 (headers, cookies, sessions, proxies) as a library user meets
 * them: resolveOptions fills their defaults and refuses bad values with the same one-line
 * UsageError the CLI prints, naming the flag and never quoting a header value, a cookie or a
 * proxy password.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { type CrawlOptions, resolveOptions, UsageError } from '../../src/crawl/options.js';

const dir = mkdtempSync(join(tmpdir(), 'trawl-session-options-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
afterEach(() => vi.unstubAllEnvs());

const SEED = 'http://127.0.0.1:9/';
const SECRET = 'S3CRET-never-shown';

/** The UsageError resolveOptions throws for `extra` (fails the test when it throws none). */
function refusal(extra: Partial<CrawlOptions>): string {
  try {
    resolveOptions({ seeds: [SEED], ...extra });
  } catch (err) {
    expect(err).toBeInstanceOf(UsageError);
    const message = (err as Error).message;
    expect(message).not.toContain('\n');
    expect(message).not.toContain(SECRET);
    return message;
  }
  throw new Error(`accepted ${JSON.stringify(extra)}`);
}

function file(name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

describe('session options: defaults', () => {
  it('fills cookies, sessions, block codes and rotation; leaves headers, cookie file and proxies unset', () => {
    const o = resolveOptions({ seeds: [SEED] });
    expect(o.cookies).toBe(true);
    expect(o.sessions).toBe(1);
    expect(o.sessionBlockCodes).toEqual([401, 403, 429]);
    expect(o.proxyRotation).toBe('round-robin');
    expect(o.headers).toBeUndefined();
    expect(o.cookieFile).toBeUndefined();
    expect(o.proxies).toBeUndefined();
  });

  it('accepts valid values of every option', () => {
    const cookies = file(
      'ok.txt',
      '# Netscape HTTP Cookie File\n.example.com\tTRUE\t/\tFALSE\t0\tsid\tabc\n',
    );
    const o = resolveOptions({
      seeds: [SEED],
      headers: { Accept: 'text/html', 'X-Empty': '', Authorization: `Bearer ${SECRET}` },
      cookieFile: cookies,
      sessions: 5,
      sessionBlockCodes: [],
      proxies: ['http://u:p@127.0.0.1:3128', 'socks5://127.0.0.1:1080'],
      proxyRotation: 'session',
    });
    expect(o.sessions).toBe(5);
    expect(o.cookieFile).toBe(cookies);
  });
});

describe('session options: bad values are a UsageError naming the flag', () => {
  it('refuses sessions that are not a positive integer', () => {
    expect(refusal({ sessions: 0 })).toMatch(/^--sessions must be an integer from 1 to \d+ \(got 0\)$/);
    expect(refusal({ sessions: 1.5 })).toMatch(/^--sessions /);
    expect(refusal({ sessions: Number.NaN })).toMatch(/^--sessions /);
  });

  it('refuses block codes outside 100-599 or not integers', () => {
    expect(refusal({ sessionBlockCodes: [403, 99] })).toMatch(
      /^--session-block-codes: 99 is not an HTTP status/,
    );
    expect(refusal({ sessionBlockCodes: [600] })).toMatch(/^--session-block-codes: 600 /);
    expect(refusal({ sessionBlockCodes: [403.5] })).toMatch(/^--session-block-codes: 403.5 /);
  });

  it('refuses header names that are not HTTP tokens, without quoting them', () => {
    const m = refusal({ headers: { [`Authorization Bearer ${SECRET}`]: 'x' } });
    expect(m).toMatch(/^--header: a header name may only have .* \(this one has a space at character 14\)$/);
    expect(refusal({ headers: { '': 'x' } })).toBe('--header: a header name is empty');
    expect(refusal({ headers: { 'X:Y': 'x' } })).toMatch(/has ":" at character 2/);
  });

  it('refuses header values that are not one line, without quoting them', () => {
    expect(refusal({ headers: { Cookie: `a=${SECRET}\r\nX-Injected: 1` } })).toMatch(
      /^--header: the value of Cookie must be one line of text \(it has a line break at character \d+\)$/,
    );
    expect(refusal({ headers: { 'X-A': `${SECRET}\u0000` } })).toMatch(/a control character/);
    expect(refusal({ headers: { 'X-A': `${SECRET}\u20ac` } })).toMatch(/above U\+00FF/);
    expect(refusal({ headers: { 'X-A': 5 as unknown as string } })).toMatch(
      /^--header: the value of X-A must be a string$/,
    );
  });

  it('refuses the headers the HTTP client owns, saying why, and User-Agent (use --user-agent)', () => {
    for (const name of ['Host', 'content-length', 'Transfer-Encoding', 'CONNECTION']) {
      expect(refusal({ headers: { [name]: SECRET } })).toMatch(
        new RegExp(`^--header: ${name} cannot be set: .+`),
      );
    }
    expect(refusal({ headers: { Host: 'example.com' } })).toMatch(/sets Host from each request's URL/);
    expect(refusal({ headers: { 'user-agent': 'x' } })).toMatch(/^--header: User-Agent .*--user-agent/);
  });

  it('refuses one header given twice in different case', () => {
    expect(refusal({ headers: { Accept: 'a', accept: 'b' } })).toMatch(
      /^--header: accept given twice \(as Accept and accept\)/,
    );
  });

  it('refuses a cookies file with cookies off, a missing one and a malformed one (with its line)', () => {
    const ok = file('c.txt', '.example.com\tTRUE\t/\tFALSE\t0\tsid\tabc\n');
    expect(refusal({ cookies: false, cookieFile: ok })).toMatch(
      /^--cookies FILE and --no-cookies contradict/,
    );
    expect(refusal({ cookieFile: join(dir, 'missing.txt') })).toMatch(
      /^--cookies .*missing\.txt: no such file$/,
    );
    const bad = file(
      'bad.txt',
      `# Netscape HTTP Cookie File\n.example.com\tTRUE\t/\tFALSE\tsid\t${SECRET}\n`,
    );
    expect(refusal({ cookieFile: bad })).toMatch(/^--cookies .*bad\.txt: line 2: /);
  });

  it('refuses bad proxies without showing their password, and session rotation without proxies', () => {
    expect(refusal({ proxies: [`socks4://user:${SECRET}@127.0.0.1:1080`] })).toMatch(
      /^--proxy: unsupported proxy scheme socks4/,
    );
    expect(refusal({ proxies: ['http://127.0.0.1:3128', `http://u:${SECRET}@127.0.0.1:99999`] })).toMatch(
      /^--proxy: the proxy port/,
    );
    expect(refusal({ proxyRotation: 'sticky' as 'session' })).toMatch(
      /^--proxy-rotation must be round-robin or session/,
    );
    expect(refusal({ proxyRotation: 'session' })).toMatch(/^--proxy-rotation session needs --proxy/);
  });

  it('refuses an invalid proxy in the environment when no proxies are given, naming the variable', () => {
    vi.stubEnv('http_proxy', undefined);
    vi.stubEnv('HTTP_PROXY', `ftp://user:${SECRET}@127.0.0.1:21`);
    expect(refusal({})).toMatch(/^HTTP_PROXY: unsupported proxy scheme ftp/);
    vi.stubEnv('HTTP_PROXY', 'http://127.0.0.1:3128');
    vi.stubEnv('https_proxy', 'http://127.0.0.1:70000');
    expect(refusal({})).toMatch(/^https_proxy: the proxy port/);
    // Given proxies replace the environment's: it is not looked at.
    expect(() => resolveOptions({ seeds: [SEED], proxies: ['http://127.0.0.1:3128'] })).not.toThrow();
  });
});
