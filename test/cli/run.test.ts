/**
 * `trawl run FILE [URL...]` (issue 11), as a child process against loopback sites: a typed flag
 * beats the scraper's options, which beat trawl's defaults (a CLI default never overwrites what
 * the scraper set); `--out -` / `--items -` leave stdout to the records or items alone; the
 * default items file; and every bad scraper or bad combination exits 2 with one line before any
 * request.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULTS } from '../../src/crawl/options.js';
import { crawlKeys } from '../../src/crawl/redis/keys.js';
import { type CliResult, cleanup, readJsonl, runCli, spawnCli, tempDir } from '../helpers/cli.js';
import { killCliChildren, runCliWith } from '../helpers/cli-stdin.js';
import { type RecordingSite, startRecordingSite } from '../helpers/recording-site.js';
import { startRedis } from '../helpers/redis.js';

const sites = new Set<RecordingSite>();
afterEach(async () => {
  killCliChildren();
  await Promise.all([...sites].map((s) => s.close()));
  sites.clear();
  await cleanup();
});

/** Home links to a page with a `session` parameter and one with a `utm_source` parameter. */
async function site(): Promise<RecordingSite> {
  const s = await startRecordingSite({
    '/': '<title>Home</title><h1>Home</h1><a href="/p?session=abc&x=1">p</a> <a href="/q?utm_source=z&y=2">q</a>',
    '/p': '<title>P</title><h1>Page P</h1>',
    '/q': '<title>Q</title><h1>Page Q</h1>',
  });
  sites.add(s);
  return s;
}

/**
 * A scraper that pushes `{url, h1}` for every page and follows every link, with
 * `stripParams: ['session']` and its own user agent (so neither is trawl's default).
 */
const FOLLOWING_SCRAPER = `import { defineScraper } from 'trawl';
export default defineScraper({
  options: { stripParams: ['session'], userAgent: 'from-scraper/1', rate: 1000 },
  handlers: {
    default: async ({ $, request, enqueue, push }) => {
      push({ url: request.url, h1: $('h1').text() });
      await enqueue({ selector: 'a' });
    },
  },
});
`;

/** Writes `source` as `<dir>/<name>` and returns its path. */
function scraperFile(dir: string, source: string, name = 'scraper.ts'): string {
  const file = join(dir, name);
  writeFileSync(file, source);
  return file;
}

/** The usual start of a test: the site, a temp dir, and FOLLOWING_SCRAPER written into it. */
async function scraperSetup(): Promise<{ s: RecordingSite; dir: string; file: string }> {
  const s = await site();
  const dir = tempDir('trawl-run-');
  return { s, dir, file: scraperFile(dir, FOLLOWING_SCRAPER) };
}

