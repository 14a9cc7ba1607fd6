/**
 * Runs every program in examples/ as a child process (`node --import tsx examples/<name>.ts`,
 * on simulated time via TRAWL_EXAMPLE_FAST=1, cwd = the repository root) and checks exactly what
 * it prints and that it exits 0. The examples print deterministic output (see each file's
 * header for where the Go original's order would vary), so every line is compared as is.
 * Also runs the trawl/conc snippets of docs/conc.md (examples/readme/, on the real clock with short waits)
 * and checks the docs show each one exactly as tested.
 */
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const REPO_ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));

interface Expected {
  stdout: string[];
  /** Expected stderr lines (default: none). */
  stderr?: string[];
}

const range = (n: number, line: (i: number) => string): string[] =>
  Array.from({ length: n }, (_, i) => line(i));

const etlRecord = (id: number): string[] => [
  'Loaded to database:',
  '{',
  `  "ID": ${id},`,
  `  "Content": "raw data ${id} with extra spaces",`,
  '  "Words": 6,',
  '  "Category": "long",',
  `  "ProcessedAt": "2026-01-09T02:00:00${id === 1 ? '' : `.${id - 1}`}Z"`,
  '}',
  '',
];

const LEVELS =
  'ERROR WARN DEBUG ERROR INFO ERROR WARN ERROR DEBUG WARN INFO DEBUG ERROR WARN INFO ERROR ERROR ERROR INFO WARN';
const PRIORITY: Record<string, number> = { ERROR: 3, WARN: 2, INFO: 1, DEBUG: 0 };

const EXPECTED: Record<string, Expected> = {
  'image-processing': {
    stdout: range(5, (i) => `✓ Processed img-${i + 1} -> https://cdn.example.com/thumb/img-${i + 1}`),
    stderr: [
      '2026/01/09 02:00:00 Worker 0: processing image img-1',
      '2026/01/09 02:00:00 Worker 1: processing image img-2',
      '2026/01/09 02:00:00 Worker 2: processing image img-3',
      '2026/01/09 02:00:00 Worker 0: processing image img-4',
      '2026/01/09 02:00:00 Worker 1: processing image img-5',
    ],
  },
  'fan-out': { stdout: range(5, (i) => `Worker ${i + 1} is processing`) },
  'fan-in': { stdout: ['1', '4', '9', '16', '25'] },
  'fan-out-fan-in': { stdout: ['1', '4', '9', '16', '25'] },
  'log-processing': {
    stdout: LEVELS.split(' ').map(
      (level, i) =>
        `[${level}] Priority: ${PRIORITY[level]}, Words: ${i < 10 ? 31 : 32} - Log message ${i} with some content`,
    ),
  },
  'etl-pipeline': {
    stdout: ['Starting ETL Pipeline...', '', ...[1, 2, 3, 4, 5].flatMap(etlRecord), 'Pipeline completed!'],
  },
  'pipeline-basic': { stdout: range(5, (i) => `Processed item: ${i * 2}`) },
  'select-timeout': {
    stdout: ['result: fast service answered after 1s', 'slow service: timeout after 2s'],
  },
  'select-default': {
    stdout: [
      'no value ready, doing something else',
      'received 42',
      'sent 1',
      'channel full, dropped 2',
      'still buffered: 1',
    ],
  },
  'select-nil-channel': {
    stdout: [
      'received 5 values: 1 2 3 10 20',
      'both channels closed, loop done',
      'nil channel never ready: select cancelled',
    ],
  },
  'select-done': {
    stdout: ['consumer: result 1', 'consumer: result 2', 'consumer: cancelled', 'producer: done, stopping'],
  },
  'select-multiple': {
    stdout: [
      'from ch1: ch1 message 1',
      'from ch1: ch1 message 2',
      'from ch2: ch2 message 1',
      'from ch1: ch1 message 3',
      'from ch2: ch2 message 2',
    ],
  },
  'rate-limit': { stdout: range(10, (i) => `API request ${i}`) },
  'semaphore-channel': {
    stdout: [...range(10, (i) => `task ${i}: accessing resource`), 'at most 3 tasks were inside at once'],
  },
  'semaphore-weighted': {
    stdout: [...range(10, (i) => `task ${i}: accessing resource`), 'at most 3 tasks were inside at once'],
  },
  scraper: {
    stdout: [
      'Worker 0: Scraping https://example.com',
      'Worker 1: Scraping https://example.org',
      'Worker 2: Scraping https://httpbin.org/delay/1',
      '✓ Scraped: https://example.org - Title: Example Domain, Links: 1',
      '✓ Scraped: https://example.com - Title: Example Domain, Links: 1',
      '✓ Scraped: https://httpbin.org/delay/1 - Title: httpbin.org, Links: 0',
    ],
  },
  'worker-pool': { stdout: [...range(10, (i) => `Processing ${i}`), 'all jobs done (0 failed)'] },
};

