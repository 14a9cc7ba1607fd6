/**
 * Issue 11: `--out -` and `--items -` write JSON Lines to stdout. Each test runs a real child
 * Node (TypeScript through tsx) that writes through the sink to a real pipe read by this test:
 * the bytes that arrive, the mark, a pipe made non-blocking and left full (EAGAIN), and a reader
 * that goes away (EPIPE), which must end in a StdoutClosedError the caller can catch, not a
 * crash with a stack trace.
 */
import { type ChildProcessByStdio, spawn } from 'node:child_process';
import type { Readable } from 'node:stream';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../helpers/cli.js';

const src = (file: string) => JSON.stringify(pathToFileURL(`${REPO_ROOT}/src/crawl/store/${file}`).href);

const PRELUDE = `
import { openSink } from ${src('open-sink.ts')};
import { openItemSink } from ${src('item-sink.ts')};
import { StdoutClosedError } from ${src('stdout-output.ts')};
import { writeSync } from 'node:fs';
const report = (o) => writeSync(2, JSON.stringify(o) + '\\n');
const record = (i) => ({ url: 'https://example.com/' + i, status: 200, title: 'Page ' + i + ' \\u2028 "q"' });
`;

interface Child {
  proc: ChildProcessByStdio<null, Readable, Readable>;
  /** Resolves when the child has exited and its pipes are closed. */
  done: Promise<{ code: number | null; stdout: Buffer; stderr: string; reports: Record<string, unknown>[] }>;
}

/**
 * Runs `code` (JavaScript, after PRELUDE) in a child Node with stdout and stderr piped to this
 * process. stdout is collected only once `readStdout` says so (until then nothing reads it, so
 * the pipe fills up). The 30 s guard is a hang guard only: a run takes about a second.
 */