/** The JSON objects of a CLI's stdout, one per non-empty line (a line that is not JSON throws). */
function jsonLines(stdout: string): Record<string, unknown>[] {
  return stdout
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

/**
 * Runs `trawl run file s.url --no-state --out <dir>/records.jsonl --items - ...extra`, checks it
 * exited 0 and that stdout holds exactly FOLLOWING_SCRAPER's three items (one JSON per line),
 * and returns the result for the test's own checks.
 */
async function runItemsToStdout(
  file: string,
  s: RecordingSite,
  dir: string,
  extra: string[],
): Promise<CliResult> {
  const r = await runCli([
    'run',
    file,
    s.url,
    '--no-state',
    '--out',
    join(dir, 'records.jsonl'),
    '--items',
    '-',
    ...extra,
  ]);
  expect(r.timedOut).toBe(false);
  expect(r.code, r.stderr).toBe(0);
  expect(
    jsonLines(r.stdout)
      .map((i) => i.h1)
      .sort(),
  ).toEqual(['Home', 'Page P', 'Page Q']);
  return r;
}

/** Flags that keep a run's files in `dir` and its output quiet and fast. */
function inDir(dir: string): string[] {
  return ['--no-state', '--out', join(dir, 'records.jsonl'), '--items', join(dir, 'items.jsonl'), '--quiet'];
}

describe('trawl run: option precedence', () => {
  it("keeps the scraper's stripParams and user agent when no flag is typed (CLI defaults do not overwrite them)", async () => {
    const { s, dir, file } = await scraperSetup();
    const r = await runCli(['run', file, s.url, ...inDir(dir)]);
    expect(r.timedOut).toBe(false);
    expect(r.code, r.stderr).toBe(0);
    // The scraper's list replaced the default one: session stripped, utm_source kept.
    expect(s.pages().sort()).toEqual(['/', '/p?x=1', '/q?utm_source=z&y=2']);
    expect(new Set(s.requests.map((q) => q.headers['user-agent']))).toEqual(new Set(['from-scraper/1']));
    const items = readJsonl(join(dir, 'items.jsonl'));
    expect(items.bad).toEqual([]);
    expect(items.records.map((i) => i.h1).sort()).toEqual(['Home', 'Page P', 'Page Q']);
  });

  it("a typed flag beats the scraper's option, even when it types trawl's default value", async () => {
    const { s, dir, file } = await scraperSetup();
    const r = await runCli([
      'run',
      file,
      s.url,
      ...inDir(dir),
      // Exactly the default list: only the fact that it was typed makes it win.
      '--strip-params',
      DEFAULTS.stripParams.join(','),
      '--user-agent',
      'typed/1',
    ]);
    expect(r.timedOut).toBe(false);
    expect(r.code, r.stderr).toBe(0);
    expect(s.pages().sort()).toEqual(['/', '/p?session=abc&x=1', '/q?y=2']);
    expect(new Set(s.requests.map((q) => q.headers['user-agent']))).toEqual(new Set(['typed/1']));
  });

  it('URLs on the command line replace the scraper start URLs', async () => {
    const s = await site();
    const other = await startRecordingSite({ '/': '<h1>Other</h1>' });
    sites.add(other);
    const dir = tempDir('trawl-run-');
    const file = scraperFile(
      dir,
      FOLLOWING_SCRAPER.replace('options:', `start: [${JSON.stringify(other.url)}],\n  options:`),
    );
    const r = await runCli(['run', file, s.url, ...inDir(dir)]);
    expect(r.code, r.stderr).toBe(0);
    expect(other.requests).toEqual([]);
    expect(s.pages()).toContain('/');
    // Without URLs the start URLs are crawled.
    const r2 = await runCli(['run', file, ...inDir(dir)]);
    expect(r2.code, r2.stderr).toBe(0);
    expect(other.pages()).toEqual(['/']);
  });
});

describe('trawl run: stdout holds only the records or the items', () => {
  it('--items - writes one JSON item per stdout line; progress and the --json summary go to stderr', async () => {
    const { s, dir, file } = await scraperSetup();
    const r = await runItemsToStdout(file, s, dir, ['--json']);
    expect(r.stdout.endsWith('\n')).toBe(true);
    const summary = r.stderr
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .find((e) => e.event === 'summary');
    expect(summary).toMatchObject({ event: 'summary', pages: 3, itemsOut: '-' });
  });

  it.for(['1', '0'])(
    "--items -: a handler's console.log goes to stderr, on a parse thread or the main thread (--parsers %s)",
    async (parsers) => {
      const s = await site();
      const dir = tempDir('trawl-run-');
      const file = scraperFile(
        dir,
        FOLLOWING_SCRAPER.replace('push({', "console.log('noise from', request.url);\n      push({"),
      );
      const r = await runItemsToStdout(file, s, dir, ['--parsers', parsers]);
      expect(r.stderr).toContain(`noise from ${s.url}`);
    },
  );

  it('--out - writes one JSON record per stdout line and nothing else; the summary goes to stderr', async () => {
    const { s, dir, file } = await scraperSetup();
    const r = await runCli(['run', file, s.url, '--no-state', '--out', '-', '--items', join(dir, 'i.jsonl')]);
    expect(r.timedOut).toBe(false);
    expect(r.code, r.stderr).toBe(0);
    const records = jsonLines(r.stdout);
    expect(records.map((x) => x.status)).toEqual([200, 200, 200]);
    expect(r.stderr).toMatch(/^pages:\s+3 stored/m);
    expect(r.stderr).toContain('results: - (stdout)');
    expect(r.stderr).toContain(`items: ${join(dir, 'i.jsonl')}`);
  });

  it('trawl crawl --out - --json: stdout holds the records alone, the summary event goes to stderr', async () => {
    const s = await site();
    const r = await runCli(['crawl', s.url, '--no-state', '--out', '-', '--json', '--rate', 'inf']);
    expect(r.timedOut).toBe(false);
    expect(r.code, r.stderr).toBe(0);
    const records = jsonLines(r.stdout);
    expect(records.map((x) => new URL(String(x.url)).pathname).sort()).toEqual(['/', '/p', '/q']);
    expect(records.every((x) => x.event === undefined)).toBe(true);
    expect(r.stderr).toMatch(/^\{"event":"summary",.*"out":"-"/m);
  });

  it('writes the items to <name>.items.jsonl beside <name>.jsonl when --items is not given', async () => {
    const { s, dir, file } = await scraperSetup();
    // No node_modules here: the parse thread finds tsx from trawl's own location, not the cwd.
    const r = await runCliWith(['run', file, s.url, '--name', 'shopx', '--no-state'], { cwd: dir });
    expect(r.timedOut).toBe(false);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('results: shopx.jsonl');
    expect(r.stderr).toContain('items: shopx.items.jsonl');
    expect(readJsonl(join(dir, 'shopx.jsonl')).records).toHaveLength(3);
    expect(readJsonl(join(dir, 'shopx.items.jsonl')).records).toHaveLength(3);
  });
});

describe('trawl export --items', () => {
  it("rewrites a scraper crawl's items from its state file, in any format, with --out or alone", async () => {
    const { s, dir, file } = await scraperSetup();
    const state = join(dir, 'state.db');
    const run = await runCli([
      'run',
      file,
      s.url,
      '--state',
      state,
      '--out',
      join(dir, 'r.jsonl'),
      '--items',
      join(dir, 'i.jsonl'),
      '--quiet',
    ]);
    expect(run.code, run.stderr).toBe(0);
    const items = readJsonl(join(dir, 'i.jsonl')).records;
    expect(items).toHaveLength(3);
    const again = await runCli([
      'export',
      state,
      '--items',
      join(dir, 'again.jsonl'),
      '--out',
      join(dir, 'again-records.jsonl'),
    ]);
    expect(again.code, again.stderr).toBe(0);
    expect(readJsonl(join(dir, 'again.jsonl')).records).toEqual(items);
    expect(readJsonl(join(dir, 'again-records.jsonl')).records).toHaveLength(3);
    const none = await runCli(['export', state]);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/--out FILE \(records\), --items FILE \(items\), or both/);
  });
});

describe('trawl worker --scraper (distributed)', () => {
  it("runs the scraper's handlers in the worker process; run --redis --items exports the items", async () => {
    const redis = await startRedis();
    try {
      const s = await startRecordingSite({
        '/': '<h1>Home</h1><a href="/1">1</a><a href="/2">2</a><a href="/3">3</a><a href="/4">4</a>',
        '/1': '<h1>One</h1>',
        '/2': '<h1>Two</h1>',
        '/3': '<h1>Three</h1>',
        '/4': '<h1>Four</h1>',
      });
      sites.add(s);
      const dir = tempDir('trawl-run-redis-');
      // Each item names the process whose handler pushed it.
      const file = scraperFile(
        dir,
        FOLLOWING_SCRAPER.replace("h1: $('h1').text()", "h1: $('h1').text(), pid: process.pid"),
      );
      const common = ['--redis', redis.url, '--name', 'scrape', '--quiet', '--rate', 'inf'];
      // The creator stores one page (the home page, whose handler enqueues the rest) and stops;
      // then the worker joins and its handlers do the rest.
      const creator = spawnCli([
        'run',
        file,
        s.url,
        ...common,
        '--max-pages',
        '1',
        '--items',
        join(dir, 'i.jsonl'),
      ]);
      const c = await creator.exited;
      expect(c.timedOut).toBe(false);
      expect(c.code, c.stderr).toBe(0);
      const worker = spawnCli(['worker', ...common, '--scraper', file]);
      const w = await worker.exited;
      expect(w.timedOut).toBe(false);
      expect(w.code, w.stderr).toBe(0);
      const client = redis.client();
      try {
        const stored = (await client.lrange(crawlKeys('scrape').items, 0, -1)).map(
          (x) => JSON.parse(x) as { url: string; item: { h1: string; pid: number } },
        );
        const byPage = Object.fromEntries(stored.map((e) => [new URL(e.url).pathname, e.item]));
        expect(Object.keys(byPage).sort()).toEqual(['/', '/1', '/2', '/3', '/4']);
        expect(byPage['/']!.pid).toBe(creator.pid);
        for (const p of ['/1', '/2', '/3', '/4']) expect(byPage[p]!.pid, p).toBe(worker.pid);
      } finally {
        client.disconnect();
      }
      // The creator exported the items stored when it ended: its own page's.
      const exported = readJsonl(join(dir, 'i.jsonl'));
      expect(exported.bad).toEqual([]);
      expect(exported.records).toEqual([{ url: s.url, h1: 'Home', pid: creator.pid }]);
    } finally {
      await redis.stop();
    }
  });
});

describe('trawl run: bad input exits 2 with one line, before any request', () => {
  const bad: [string, string, RegExp][] = [
    ['syntax error', 'export default defineScraper({ handlers: {', /syntax error at .*broken\.ts:\d+/],
    ['default export not a scraper', 'export default 42;', /not a scraper/],
    ['no default export', 'export const x = 1;', /no default export/],
    [
      'handler not a function',
      "import { defineScraper } from 'trawl';\nexport default defineScraper({ handlers: { default: 'x' } } as never);",
      /handler "default" is not a function/,
    ],
    [
      'unknown option',
      "import { defineScraper } from 'trawl';\nexport default defineScraper({ options: { rat: 5 } as never, handlers: { default: async () => {} } });",
      /unknown option "rat"/,
    ],
  ];

  // Not concurrent: afterEach's cleanup kills every child still running.
  it.for(bad)('%s', async ([, source, message]) => {
    const s = await site();
    const dir = tempDir('trawl-run-bad-');
    const file = scraperFile(dir, source, 'broken.ts');
    const r = await runCli(['run', file, s.url, ...inDir(dir)]);
    expect(r.timedOut).toBe(false);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^trawl: scraper \S+broken\.ts: .+\n$/);
    expect(r.stderr).toMatch(message);
    expect(s.requests).toEqual([]);
    expect(existsSync(join(dir, 'records.jsonl'))).toBe(false);
  });

  it('a missing scraper file', async () => {
    const s = await site();
    const dir = tempDir('trawl-run-bad-');
    const r = await runCli(['run', join(dir, 'nope.ts'), s.url, ...inDir(dir)]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(`trawl: scraper file not found: ${join(dir, 'nope.ts')}\n`);
    expect(s.requests).toEqual([]);
  });

  it('no start URL: none on the command line and none in the scraper', async () => {
    const dir = tempDir('trawl-run-bad-');
    const file = scraperFile(dir, FOLLOWING_SCRAPER);
    const r = await runCli(['run', file, ...inDir(dir)]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      /^trawl: no start URL: give URLs after \S+scraper\.ts, or set start in the scraper.*\n$/,
    );
  });

  it('--out - and --items - together', async () => {
    const s = await site();
    const dir = tempDir('trawl-run-bad-');
    const file = scraperFile(dir, FOLLOWING_SCRAPER);
    const r = await runCli(['run', file, s.url, '--no-state', '--out', '-', '--items', '-']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^trawl: --out - and --items - both .+\n$/);
    expect(r.stdout).toBe('');
    expect(s.requests).toEqual([]);
  });

  it('an --items file of an unknown format, or in a missing directory', async () => {
    const s = await site();
    const dir = tempDir('trawl-run-bad-');
    const file = scraperFile(dir, FOLLOWING_SCRAPER);
    for (const items of [join(dir, 'items.json'), join(dir, 'missing', 'items.jsonl')]) {
      const r = await runCli([
        'run',
        file,
        s.url,
        '--no-state',
        '--out',
        join(dir, 'r.jsonl'),
        '--items',
        items,
      ]);
      expect(r.code, items).toBe(2);
      expect(r.stderr).toMatch(/^trawl: --items.+\n$/);
    }
    expect(s.requests).toEqual([]);
  });

  it('a bad option value set by the scraper is refused like the same flag', async () => {
    const s = await site();
    const dir = tempDir('trawl-run-bad-');
    const file = scraperFile(dir, FOLLOWING_SCRAPER.replace('rate: 1000', 'rate: 1000, depth: -1'));
    const r = await runCli(['run', file, s.url, ...inDir(dir)]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('trawl: --depth must be an integer from 0 to 999 (got -1)\n');
    expect(s.requests).toEqual([]);
  });

  it('trawl crawl has no --items (items come from a scraper)', async () => {
    const s = await site();
    const dir = tempDir('trawl-run-bad-');
    const r = await runCli(['crawl', s.url, '--no-state', '--items', join(dir, 'i.jsonl')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^trawl: error: unknown option '--items'/);
    expect(s.requests).toEqual([]);
  });

  it('trawl worker --scraper with a bad scraper fails before connecting to Redis', async () => {
    const dir = tempDir('trawl-run-bad-');
    mkdirSync(join(dir, 'sub'));
    const file = scraperFile(join(dir, 'sub'), 'export default 42;', 'w.ts');
    // Port 1 on loopback: nothing listens; the scraper error must come first.
    const r = await runCli(['worker', '--redis', 'redis://127.0.0.1:1', '--name', 'w', '--scraper', file]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^trawl: scraper \S+w\.ts: the default export is not a scraper.*\n$/);
  });
});