/** The trawl/conc snippets of docs/conc.md (examples/readme/), run on the real clock: all waits are short. */
const README_EXPECTED: Record<string, string[]> = {
  channel: ['hello', '1', '2', '{ value: undefined, ok: false }'],
  select: ['sent 42', 'nothing ready'],
  time: ['ticks 3', 'stopped before firing: true', 'buffered: 0 capacity: 1'],
  context: ['deadline exceeded: true', 'child canceled: true'],
  waitgroup: ['fetched a b c'],
  errgroup: ['Error: task 2 failed', 'signal aborted: true'],
  pool: ['1 1', '2 4', '3 Error: bad input', '4 16', '5 25'],
  pipeline: [...[1, 4, 9, 16, 25].map((n) => `square ${n}`), 'sum 55', 'ABCD'],
  rate: [
    '[ true, true, true, false ]',
    'true 100',
    'true 0',
    ...[0, 1, 5, 10].map((i) => `logged call ${i}`),
  ],
  semaphore: ['false', 'false', 'acquired 5', 'true'],
};

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function runExample(name: string, fast = true): Promise<Run> {
  return new Promise((done) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', `examples/${name}.ts`],
      {
        cwd: REPO_ROOT,
        env: { ...process.env, TRAWL_EXAMPLE_FAST: fast ? '1' : '', TZ: 'UTC', NODE_OPTIONS: '' },
        timeout: 20_000,
      },
      (err, stdout, stderr) => {
        const code = err === null ? 0 : typeof err.code === 'number' ? err.code : null;
        done({ code, stdout, stderr });
      },
    );
  });
}

/** The example names (files without `.ts`) in `dir`. */
const names = (dir: string): string[] =>
  readdirSync(resolve(REPO_ROOT, dir))
    .filter((f) => f.endsWith('.ts'))
    .map((f) => f.slice(0, -3))
    .sort();

/** Output as lines, without the newline that ends the last one. */
const lines = (s: string): string[] => (s === '' ? [] : s.replace(/\n$/, '').split('\n'));

describe('examples', () => {
  it('has an expectation for every example and an example for every expectation', () => {
    expect(names('examples')).toEqual(Object.keys(EXPECTED).sort());
    expect(names('examples/readme')).toEqual(Object.keys(README_EXPECTED).sort());
  });

  describe.concurrent('prints what the Go program prints', () => {
    for (const [name, expected] of Object.entries(EXPECTED)) {
      it(name, async () => {
        const r = await runExample(name);
        expect({ code: r.code, stdout: lines(r.stdout), stderr: lines(r.stderr) }).toEqual({
          code: 0,
          stdout: expected.stdout,
          stderr: expected.stderr ?? [],
        });
      });
    }
  });

  it('the docs show each snippet exactly as it is tested', () => {
    // The trawl/conc reference, docs/conc.md, shows these snippets.
    const docs = readFileSync(resolve(REPO_ROOT, 'docs', 'conc.md'), 'utf8');
    for (const name of Object.keys(README_EXPECTED)) {
      const code = readFileSync(resolve(REPO_ROOT, `examples/readme/${name}.ts`), 'utf8')
        .replace("'../../src/conc/index.js'", "'trawl/conc'")
        .trimEnd();
      expect(docs, `snippet ${name}`).toContain(`\`\`\`ts\n${code}\n\`\`\``);
    }
  });

  describe.concurrent('README snippets run and print what the docs say', () => {
    for (const [name, stdout] of Object.entries(README_EXPECTED)) {
      it(name, async () => {
        const r = await runExample(`readme/${name}`, false);
        expect({ code: r.code, stdout: lines(r.stdout), stderr: lines(r.stderr) }).toEqual({
          code: 0,
          stdout,
          stderr: [],
        });
      });
    }
  });
});