function runChild(code: string, opts: { readStdout?: 'at-once' | 'later' } = {}): Child & { read(): void } {
  const proc = spawn(
    process.execPath,
    ['--import', 'tsx', '--input-type=module', '-e', `${PRELUDE}\n${code}`],
    {
      cwd: REPO_ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const guard = setTimeout(() => proc.kill('SIGKILL'), 30_000);
  const out: Buffer[] = [];
  let err = '';
  proc.stderr.on('data', (d: Buffer) => {
    err += d.toString();
  });
  const read = () => proc.stdout.on('data', (d: Buffer) => out.push(d));
  if ((opts.readStdout ?? 'at-once') === 'at-once') read();
  const done = new Promise<{
    code: number | null;
    stdout: Buffer;
    stderr: string;
    reports: Record<string, unknown>[];
  }>((resolve, reject) => {
    proc.on('error', reject);
    proc.on('close', (code) => {
      clearTimeout(guard);
      const reports = err
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as Record<string, unknown>);
      resolve({ code, stdout: Buffer.concat(out), stderr: err, reports });
    });
  });
  return { proc, done, read };
}

const lines = (b: Buffer) =>
  b
    .toString('utf8')
    .split('\n')
    .slice(0, -1)
    .map((l) => JSON.parse(l) as Record<string, unknown>);

describe('stdout sinks (a real child writing to a real pipe)', () => {
  it('--out -: openSink("-") writes the records as JSON Lines to stdout; the mark counts the bytes', async () => {
    const { done } = runChild(`
      const sink = openSink('-', { resumeOffset: 12345 }); // stdout cannot be cut back: ignored
      report({ format: sink.format, path: sink.path, replaced: sink.replaced, start: sink.mark().offset });
      const marks = [];
      for (let b = 0; b < 3; b++) marks.push(sink.write([record(b * 2), record(b * 2 + 1)]).offset);
      marks.push(sink.write([]).offset);
      sink.close();
      report({ marks });
    `);
    const r = await done;
    expect(r.code).toBe(0);
    expect(r.reports[0]).toEqual({ format: 'jsonl', path: '-', replaced: 0, start: 0 });
    expect(lines(r.stdout)).toEqual(
      Array.from({ length: 6 }, (_, i) => ({
        url: `https://example.com/${i}`,
        status: 200,
        title: `Page ${i} \u2028 "q"`,
      })),
    );
    const marks = r.reports[1]!.marks as number[];
    expect(marks.at(-1)).toBe(r.stdout.length);
    expect(marks[3]).toBe(marks[2]); // an empty write writes nothing
    // Each mark ends a line: the bytes up to it are whole records.
    for (const m of marks) expect(r.stdout[m - 1]).toBe(0x0a);
  });

  it('--items -: openItemSink("-") writes each item exactly as pushed, one per line', async () => {
    const { done } = runChild(`
      const sink = openItemSink('-', { resumeOffset: 7 });
      const m = sink.write([
        { item: { sku: 'A', price: 1.5, tags: ['x'] }, url: 'https://shop.example/a', label: 'PRODUCT' },
        { item: { note: 'line\\nbreak' }, url: 'https://shop.example/b', label: null },
      ]);
      sink.close();
      let closed = '';
      try { sink.write([{ item: {}, url: 'u', label: null }]); } catch (e) { closed = e.name + ': ' + e.message; }
      report({ format: sink.format, mark: m.offset, closed });
    `);
    const r = await done;
    expect(r.code).toBe(0);
    expect(r.stdout.toString()).toBe('{"sku":"A","price":1.5,"tags":["x"]}\n{"note":"line\\nbreak"}\n');
    expect(r.reports[0]).toEqual({
      format: 'stdout',
      mark: r.stdout.length,
      closed: 'SinkError: output - (stdout) is closed',
    });
  });

  it('a non-blocking pipe that is full (EAGAIN) makes the write wait for the reader, losing nothing', async () => {
    // Touching process.stdout makes Node switch the pipe to non-blocking mode; a write to a full
    // pipe then fails with EAGAIN instead of waiting. 2 MB in one write cannot fit a pipe (64 KiB)
    // that nobody reads until the child says it is writing.
    const child = runChild(
      `
      process.stdout;
      const sink = openSink('-');
      const batch = Array.from({ length: 2000 }, (_, i) => ({ ...record(i), description: 'd'.repeat(1000) }));
      report({ writing: true });
      const mark = sink.write(batch);
      report({ mark: mark.offset, stalls: sink.stalls });
    `,
      { readStdout: 'later' },
    );
    child.proc.stderr.on('data', (d: Buffer) => {
      if (d.toString().includes('"writing"')) child.read();
    });
    const r = await child.done;
    expect(r.code).toBe(0);
    const got = lines(r.stdout);
    expect(got).toHaveLength(2000);
    expect(got.map((x) => x.url)).toEqual(Array.from({ length: 2000 }, (_, i) => `https://example.com/${i}`));
    const last = r.reports.at(-1)!;
    expect(last.mark).toBe(r.stdout.length);
    expect(last.stalls).toBeGreaterThan(0); // it did meet a full pipe, and waited
  });

  it('a reader that goes away (EPIPE, `| head`) ends in a StdoutClosedError the caller catches: no crash, no stack trace', async () => {
    const child = runChild(
      `
      const sink = openSink('-');
      let batches = 0;
      let markBefore = -1;
      try {
        for (; batches < 100000; batches++) {
          markBefore = sink.mark().offset;
          sink.write([record(batches)]);
          if (batches === 0) report({ first: true });
        }
        report({ never: 'the pipe did not break' });
        process.exit(1);
      } catch (e) {
        report({
          name: e.name,
          message: e.message,
          isClass: e instanceof StdoutClosedError,
          markUnchanged: sink.mark().offset === markBefore,
          batches,
        });
      }
    `,
      { readStdout: 'later' },
    );
    // Read the first line, then close our end of the pipe as \`head -1\` does.
    child.proc.stderr.on('data', (d: Buffer) => {
      if (d.toString().includes('"first"')) {
        child.proc.stdout.once('data', () => child.proc.stdout.destroy());
        child.read();
      }
    });
    const r = await child.done;
    expect(r.code).toBe(0);
    const last = r.reports.at(-1)!;
    expect(last).toMatchObject({
      name: 'StdoutClosedError',
      message: 'stdout was closed by its reader (broken pipe): stopping',
      isClass: true,
      markUnchanged: true,
    });
    expect(last.batches).toBeGreaterThan(0);
    expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace anywhere
  });
});
