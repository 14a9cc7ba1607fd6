/**
 * The rendering flags of issue 13 on the real CLI: every bad input (no usable Chromium, a bad
 * --render mode or --render-wait, --tabs 0 ...) exits 2 with exactly one stderr line naming the
 * flag, before anything connects to the loopback server given as the site. And the parsing of
 * `--render [mode]`, where a URL typed right after the flag is the first URL, not a mode.
 */
import { chmodSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseRenderMode, toCrawlOptions } from '../../src/cli/crawl-flags.js';
import { parseRenderResources, parseRenderWait } from '../../src/crawl/render/render-options.js';
import { type CliResult, cleanup, runCli, tempDir } from '../helpers/cli.js';

// Safety nets only (a spawn can take 20 s on a loaded 2-core machine); nothing asserts on time.
const SPAWN_TIMEOUT = 240_000;
const TEST_TIMEOUT = 600_000;

let server: Server;
let url: string;
let connections = 0;
let dir: string;
let notExecutable: string;

beforeAll(async () => {
  server = createServer((_req, res) => res.end('<title>t</title>'));
  server.on('connection', () => connections++);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  dir = tempDir('trawl-render-flags-');
  notExecutable = join(dir, 'chromium');
  writeFileSync(notExecutable, '#!/bin/sh\n');
  chmodSync(notExecutable, 0o644);
});

afterAll(async () => {
  await cleanup();
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

const crawl =
  (...extra: string[]) =>
  () => ['crawl', url, '--no-state', '--quiet', '--out', join(dir, 'o.jsonl'), ...extra];

const CASES: { name: string; args: () => string[]; error: RegExp }[] = [
  {
    name: '--chromium that does not exist',
    args: crawl('--render', '--chromium', '/nonexistent/chromium'),
    error: /^trawl: .*\/nonexistent\/chromium/,
  },
  {
    name: '--chromium that is not executable',
    args: () => crawl('--render', '--chromium', notExecutable)(),
    error: /^trawl: .*chromium/,
  },
  {
    name: 'unknown --render mode',
    args: crawl('--render', 'sometimes'),
    error: /^trawl: --render: unknown mode "sometimes"/,
  },
  {
    name: 'bad --render-wait',
    args: crawl('--render', '--render-wait', 'idle'),
    error: /^trawl: --render-wait: invalid value "idle"/,
  },
  {
    name: 'empty selector',
    args: crawl('--render', '--render-wait', 'selector:'),
    error: /^trawl: --render-wait: invalid value/,
  },
  { name: '--tabs 0', args: crawl('--render', '--tabs', '0'), error: /^trawl: --tabs must be at least 1/ },
  {
    name: '--browsers 0',
    args: crawl('--render', '--browsers', '0'),
    error: /^trawl: --browsers must be at least 1/,
  },
  {
    name: 'bad --render-timeout',
    args: crawl('--render', '--render-timeout', 'soon'),
    error: /^trawl: --render-timeout/,
  },
  {
    name: 'unknown --render-resources type',
    args: crawl('--render', '--render-resources', 'image,script'),
    error: /^trawl: --render-resources: unknown resource type "script"/,
  },
];

describe('render flags: bad input exits 2 with one line, before any request', () => {
  it(
    'refuses every bad input naming its flag and connects to nothing',
    async () => {
      const results: CliResult[] = [];
      for (const c of CASES) results.push(await runCli(c.args(), { timeoutMs: SPAWN_TIMEOUT }));
      const failures: string[] = [];
      CASES.forEach((c, i) => {
        const r = results[i]!;
        const lines = r.stderr.split('\n').filter((l) => l.trim() !== '');
        const problems: string[] = [];
        if (r.code !== 2) problems.push(`exit ${r.code}`);
        if (lines.length !== 1) problems.push(`${lines.length} stderr lines`);
        else if (!c.error.test(lines[0]!)) problems.push(`stderr does not match ${c.error}`);
        if (problems.length > 0)
          failures.push(`${c.name}: ${problems.join(', ')}\n  stderr: ${r.stderr.trim()}`);
      });
      expect(failures).toEqual([]);
      expect(connections).toBe(0);
    },
    TEST_TIMEOUT,
  );
});

describe('render flags: parsing', () => {
  it('--render alone or always renders every page; auto and off as named; anything else is refused', () => {
    expect(parseRenderMode(true)).toBe('always');
    expect(parseRenderMode('always')).toBe('always');
    expect(parseRenderMode('auto')).toBe('auto');
    expect(parseRenderMode('off')).toBe('off');
    expect(() => parseRenderMode('yes')).toThrow(/--render: unknown mode "yes"/);
  });

  it('a URL right after --render is the first URL and means --render always', () => {
    const flags = {
      workers: '5',
      parsers: '1',
      rate: '10',
      burst: '5',
      maxConnections: '20',
      timeout: '5s',
      handlerTimeout: '60s',
      retries: '3',
      depth: '10',
      scope: 'host' as const,
      include: [],
      exclude: [],
      stripParams: '',
      maxBytes: '10MB',
      extract: [],
      userAgent: 'ua',
      header: [],
      sessions: '1',
      sessionBlockCodes: 'none',
      proxy: [],
      proxyRotation: 'round-robin' as const,
      render: 'https://a.example/' as string | true,
      renderWait: 'settled',
      renderTimeout: '30s',
      browsers: '1',
      tabs: '4',
      browserRecycle: '200',
      hostRate: 'inf',
      hostBurst: '5',
      hostConcurrency: '8',
      autoThrottle: false,
      ignoreRobots: false,
      sitemap: [],
      sitemaps: 'off' as const,
      maxUrlLength: '2048',
      maxRepeatedSegments: '3',
      maxPathDepth: '32',
      maxQueryVariants: '1000',
      keepSessionIds: false,
      allowPrivate: false,
      state: false,
      fresh: false,
      retryFailed: false,
      recrawl: false,
      changedOnly: false,
      expect: '1000',
      quiet: true,
      json: false,
    };
    const o = toCrawlOptions(['https://b.example/'], flags);
    expect(o.seeds).toEqual(['https://a.example/', 'https://b.example/']);
    expect(o.render).toBe('always');
    expect(toCrawlOptions(['https://b.example/'], { ...flags, render: 'auto' }).render).toBe('auto');
    expect(toCrawlOptions(['https://b.example/'], { ...flags, render: 'auto' }).seeds).toEqual([
      'https://b.example/',
    ]);
  });

  it('parses --render-wait and --render-resources', () => {
    expect(parseRenderWait('networkidle')).toEqual({ kind: 'networkidle' });
    expect(parseRenderWait('selector: .item a ')).toEqual({ kind: 'selector', css: '.item a' });
    expect(() => parseRenderWait('selector:  ')).toThrow(/--render-wait: invalid value/);
    expect(parseRenderResources('image, font,image')).toEqual(['image', 'font']);
    expect(parseRenderResources('none')).toEqual([]);
    expect(() => parseRenderResources('video')).toThrow(/unknown resource type "video"/);
  });
});
