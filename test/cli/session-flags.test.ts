/**
 * The session flags of issue 12 (--header, --cookies, --no-cookies, --sessions,
 * --session-block-codes, --proxy, --proxy-rotation, and the proxy environment) on the real CLI:
 * for `trawl crawl`, `trawl run` and `trawl worker`, every bad input exits 2 with exactly one
 * stderr line naming the flag (or variable), before anything connects to the loopback server
 * given as the site (and as the Redis server), and never prints a password, header value or
 * cookie value. And a typed flag beats the scraper's `options`, which beat the defaults.
 */

import { writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseBlockCodes, parseHeaderFlags } from '../../src/cli/session-flags.js';
import { UsageError } from '../../src/crawl/usage-error.js';
import { type CliResult, cleanup, runCli, tempDir } from '../helpers/cli.js';

// Safety nets only (a spawn can take 20 s on a loaded 2-core machine); nothing asserts on time.
const SPAWN_TIMEOUT = 240_000;
const TEST_TIMEOUT = 600_000;

/** Secrets planted in the bad inputs: none may reach stderr or stdout. */
const SECRETS = ['PROXYPASS1', 'PROXYPASS2', 'ENVPASS3', 'HDRSECRET4', 'COOKIESECRET5', 'SCRAPERPASS6'];

/** A loopback HTTP server that counts TCP connections and requests. */
interface Counter {
  url: string;
  port: number;
  connections: number;
  requests: number;
  close(): Promise<void>;
}

