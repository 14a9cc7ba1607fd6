/**
 * Helpers for tests that run the `trawl` CLI as a child process: spawn the compiled CLI (built
 * fresh by test/global-setup.ts), collect its output and exit status under a hard
 * timeout, and track every child, test site and temp directory so one `cleanup()` in `afterEach`
 * releases them all.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startTestSite, type TestSite, type TestSiteOptions } from '../../src/testsite/server.js';

/** The repository root: the CLI children run with it as their working directory. */
export const REPO_ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));

/**
 * The compiled CLI, as users run it. test/global-setup.ts builds dist/ from the current sources
 * before any test file runs, so it is never stale (and a child starts in a third of the time a
 * tsx-transpiled one takes, its parse threads too).
 */
export const CLI_MAIN = join(REPO_ROOT, 'dist/cli/main.js');

/** How a CLI child ended. */
export interface CliResult {
  /** Exit code, or null when it died of a signal. */
  code: number | null;
  /** The signal that ended it, or null when it exited. */
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** True when the hard timeout fired and the helper killed it (the test should fail). */
  timedOut: boolean;
  /** Milliseconds from spawn to exit. */
  durationMs: number;
}

/** A running CLI child. */
export interface CliProcess {
  readonly child: ChildProcess;
  readonly pid: number;
  /** Output so far. */
  stdout(): string;
  stderr(): string;
  /** Resolves (never rejects) when the child has exited and its pipes are closed. */
  readonly exited: Promise<CliResult>;
  /** True once the child has exited. */
  readonly done: boolean;
  /** Sends a signal to the child (a no-op once it has exited). */
  kill(signal: NodeJS.Signals): void;
  /**
   * Resolves with the time (`performance.now()` of this process) at which stderr first matched
   * `re` (at once if it already did); rejects when the child exits without a match or after
   * `timeoutMs` (default 20 s).
   */
  waitForStderr(re: RegExp, timeoutMs?: number): Promise<number>;
}

/** Options of {@link spawnCli}. */
export interface SpawnOptions {
  /** Hard timeout in ms (default 30 s): the child is SIGKILLed and `timedOut` set. */
  timeoutMs?: number;
  /** Extra environment variables. */
  env?: Record<string, string>;
}

const children = new Set<CliProcess>();
const sites = new Set<TestSite>();
const dirs = new Set<string>();

/**
 * Spawns `node dist/cli/main.js ...args` in the repository root, with stdin closed and
 * stdout/stderr collected. The child is killed with SIGKILL if it has not exited after
 * `timeoutMs`; the result then says `timedOut: true`. Every child is tracked until it exits, so
 * {@link cleanup} can kill stragglers of a failed test.
 */
export function spawnCli(args: readonly string[], opts: SpawnOptions = {}): CliProcess {
  const started = performance.now();
  const child = spawn(process.execPath, [CLI_MAIN, ...args], {
    cwd: REPO_ROOT,
    env: { ...process.env, NO_COLOR: '1', ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  let done = false;
  let timedOut = false;
  const watchers = new Set<() => void>();
  child.stdout!.setEncoding('utf8').on('data', (s: string) => {
    out += s;
  });
  child.stderr!.setEncoding('utf8').on('data', (s: string) => {
    err += s;
    for (const w of [...watchers]) w();
  });
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill('SIGKILL');
  }, opts.timeoutMs ?? 30_000);
  const exited = new Promise<CliResult>((resolveExit) => {
    // 'close' (not 'exit'): both pipes are drained, so stdout/stderr are complete.
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      done = true;
      children.delete(proc);
      for (const w of [...watchers]) w();
      resolveExit({
        code,
        signal,
        stdout: out,
        stderr: err,
        timedOut,
        durationMs: performance.now() - started,
      });
    });
  });
  const proc: CliProcess = {
    child,
    pid: child.pid ?? -1,
    stdout: () => out,
    stderr: () => err,
    exited,
    get done() {
      return done;
    },
    kill(signal) {
      if (!done) child.kill(signal);
    },
    waitForStderr(re, timeoutMs = 20_000) {
      return new Promise<number>((resolveWait, reject) => {
        const check = () => {
          if (re.test(err)) {
            finish();
            resolveWait(performance.now());
          } else if (done) {
            finish();
            reject(new Error(`CLI exited without printing ${re} on stderr; stderr:\n${err}`));
          }
        };
        const t = setTimeout(() => {
          finish();
          reject(new Error(`timed out waiting for ${re} on stderr; stderr:\n${err}`));
        }, timeoutMs);
        const finish = () => {
          clearTimeout(t);
          watchers.delete(check);
        };
        watchers.add(check);
        check();
      });
    },
  };
  children.add(proc);
  return proc;
}

/** Runs the CLI to completion (see {@link spawnCli}) and resolves with how it ended. */
export function runCli(args: readonly string[], opts: SpawnOptions = {}): Promise<CliResult> {
  return spawnCli(args, opts).exited;
}

/**
 * Starts a test site in the test process (127.0.0.1, a free port) and tracks it for
 * {@link cleanup}. Pass `site.url` (or `site.pageUrl(id)`) to the CLI.
 */
export async function startSite(opts: TestSiteOptions = {}): Promise<TestSite> {
  const site = await startTestSite(opts);
  sites.add(site);
  return site;
}

/** Creates a fresh temp directory, removed by {@link cleanup}. */
export function tempDir(prefix = 'trawl-cli-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  dirs.add(dir);
  return dir;
}

/**
 * Releases everything the helpers created: SIGKILLs children still running (only those spawned
 * here, by pid), waits for them to exit, closes the test sites and removes the temp directories.
 * Call it in `afterEach`.
 */
export async function cleanup(): Promise<void> {
  const live = [...children];
  for (const c of live) c.kill('SIGKILL');
  await Promise.all(live.map((c) => c.exited));
  await Promise.all([...sites].map((s) => s.close()));
  sites.clear();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
  dirs.clear();
}

/** A JSONL file split into lines: the parsed ones, and those that are not valid JSON objects. */
export interface JsonlContents {
  records: Record<string, unknown>[];
  bad: string[];
  /** True when the file is empty or ends with a newline (no torn last line). */
  endsClean: boolean;
}

/** Reads a JSONL file; a missing file reads as empty. */
export function readJsonl(path: string): JsonlContents {
  let text = '';
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const records: Record<string, unknown>[] = [];
  const bad: string[] = [];
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  for (const line of lines) {
    try {
      const v: unknown = JSON.parse(line);
      if (v !== null && typeof v === 'object' && !Array.isArray(v))
        records.push(v as Record<string, unknown>);
      else bad.push(line);
    } catch {
      bad.push(line);
    }
  }
  return { records, bad, endsClean: text === '' || text.endsWith('\n') };
}

/** SHA-256 of a file's bytes (hex). */
export function sha256File(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

/**
 * Polls `cond` every 10 ms until it holds; rejects with `what` after `timeoutMs` (default 20 s).
 * The timeout is only a safety net: assertions never depend on how long the wait took.
 */
export async function until(cond: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
  const end = performance.now() + timeoutMs;
  while (!cond()) {
    if (performance.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** The distinct site pages (by id) the server was asked for, from its per-path counts. */
export function pagesRequested(site: TestSite): Map<number, number> {
  const ids = new Map<number, number>();
  for (const [raw, n] of site.counts) {
    const q = raw.indexOf('?');
    const id = site.site.idOfPath(q < 0 ? raw : raw.slice(0, q));
    if (id !== undefined) ids.set(id, (ids.get(id) ?? 0) + n);
  }
  return ids;
}