async function startCounter(): Promise<Counter> {
  const server: Server = createServer((_req, res) => {
    c.requests++;
    res.writeHead(200, { 'content-type': 'text/html' }).end('<html><title>t</title><body>hi</body></html>');
  });
  server.on('connection', () => {
    c.connections++;
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const c: Counter = {
    url: `http://127.0.0.1:${port}/`,
    port,
    connections: 0,
    requests: 0,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  return c;
}

let site: Counter;
let dir: string;
let goodCookies: string;
let badCookies: string;

beforeAll(async () => {
  site = await startCounter();
  dir = tempDir('trawl-session-flags-');
  goodCookies = join(dir, 'good.txt');
  writeFileSync(goodCookies, '# Netscape HTTP Cookie File\n127.0.0.1\tFALSE\t/\tFALSE\t0\tsid\tabc\n');
  badCookies = join(dir, 'bad.txt');
  // Line 3 has six fields (no expiry) and a secret value: the message must say line 3, not the value.
  writeFileSync(
    badCookies,
    `# Netscape HTTP Cookie File\n127.0.0.1\tFALSE\t/\tFALSE\t0\tok\t1\n127.0.0.1\tFALSE\t/\tFALSE\tsid\tCOOKIESECRET5\tx\tmore\n`,
  );
});

afterAll(async () => {
  await cleanup();
  await site?.close();
});

/** Writes a scraper module with `options` (a JS object literal) and returns its path. */
function scraper(name: string, options: string): string {
  const file = join(dir, name);
  writeFileSync(
    file,
    `import { defineScraper } from 'trawl';
export default defineScraper({
  options: ${options},
  handlers: { default: async ({ push, request }) => { push({ url: request.url }); } },
});
`,
  );
  return file;
}

interface Case {
  name: string;
  args: () => string[];
  env?: Record<string, string>;
  /** Must match the one stderr line. */
  error: RegExp;
}

/** `trawl crawl` of the counting site, in memory, output to the temp dir, plus `extra`. */
const crawl =
  (...extra: string[]) =>
  () => ['crawl', site.url, '--no-state', '--quiet', '--out', join(dir, 'o.jsonl'), ...extra];
/** `trawl worker` joining a "Redis" that is the counting server: any connection would show. */
const worker =
  (...extra: string[]) =>
  () => ['worker', '--redis', `redis://127.0.0.1:${site.port}`, '--name', 'w', '--quiet', ...extra];
/** `trawl run` of a scraper (written by `file()`) on the counting site, plus `extra`. */
const run =
  (file: () => string, ...extra: string[]) =>
  () => [
    'run',
    file(),
    site.url,
    '--no-state',
    '--quiet',
    '--out',
    join(dir, 'r.jsonl'),
    '--items',
    join(dir, 'i.jsonl'),
    ...extra,
  ];

const CASES: Case[] = [
  // --header
  {
    name: 'header without a colon',
    args: crawl('--header', 'Cookie sid=HDRSECRET4'),
    error: /^trawl: --header: expected 'Name: value' \(there is no ':'\)$/,
  },
  {
    name: 'header name with a space',
    args: crawl('--header', 'Authorization Bearer HDRSECRET4: x'),
    error: /^trawl: --header: a header name may only have .*a space at character 14/,
  },
  {
    name: 'header value with a line break',
    args: crawl('--header', 'Authorization: Bearer HDRSECRET4\r\nX-Evil: 1'),
    error: /^trawl: --header: the value of Authorization must be one line/,
  },
  {
    name: 'Host header',
    args: crawl('--header', 'Host: example.com'),
    error: /^trawl: --header: Host cannot be set: trawl sets Host/,
  },
  {
    name: 'header given twice',
    args: crawl('--header', 'Cookie: a=HDRSECRET4', '--header', 'cookie: b=HDRSECRET4'),
    error: /^trawl: --header: cookie given twice/,
  },
  // --cookies / --no-cookies
  {
    name: 'cookies file missing',
    args: crawl('--cookies', 'no-such-cookies.txt'),
    error: /^trawl: --cookies no-such-cookies\.txt: no such file$/,
  },
  {
    name: 'cookies file malformed',
    args: () => crawl('--cookies', badCookies)(),
    error: /^trawl: --cookies .*bad\.txt: line 3: /,
  },
  {
    name: 'cookies file and --no-cookies',
    args: () => crawl('--cookies', goodCookies, '--no-cookies')(),
    error: /^trawl: .*'--cookies' and '--no-cookies' conflict/,
  },
  // --sessions, --session-block-codes
  {
    name: 'sessions 0',
    args: crawl('--sessions', '0'),
    error: /^trawl: --sessions must be at least 1 \(got 0\)$/,
  },
  {
    name: 'block code out of range',
    args: crawl('--session-block-codes', '403,99'),
    error: /^trawl: --session-block-codes: 99 is not an HTTP status/,
  },
  // --proxy, --proxy-rotation, the environment
  {
    name: 'proxy with an unsupported scheme',
    args: crawl('--proxy', 'socks4://user:PROXYPASS1@127.0.0.1:1080'),
    error: /^trawl: --proxy: unsupported proxy scheme socks4/,
  },
  {
    name: 'proxy that is not a URL',
    args: crawl('--proxy', 'http://127.0.0.1:3128', '--proxy', 'user:PROXYPASS2@127.0.0.1'),
    error: /^trawl: --proxy: not a proxy URL/,
  },
  {
    name: 'proxy rotation unknown',
    args: crawl('--proxy', 'http://127.0.0.1:3128', '--proxy-rotation', 'sticky'),
    error: /^trawl: .*'--proxy-rotation <mode>' argument 'sticky' is invalid/,
  },
  {
    name: 'session rotation without proxies',
    args: crawl('--proxy-rotation', 'session'),
    error: /^trawl: --proxy-rotation session needs --proxy/,
  },
  {
    name: 'http_proxy invalid',
    args: crawl(),
    env: { http_proxy: 'ftp://u:ENVPASS3@127.0.0.1:21' },
    error: /^trawl: http_proxy: unsupported proxy scheme ftp/,
  },
  // trawl run: flags and a scraper's options are checked alike
  {
    name: 'run: sessions 0',
    args: run(() => scraper('s1.mjs', '{}'), '--sessions', '0'),
    error: /^trawl: --sessions must be at least 1/,
  },
  {
    name: "run: scraper's Host header",
    args: run(() => scraper('s3.mjs', "{ headers: { Host: 'example.com' } }")),
    error: /^trawl: --header: Host cannot be set/,
  },
  {
    name: "run: scraper's bad proxy",
    args: run(() => scraper('s4.mjs', "{ proxies: ['socks4://u:SCRAPERPASS6@127.0.0.1:1080'] }")),
    error: /^trawl: --proxy: unsupported proxy scheme socks4/,
  },
  {
    name: "run: scraper's cookieFile with typed --no-cookies wins (no file read)",
    args: run(() => scraper('s6.mjs', "{ cookieFile: 'missing.txt', sessions: 0 }"), '--no-cookies'),
    error: /^trawl: --sessions must be an integer from 1/,
  },
  // trawl worker: refused before connecting to Redis
  {
    name: 'worker: sessions 0',
    args: worker('--sessions', '0'),
    error: /^trawl: --sessions must be at least 1/,
  },
  {
    name: 'worker: bad proxy',
    args: worker('--proxy', 'socks4://u:PROXYPASS1@127.0.0.1:1080'),
    error: /^trawl: --proxy: unsupported proxy scheme socks4/,
  },
  {
    name: 'worker: bad cookies file',
    args: () => worker('--cookies', badCookies)(),
    error: /^trawl: --cookies .*bad\.txt: line 3: /,
  },
];

/** Runs `items` through `fn`, at most `limit` at a time (each CLI spawn is a Node process). */
async function pool<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const lane = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
  return out;
}

/** The UsageError message `fn` throws. */
function thrown(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(UsageError);
    return (err as Error).message;
  }
  throw new Error('did not throw');
}

describe('session flags: parsing --header and --session-block-codes', () => {
  it("splits 'Name: value' at the first colon, trimming the value, empty allowed", () => {
    expect(parseHeaderFlags(['Accept: text/html', 'X-Time:12:30 ', 'X-Empty:'])).toEqual({
      Accept: 'text/html',
      'X-Time': '12:30',
      'X-Empty': '',
    });
  });

  it('says which --header is malformed without quoting it', () => {
    expect(thrown(() => parseHeaderFlags(['X-Ok: 1', 'HDRSECRET4']))).toBe(
      "--header #2: expected 'Name: value' (there is no ':')",
    );
    expect(thrown(() => parseHeaderFlags([': HDRSECRET4']))).toBe(
      "--header: expected 'Name: value' (the name before ':' is empty)",
    );
    expect(thrown(() => parseHeaderFlags(['Accept: a', 'ACCEPT: b']))).toMatch(
      /^--header: ACCEPT given twice/,
    );
  });

  it('reads block codes as a comma list, or none', () => {
    expect(parseBlockCodes('401, 403,429')).toEqual([401, 403, 429]);
    expect(parseBlockCodes('none')).toEqual([]);
    expect(parseBlockCodes('')).toEqual([]);
    expect(thrown(() => parseBlockCodes('403,forbidden'))).toMatch(
      /^--session-block-codes: "forbidden" is not a status code/,
    );
  });
});

describe('session flags: bad input exits 2 with one line, before any request', () => {
  it(
    'refuses every bad input naming its flag, connects to nothing and prints no secret',
    async () => {
      const results = await pool(CASES, 4, (c) => runCli(c.args(), { env: c.env, timeoutMs: SPAWN_TIMEOUT }));
      const failures: string[] = [];
      CASES.forEach((c, i) => {
        const r: CliResult = results[i]!;
        const lines = r.stderr.split('\n').filter((l) => l.trim() !== '');
        const problems: string[] = [];
        if (r.code !== 2) problems.push(`exit ${r.code}`);
        if (lines.length !== 1) problems.push(`${lines.length} stderr lines`);
        else if (!c.error.test(lines[0]!)) problems.push(`stderr does not match ${c.error}`);
        for (const s of SECRETS) if (`${r.stderr}${r.stdout}`.includes(s)) problems.push(`printed ${s}`);
        if (problems.length > 0)
          failures.push(`${c.name}: ${problems.join(', ')}\n  stderr: ${r.stderr.trim()}`);
      });
      expect(failures).toEqual([]);
      // Nothing connected: not to the site, not to the "Redis" the workers were given.
      expect(site.connections).toBe(0);
      expect(site.requests).toBe(0);
    },
    TEST_TIMEOUT,
  );
});

describe('session flags: precedence for trawl run', () => {
  it(
    "a typed flag beats the scraper's option, which beats the default",
    async () => {
      const ok = await startCounter();
      try {
        // The scraper's sessions: 0 alone is refused (above); typed --sessions 2 replaces it, and
        // the scraper's valid proxy rotation needs its proxies: typed round-robin lifts that too.
        const file = scraper('p.mjs', "{ sessions: 0, proxyRotation: 'session', rate: 1000 }");
        const r = await runCli(
          [
            'run',
            file,
            ok.url,
            '--no-state',
            '--quiet',
            '--out',
            join(dir, 'p.jsonl'),
            '--items',
            join(dir, 'p.items.jsonl'),
            '--sessions',
            '2',
            '--proxy-rotation',
            'round-robin',
            '--header',
            'X-Test: 1',
            '--cookies',
            goodCookies,
            '--session-block-codes',
            'none',
            '--depth',
            '0',
          ],
          { env: { http_proxy: '', https_proxy: '' }, timeoutMs: SPAWN_TIMEOUT },
        );
        expect(r.stderr).toBe('');
        expect(r.code).toBe(0);
        expect(ok.requests).toBeGreaterThan(0);
      } finally {
        await ok.close();
      }
    },
    TEST_TIMEOUT,
  );
});
